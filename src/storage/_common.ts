/**
 * What the storages (and the route in front of them) share: key checks,
 * reading a body of an exact size, byte ranges, and the record of a stored
 * file.
 *
 * @module
 */

import type { ByteRange, FileInfo, StoredFile } from "./mod.ts";

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
 * Passes a body through unchanged while counting it, and errors with a
 * `RangeError` as soon as it runs past `size` bytes, or when it ends short.
 * Piping a body through it cancels the body on either error.
 */
export class ExactSizeStream extends TransformStream<Uint8Array, Uint8Array> {
  #count: { received: number };

  /**
   * Makes the counter.
   *
   * @param size The exact number of bytes expected.
   * @param what Names the body in messages, e.g. `Cannot store "abc"`.
   */
  constructor(size: number, what: string) {
    const count = { received: 0 };
    super({
      transform(chunk, controller) {
        count.received += chunk.byteLength;
        if (count.received > size) {
          throw new RangeError(
            `${what}: the body is longer than ${size} bytes`,
          );
        }
        if (chunk.byteLength > 0) controller.enqueue(chunk);
      },
      flush() {
        if (count.received !== size) {
          throw new RangeError(
            `${what}: the body ended after ${count.received} of ${size} bytes`,
          );
        }
      },
    });
    this.#count = count;
  }

  /** Bytes that arrived so far. */
  get received(): number {
    return this.#count.received;
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
  const reader = body.pipeThrough(
    new ExactSizeStream(size, `Cannot store "${key}"`),
  ).getReader();
  let done = false;
  try {
    while (true) {
      const result = await reader.read();
      if (result.done) {
        done = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * Checks that an inclusive range lies within a file of `size` bytes.
 *
 * @param key The key, for the error message.
 * @param range The range.
 * @param size The file's size in bytes.
 * @throws {RangeError} Unless `0 <= start <= end < size`.
 */
export function checkRange(key: string, range: ByteRange, size: number): void {
  const within = Number.isSafeInteger(range.start) &&
    Number.isSafeInteger(range.end) && range.start >= 0 &&
    range.start <= range.end && range.end < size;
  if (!within) {
    throw new RangeError(
      `Cannot read "${key}": bytes ${range.start}-${range.end} are outside ${size} bytes`,
    );
  }
}

/**
 * The record of a file stored just now.
 *
 * @param key The storage key.
 * @param info Its name, size, type, and SHA-256 if known.
 * @returns The stored file, uploaded now.
 */
export function storedFile(
  key: string,
  info: FileInfo & { sha256?: string },
): StoredFile {
  return {
    key,
    name: info.name,
    size: info.size,
    type: info.type,
    uploadedAt: new Date(),
    ...(info.sha256 === undefined ? {} : { sha256: info.sha256 }),
  };
}
