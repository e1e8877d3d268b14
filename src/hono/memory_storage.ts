/**
 * A {@linkcode Storage} that keeps files in memory, for tests and demos.
 *
 * @module
 */

import {
  type ByteRange,
  type FileInfo,
  type Storage,
  StorageConflictError,
  type StoredFile,
} from "./storage.ts";
import { checkKey, exactChunks, isWithin } from "./_exact.ts";

interface Entry {
  file: StoredFile;
  bytes: Uint8Array;
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
  return {
    async put(key, body, info: FileInfo) {
      checkKey(key, "store");
      if (files.has(key) || writing.has(key)) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(key);
      }
      writing.add(key);
      try {
        // Chunks are copied as they come, so a body that reuses its buffers
        // cannot change stored bytes; memory grows with what arrived, never
        // with what was merely declared.
        const chunks: Uint8Array[] = [];
        for await (const chunk of exactChunks(body, info.size, key)) {
          chunks.push(chunk.slice());
        }
        const bytes = new Uint8Array(info.size);
        let offset = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, offset);
          offset += chunk.byteLength;
        }
        const file: StoredFile = {
          key,
          name: info.name,
          size: info.size,
          type: info.type,
          uploadedAt: new Date(),
        };
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
    // deno-lint-ignore require-await
    async read(key, range?: ByteRange) {
      checkKey(key, "read");
      const entry = files.get(key);
      if (entry === undefined) return undefined;
      const { start, end } = range ?? { start: 0, end: entry.bytes.length - 1 };
      if (range !== undefined && !isWithin(range, entry.bytes.length)) {
        throw new RangeError(
          `Cannot read "${key}": bytes ${start}-${end} are outside ${entry.bytes.length} bytes`,
        );
      }
      let position = start;
      const stop = end + 1;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (position >= stop) return controller.close();
          const next = Math.min(stop, position + 65536);
          controller.enqueue(entry.bytes.slice(position, next));
          position = next;
        },
      });
    },
    // deno-lint-ignore require-await
    async delete(key) {
      checkKey(key, "delete");
      files.delete(key);
    },
  };
}
