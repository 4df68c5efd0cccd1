import type { IncomingMessage } from 'node:http';

/** Reading requests the way every simulator route does (the Admin API, OAuth and control routes). */

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** One header's value (the first, when it was sent more than once). */
export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a request body, refusing anything over 10 MB. */
export async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

