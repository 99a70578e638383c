import * as assert from 'node:assert/strict';
import { resultForModel } from '../../src/core/tools/resultForModel';

describe('resultForModel: an executed result as a model that reads only structuredContent sees it', () => {
  it('keeps every text block, in order, and says the result is not an error', () => {
    const output = resultForModel({ content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'second' }] });
    assert.deepEqual(output, { is_error: false, text: 'first\nsecond' });
  });

  it("carries the upstream's error text and isError", () => {
    assert.deepEqual(resultForModel({ isError: true, content: [{ type: 'text', text: 'Access denied' }] }), { is_error: true, text: 'Access denied' });
  });

  it('keeps the structuredContent unchanged beside the text', () => {
    const output = resultForModel({ content: [{ type: 'text', text: '{"t":1}' }], structuredContent: { t: 1, nested: { a: [1] } } });
    assert.deepEqual(output.structured_content, { t: 1, nested: { a: [1] } });
    assert.equal(output.text, '{"t":1}');
  });

  it('describes images and audio by kind, MIME type and decoded size', () => {
    const png = Buffer.alloc(34 * 1024).toString('base64');
    const output = resultForModel({ content: [{ type: 'image', data: png, mimeType: 'image/png' }, { type: 'audio', data: Buffer.from('abc').toString('base64'), mimeType: 'audio/wav' }] });
    assert.deepEqual(output.other_content, ['image, image/png, 34 KB', 'audio, audio/wav, 3 B']);
    assert.equal(output.text, '');
  });

  it('names resource links and embedded resources, and includes the text of a text resource', () => {
    const output = resultForModel({
      content: [
        { type: 'resource_link', uri: 'file:///notes/a.md', name: 'a.md', mimeType: 'text/markdown' },
        { type: 'resource', resource: { uri: 'file:///notes/b.md', mimeType: 'text/markdown', text: 'body of b' } },
        { type: 'resource', resource: { uri: 'file:///img.bin', mimeType: 'application/octet-stream', blob: Buffer.alloc(2 * 1024 * 1024).toString('base64') } },
      ],
    });
    assert.equal(output.text, 'body of b');
    assert.deepEqual(output.other_content, [
      'resource link file:///notes/a.md (a.md, text/markdown)',
      'embedded resource file:///notes/b.md (text/markdown) (its text is included above)',
      'embedded resource file:///img.bin (application/octet-stream), 2.0 MB',
    ]);
  });
});
