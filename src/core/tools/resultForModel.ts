import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * An executed call's output in the shape that survives every client. Codex and Claude Code hand
 * the model only `structuredContent` when a result has one, so a result that Gatehouse wraps
 * (await_approval's "approved") must carry the upstream's text, a description of what is not
 * text, its structuredContent and its error state inside its own structuredContent.
 */
export interface ResultForModel {
  readonly is_error: boolean;
  /** Every text block of the result, in order, and the text of embedded text resources. */
  readonly text: string;
  /** One line per block that is not text, e.g. "image, image/png, 34 KB". */
  readonly other_content?: string[];
  /** The executed call's own structuredContent, unchanged. */
  readonly structured_content?: Record<string, unknown>;
}

export function resultForModel(result: CallToolResult): ResultForModel {
  const texts: string[] = [];
  const other: string[] = [];
  for (const block of result.content ?? []) {
    switch (block.type) {
      case 'text':
        texts.push(block.text);
        break;
      case 'image':
      case 'audio':
        other.push(`${block.type}, ${block.mimeType}, ${formatSize(base64Bytes(block.data))}`);
        break;
      case 'resource_link':
        other.push(`resource link ${block.uri}${describeNamed(block.name, block.mimeType)}`);
        break;
      case 'resource': {
        const resource = block.resource;
        if ('text' in resource && typeof resource.text === 'string') {
          texts.push(resource.text);
          other.push(`embedded resource ${resource.uri}${describeNamed(undefined, resource.mimeType)} (its text is included above)`);
        } else if ('blob' in resource && typeof resource.blob === 'string') {
          other.push(`embedded resource ${resource.uri}${describeNamed(undefined, resource.mimeType)}, ${formatSize(base64Bytes(resource.blob))}`);
        }
        break;
      }
      default:
        other.push(`content of type ${(block as { type: string }).type}`);
    }
  }
  return {
    is_error: result.isError === true,
    text: texts.join('\n'),
    ...(other.length ? { other_content: other } : {}),
    ...(result.structuredContent ? { structured_content: result.structuredContent } : {}),
  };
}

function describeNamed(name: string | undefined, mimeType: string | undefined): string {
  const parts = [name, mimeType].filter((part): part is string => Boolean(part));
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
