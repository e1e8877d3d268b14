/**
 * A {@linkcode Storage} that keeps files in memory, for tests and demos.
 *
 * @module
 */

import {
  type ByteRange,
  type Storage,
  StorageConflictError,
  type StoredFile,
} from "./mod.ts";
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
        // Each chunk is copied into a Blob as it comes, so a body that reuses
        // its buffers cannot change stored bytes; memory grows with what
        // arrived, never with what was merely declared.
        const parts: Blob[] = [];
        for await (const chunk of exactChunks(body, info.size, key)) {
          parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
        }
        const bytes = new Blob(parts);
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
  };
}
