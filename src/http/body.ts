import type { HttpResponse } from 'uWebSockets.js';
import { HttpError } from './errors.js';
import { findUnstorableString } from './text.js';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Collects a request body (at most 64 KiB) and parses it as JSON. Resolves undefined for an empty
 * body. Must be called synchronously in the handler, before any await.
 */
export function readJsonBody(res: HttpResponse, contentLength: number | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (contentLength !== undefined && contentLength > MAX_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    // uWS calls this outside any handler: an exception here would end the process, so every
    // failure becomes the request's (the router's error boundary answers it)
    res.onData((chunk, isLast) => {
      if (failed) return;
      try {
        collect(chunk, isLast);
      } catch (error) {
        failed = true;
        reject(error);
      }
    });
    function collect(chunk: ArrayBuffer, isLast: boolean): void {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(tooLarge());
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve(undefined);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON', 'invalid_json'));
        return;
      }
      const field = findUnstorableString(value);
      if (field) {
        const message = 'must not contain NUL characters or unpaired surrogates';
        reject(new HttpError(400, `${field} ${message}`, 'invalid_request', [{ field, message }]));
        return;
      }
      resolve(value);
    }
  });
}

const tooLarge = () => new HttpError(413, 'request body is larger than 64 KiB', 'payload_too_large');
