// The bulk export's line splitter: lines cut across chunks (and UTF-8 characters cut across
// chunks) come out whole, and the next chunk is read only once every line of this one was taken.
import { describe, expect, it } from 'vitest';
import { jsonlLines } from '../../src/shopify/bulk-export.js';

/** A body of these chunks that counts how many were read. */
function body(chunks: readonly Uint8Array[]) {
  const state = { reads: 0 };
  const reader = {
    read: async () => {
      if (state.reads >= chunks.length) return { done: true, value: undefined };
      return { done: false, value: chunks[state.reads++] };
    },
  };
  return { reader, state };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('bulk export lines', () => {
  it('joins lines and characters cut across chunks, skips blank lines, keeps a last line without newline', async () => {
    const all = bytes('{"a":1}\n\n{"name":"Tür"}\r\n{"b":2}');
    const cut = all.indexOf(0xc3) + 1; // inside the two bytes of "ü"
    const { reader } = body([all.slice(0, 3), all.slice(3, cut), all.slice(cut)]);
    const lines: string[] = [];
    for await (const line of jsonlLines(reader)) lines.push(line);
    expect(lines).toEqual(['{"a":1}', '{"name":"Tür"}', '{"b":2}']);
  });

  it('reads the next chunk only when the caller asks past the lines it has (back-pressure)', async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => bytes(`{"n":${2 * i}}\n{"n":${2 * i + 1}}\n`));
    const { reader, state } = body(chunks);
    const lines = jsonlLines(reader);
    expect((await lines.next()).value).toBe('{"n":0}');
    expect(state.reads).toBe(1);
    await lines.next();
    expect(state.reads).toBe(1);
    await lines.next();
    expect(state.reads).toBe(2);
    await lines.return(undefined);
    expect(state.reads).toBe(2);
  });
});
