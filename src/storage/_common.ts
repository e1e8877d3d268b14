/**
 * What the storages (and the route in front of them) share: key checks,
 * reading a body of an exact size, byte ranges, and the record of a stored
 * file.
 *
 * @module
 */

import type { ByteRange, FileInfo, MultipartInfo, StoredFile } from "./mod.ts";
import { passByteStream, type PassSteps } from "../_byte_stream.ts";

const KEY = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Tells whether a string is a storage key: 1 to 128 characters of
 * `A-Z a-z 0-9 _ -`.
 *
 * @param value The string.
 * @returns `true` for a key.
 */
export function isKey(value: string): boolean {
  return KEY.test(value);
}

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
 * Something that looks at every byte of a body as it passes, and may refuse
 * the body at its end, e.g. a checksum.
 */
export interface BodyInspector {
  /**
   * Sees the next bytes.
   *
   * @param chunk The bytes.
   */
  update(chunk: Uint8Array): void;
  /** Sees the end; throws to refuse the body. */
  end(): void;
}

/** A body being counted as it is read. */
export interface CountedBody {
  /** The body, to read instead of the one given. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes that arrived so far. */
  readonly received: number;
}

/**
 * Counts a body's bytes as they pass, and refuses it with a `RangeError` as
 * soon as it runs past `size` bytes, or when it ends short. An `inspector`
 * sees the same bytes in the same step (one stream less for every chunk to
 * pass), and may refuse the body at its end.
 */
class SizeCheck implements PassSteps {
  received = 0;
  readonly #size: number;
  readonly #what: string;
  readonly #inspector?: BodyInspector;

  constructor(size: number, what: string, inspector?: BodyInspector) {
    this.#size = size;
    this.#what = what;
    this.#inspector = inspector;
  }

  bytes(chunk: Uint8Array): void {
    this.received += chunk.byteLength;
    if (this.received > this.#size) throw longer(this.#what, this.#size);
    this.#inspector?.update(chunk);
  }

  end(): void {
    if (this.received !== this.#size) {
      throw shorter(this.#what, this.received, this.#size);
    }
    this.#inspector?.end();
  }
}

/**
 * Counts a body and checks that it holds exactly `size` bytes: the body to
 * read errors with a `RangeError` as soon as it runs past `size` bytes, or
 * when it ends short, and the body given is cancelled. A byte stream stays
 * one, so that a reader that brings its own buffer has the bytes read
 * straight into it; any other stream is piped through a transform.
 *
 * @param body The body.
 * @param size The exact number of bytes expected.
 * @param what Names the body in messages, e.g. `Cannot store "abc"`.
 * @param inspector Also sees every byte, and the end once the size is right.
 * @returns The body to read, and its count.
 */
export function exactSize(
  body: ReadableStream<Uint8Array>,
  size: number,
  what: string,
  inspector?: BodyInspector,
): CountedBody {
  const check = new SizeCheck(size, what, inspector);
  const stream = passByteStream(body, check) ??
    body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (chunk.byteLength === 0) return;
          check.bytes(chunk);
          controller.enqueue(chunk);
        },
        flush: () => check.end(),
      }),
    );
  return {
    stream,
    get received() {
      return check.received;
    },
  };
}

function longer(what: string, size: number): RangeError {
  return new RangeError(`${what}: the body is longer than ${size} bytes`);
}

function shorter(what: string, received: number, size: number): RangeError {
  return new RangeError(
    `${what}: the body ended after ${received} of ${size} bytes`,
  );
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
export function exactChunks(
  body: ReadableStream<Uint8Array>,
  size: number,
  key: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  return chunksOf(exactSize(body, size, `Cannot store "${key}"`).stream);
}

/**
 * Reads a stream chunk by chunk; leaving the loop early cancels it.
 *
 * @param stream The stream.
 * @returns The chunks, in order.
 */
export async function* chunksOf(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
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
 * @param info Its name, size, type, resource and expiry, and SHA-256 if
 * known. Absent fields stay absent.
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
    ...(info.resource === undefined ? {} : { resource: info.resource }),
    ...(info.expiresAt === undefined
      ? {}
      : { expiresAt: new Date(info.expiresAt.getTime()) }),
    uploadedAt: new Date(),
    ...(info.sha256 === undefined ? {} : { sha256: info.sha256 }),
  };
}

/**
 * The record of a file completed from parts: its resource and expiry are
 * `info.resource` and `info.fileExpiresAt` (not `info.expiresAt`, which is
 * the upload's), else what the upload was started with.
 *
 * @param key The storage key.
 * @param info What `complete()` was given.
 * @param started The resource and file expiry the upload was started with.
 * @returns The stored file, uploaded now.
 */
export function completedFile(
  key: string,
  info: MultipartInfo & { size: number; sha256: string },
  started: Pick<MultipartInfo, "resource" | "fileExpiresAt"> = {},
): StoredFile {
  return storedFile(key, {
    name: info.name,
    size: info.size,
    type: info.type,
    resource: info.resource ?? started.resource,
    expiresAt: info.fileExpiresAt ?? started.fileExpiresAt,
    sha256: info.sha256,
  });
}

/**
 * Checks what a file is to be kept with, before any byte is read: the
 * resource is a string and the expiry a valid `Date`, where given.
 *
 * @param key The key, for the error message.
 * @param info The resource and expiry.
 * @param action What was being done, e.g. `"store"`.
 * @throws {TypeError} If either is of another kind, or the date is invalid.
 */
export function checkKept(
  key: string,
  info: { resource?: unknown; expiresAt?: unknown },
  action: string,
): void {
  if (info.resource !== undefined && typeof info.resource !== "string") {
    throw new TypeError(`Cannot ${action} "${key}": resource is not a string`);
  }
  const at = info.expiresAt;
  if (
    at !== undefined && !(at instanceof Date && Number.isFinite(at.getTime()))
  ) {
    throw new TypeError(
      `Cannot ${action} "${key}": the expiry is not a valid Date`,
    );
  }
}

/**
 * A copy of a stored file's record, with Dates of its own, so that a caller
 * cannot change what is kept.
 *
 * @param file The record.
 * @returns The copy.
 */
export function copyFile(file: StoredFile): StoredFile {
  const copy = { ...file, uploadedAt: new Date(file.uploadedAt.getTime()) };
  if (file.expiresAt !== undefined) {
    copy.expiresAt = new Date(file.expiresAt.getTime());
  }
  return copy;
}
