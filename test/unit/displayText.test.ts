import * as assert from 'node:assert/strict';
import { hasInvisibleCharacters, neutralizeText } from '../../src/core/displayText';

describe('neutralizeText: what the human reads is what will run', function () {
  const invisible = ['\u061c', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2060', '\u2061', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff', '\u00ad', '\u2028', '\u2029', '\u001b', '\u0007', '\u0085', '\u3164', '\u{e0041}'];

  for (const char of invisible) {
    const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    it(`shows U+${code} as a visible code instead of applying it`, function () {
      const out = neutralizeText(`a${char}b`);
      assert.equal(out, `a[U+${code}]b`);
      assert.equal(hasInvisibleCharacters(out), false);
      assert.equal(hasInvisibleCharacters(`a${char}b`), true);
    });
  }

  it('keeps ordinary text, accents, emoji and other scripts as they are', function () {
    const text = 'Fix café 🚀 — 日本語 עברית';
    assert.equal(neutralizeText(text), text);
  });

  it('keeps line breaks and tabs only when asked', function () {
    assert.equal(neutralizeText('a\nb\tc', { keepLineBreaks: true }), 'a\nb\tc');
    assert.equal(neutralizeText('a\nb'), 'a[U+000A]b');
  });
});
