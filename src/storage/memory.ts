/**
 * A {@linkcode Storage} that keeps files in memory, for tests and demos.
 *
 * @module
 */

import { randomId } from "../_encoding.ts";
import { StorageConflictError, StorageNotFoundError } from "./mod.ts";
import type { ByteRange, Storage, StorageMultipart } from "./mod.ts";
import type { StoredFile, StoredPart } from "./mod.ts";
import { checkKey, checkRange, exactChunks, storedFile } from "./_common.ts";

interface Entry {
  file: StoredFile;
  bytes: Blob;
}

/**
 * Makes a storage that keeps every file in memory. It keeps the same rules as
 * any other storage: a file shows up only once all of its bytes arrived, and a
 * key is written once. It holds every byte it stores, so it suits tests and
 * small demos, not production.
 *
 * @returns A new, empty storage.
 *
 * @example
 * ```ts
 * import { memoryStorage } from "@fileurls/fileurls/hono";
 *
 * const storage = memoryStorage();
 * await storage.put("abc", new Blob(["hi"]).stream(), {
 *   name: "hi.txt",
 *   size: 2,
 *   type: "text/plain",
 * });
 * const file = await storage.stat("abc"); // { key: "abc", size: 2, … }
 * ```
 */
export function memoryStorage(): Storage {
  const files = new Map<string, Entry>();
  const writing = new Set<string>();
  // deno-lint-ignore require-await
  async function slice(
    key: string,
    range?: ByteRange,
  ): Promise<Blob | undefined> {
    checkKey(key, "read");
    const entry = files.get(key);
    if (entry === undefined) return undefined;
    if (range === undefined) return entry.bytes;
    checkRange(key, range, entry.bytes.size);
    return entry.bytes.slice(range.start, range.end + 1);
  }
  return {
    async put(key, body, info) {
      checkKey(key, "store");
      if (files.has(key) || writing.has(key)) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(key);
      }
      writing.add(key);
      try {
        const bytes = await collect(body, info.size, key);
        const file = storedFile(key, info);
        files.set(key, { file, bytes });
        return { ...file };
      } finally {
        writing.delete(key);
      }
    },
    // deno-lint-ignore require-await
    async stat(key) {
      checkKey(key, "look up");
      const entry = files.get(key);
      return entry && { ...entry.file };
    },
    async read(key, range) {
      return (await slice(key, range))?.stream();
    },
    blob: slice,
    // deno-lint-ignore require-await
    async delete(key) {
      checkKey(key, "delete");
      files.delete(key);
    },
    multipart: memoryMultipart(files, writing),
  };
}

/**
 * Reads a body of exactly `size` bytes into a Blob. Each chunk is copied into
 * a Blob as it comes, so a body that reuses its buffers cannot change stored
 * bytes; memory grows with what arrived, never with what was declared.
 */
async function collect(
  body: ReadableStream<Uint8Array>,
  size: number,
  key: string,
): Promise<Blob> {
  const parts: Blob[] = [];
  for await (const chunk of exactChunks(body, size, key)) {
    parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
  }
  return new Blob(parts);
}

interface Upload {
  key: string;
  parts: Map<number, { part: StoredPart; bytes: Blob }>;
  /** Part numbers being written. */
  writing: Set<number>;
}

function memoryMultipart(
  files: Map<string, Entry>,
  writing: Set<string>,
): StorageMultipart {
  const uploads = new Map<string, Upload>();
  function find(key: string, uploadId: string, action: string): Upload {
    checkKey(key, action);
    checkKey(uploadId, action);
    const upload = uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) {
      throw new StorageNotFoundError(key, uploadId);
    }
    return upload;
  }
  return {
    // deno-lint-ignore require-await
    async create(key) {
      checkKey(key, "start an upload of");
      if (files.has(key) || writing.has(key)) {
        throw new StorageConflictError(key);
      }
      const uploadId = randomId();
      uploads.set(uploadId, { key, parts: new Map(), writing: new Set() });
      return uploadId;
    },
    async put(key, uploadId, part, body) {
      const upload = find(key, uploadId, "store a part of");
      if (upload.writing.has(part.number)) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(`${key} part ${part.number}`);
      }
      upload.writing.add(part.number);
      try {
        const bytes = await collect(body, part.size, key);
        // An upload aborted or completed meanwhile keeps nothing.
        find(key, uploadId, "store a part of");
        upload.parts.set(part.number, { part: { ...part }, bytes });
        return { ...part };
      } finally {
        upload.writing.delete(part.number);
      }
    },
    // deno-lint-ignore require-await
    async list(key, uploadId) {
      checkKey(key, "list the parts of");
      checkKey(uploadId, "list the parts of");
      const upload = uploads.get(uploadId);
      if (upload === undefined || upload.key !== key) return undefined;
      return [...upload.parts.values()].map(({ part }) => ({ ...part }))
        .sort((a, b) => a.number - b.number);
    },
    // deno-lint-ignore require-await
    async exists(key, uploadId) {
      checkKey(key, "look up the upload of");
      checkKey(uploadId, "look up the upload of");
      return uploads.get(uploadId)?.key === key;
    },
    // deno-lint-ignore require-await
    async complete(key, uploadId, parts, info) {
      const upload = find(key, uploadId, "complete");
      if (files.has(key) || writing.has(key)) {
        throw new StorageConflictError(key);
      }
      const bytes = new Blob(parts.map((part) => {
        const stored = upload.parts.get(part.number);
        if (stored === undefined || stored.part.sha256 !== part.sha256) {
          throw new RangeError(
            `Cannot complete "${key}": part ${part.number} is not stored as listed`,
          );
        }
        return stored.bytes;
      }));
      if (bytes.size !== info.size) {
        throw new RangeError(
          `Cannot complete "${key}": the parts hold ${bytes.size} bytes, not ${info.size}`,
        );
      }
      const file = storedFile(key, info);
      files.set(key, { file, bytes });
      uploads.delete(uploadId);
      return { ...file };
    },
    // deno-lint-ignore require-await
    async abort(key, uploadId) {
      checkKey(key, "abort");
      if (uploads.get(uploadId)?.key === key) uploads.delete(uploadId);
    },
  };
}
