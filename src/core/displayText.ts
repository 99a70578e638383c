/**
 * Characters that change how text looks without being seen: C0/C1 controls (cursor moves, colours
 * in a terminal), bidi embeddings, overrides and isolates (they reorder what the human reads, the
 * "Trojan Source" trick), zero-width and other format characters (\p{Cf}: U+061C, U+200B–U+200F,
 * U+202A–U+202E, U+2060–U+2069, U+FEFF, the tag block U+E0000–U+E007F that smuggles hidden ASCII),
 * line and paragraph separators, and the Hangul fillers that render as blank space.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029\u115f\u1160\u3164\uffa0]/gu;
const INVISIBLE_KEEPING_LINES = /[^\P{Cc}\n\t]|[\p{Cf}\u2028\u2029\u115f\u1160\u3164\uffa0]/gu;

/**
 * Agent-written text as the human must see it: every invisible or reordering character becomes a
 * visible `[U+XXXX]`, so what the human reads on a page, in the terminal or in a notification is
 * what will run. The one function every front end uses for text an agent or upstream controls.
 */
export function neutralizeText(text: string, options: { readonly keepLineBreaks?: boolean } = {}): string {
  const pattern = options.keepLineBreaks ? INVISIBLE_KEEPING_LINES : INVISIBLE;
  return text.replace(pattern, (char) => `[U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** True when `neutralizeText` would change the text. */
export function hasInvisibleCharacters(text: string): boolean {
  INVISIBLE.lastIndex = 0;
  return INVISIBLE.test(text);
}
