/**
 * Helpers the storages share: key checks and reading a body of an exact size.
 *
 * @module
 */

import type { ByteRange } from "./storage.ts";

const KEY = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks a storage key: base64url characters only, so a key can never name a
 * path outside the storage.
 *
 * @param key The key.
 * @param action What was being done, for the error message.
 * @throws {TypeError} If the key has other characters or is too long.
 */
export function checkKey(key: string, action: string): void {
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new TypeError(
      `Cannot ${action} ${
        JSON.stringify(String(key))
      }: a key is 1 to 128 characters of A-Z, a-z, 0-9, "_" and "-"`,
    );
  }
}

/**
 * Reads a body chunk by chunk and makes sure it holds exactly `size` bytes.
 * A longer body is cancelled as soon as it runs over.
 *
 * @param body The bytes.
 * @param size The exact number of bytes expected.
 * @param key The key, for the error message.
 * @returns The chunks, in order.
 * @throws {RangeError} If the body is shorter or longer than `size`.
 */
export async function* exactChunks(
  body: ReadableStream<Uint8Array>,
  size: number,
  key: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = body.getReader();
  let received = 0;
  let done = false;
  try {
    while (true) {
      const result = await reader.read();
      if (result.done) {
        done = true;
        break;
      }
      received += result.value.byteLength;
      if (received > size) {
        throw new RangeError(
          `Cannot store "${key}": the body is longer than ${size} bytes`,
        );
      }
      if (result.value.byteLength > 0) yield result.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (received !== size) {
    throw new RangeError(
      `Cannot store "${key}": the body ended after ${received} of ${size} bytes`,
    );
  }
}

/**
 * Tells whether an inclusive range lies within a file.
 *
 * @param range The range.
 * @param size The file's size in bytes.
 * @returns `true` if `0 <= start <= end < size`.
 */
export function isWithin(range: ByteRange, size: number): boolean {
  return Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) &&
    range.start >= 0 && range.start <= range.end && range.end < size;
}
