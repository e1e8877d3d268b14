/**
 * A {@linkcode Storage} in a folder on disk, on `node:fs/promises`, so it
 * runs on Deno, Bun and Node.
 *
 * @module
 */

import { mkdir, open, rename, rm, stat as statPath } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ByteRange,
  type FileInfo,
  type Storage,
  StorageConflictError,
  StorageFullError,
  type StoredFile,
} from "./mod.ts";
import { checkKey, checkRange, storedFile } from "./_common.ts";
import {
  DIR_MODE,
  FILE_MODE,
  isFull,
  isMissing,
  publish,
  readMeta,
  syncDir,
  writeBody,
} from "./_fs.ts";
import { fsMultipart } from "./fs_multipart.ts";
import { bunGlobal } from "../_runtime.ts";

/** Options of {@linkcode fsStorage}. */
export interface FsStorageOptions {
  /**
   * The folder that holds the files. It is created on the first upload.
   * Nothing outside it is ever written or read.
   */
  dir: string;
}

/** Keys being written in this process, per storage folder. */
const writing = new Map<string, Set<string>>();

/** Bytes read per chunk when serving a file. */
const READ_CHUNK = 256 * 1024;

/**
 * Makes a storage that keeps each file in a folder of its own,
 * `{dir}/{key}/data` with its metadata in `{dir}/{key}/meta.json`.
 *
 * An upload streams to a temporary folder inside `dir` and is renamed into
 * place, data and metadata at once, only after exactly `size` bytes arrived
 * and were flushed to disk. A file is therefore visible completely or not at
 * all, and a body that ends early or runs long leaves nothing behind. The
 * rename fails if the key exists, so a key is written once even across
 * processes; within one process a second writer is refused before it reads a
 * byte. Bytes and metadata are flushed to disk before the rename, and the
 * folder after it, so a power cut never leaves a file visible without its
 * metadata. Files are written `0600`, folders `0700`. A full disk (or quota)
 * rejects with {@linkcode StorageFullError}, leaving nothing behind.
 * Temporary folders (`.partial-*`) left by a crash can be deleted.
 *
 * On Bun the storage also offers {@linkcode Storage.blob}: a file-backed
 * Blob, which Bun sends with its exact `Content-Length` (a stream it would
 * send chunked). Deno and Node get streams, which they send with the length
 * the route sets.
 *
 * @param options Where the files live.
 * @returns The storage.
 * @throws {TypeError} If `dir` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { fsStorage } from "@fileurls/fileurls/hono";
 *
 * const dir = await Deno.makeTempDir();
 * const storage = fsStorage({ dir });
 * await storage.put("abc", new Blob(["hi"]).stream(), {
 *   name: "hi.txt",
 *   size: 2,
 *   type: "text/plain",
 * });
 * const file = await storage.stat("abc"); // { key: "abc", size: 2, … }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fsStorage(options: FsStorageOptions): Storage {
  if (typeof options?.dir !== "string" || options.dir === "") {
    throw new TypeError(
      "Cannot create the file storage: dir must be a non-empty string",
    );
  }
  const dir = resolve(options.dir);
  let reserved = writing.get(dir);
  if (reserved === undefined) writing.set(dir, reserved = new Set());
  const keys = reserved;

  // deno-lint-ignore require-await
  async function stat(key: string): Promise<StoredFile | undefined> {
    checkKey(key, "look up");
    return readMeta(dir, key);
  }

  const storage: Storage = {
    async put(key, body, info: FileInfo) {
      checkKey(key, "store");
      if (keys.has(key) || await stat(key) !== undefined) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(key);
      }
      keys.add(key);
      const partial = join(
        dir,
        `.partial-${key}-${crypto.randomUUID().slice(0, 8)}`,
      );
      try {
        await mkdir(partial, { recursive: true, mode: DIR_MODE });
        const handle = await open(join(partial, "data"), "wx", FILE_MODE);
        try {
          await writeBody(handle, body, info.size, key);
        } finally {
          await handle.close();
        }
        const file = storedFile(key, info);
        await publish(dir, partial, file);
        return file;
      } catch (error) {
        await body.cancel().catch(() => {});
        await rm(partial, { recursive: true, force: true }).catch(() => {});
        if (isFull(error)) throw new StorageFullError(key, { cause: error });
        throw error;
      } finally {
        keys.delete(key);
      }
    },

    stat,

    async read(key, range?: ByteRange) {
      checkKey(key, "read");
      let handle;
      try {
        handle = await open(join(dir, key, "data"), "r");
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      const file = handle;
      let position: number;
      let stop: number;
      try {
        const { size } = await file.stat();
        if (range !== undefined) checkRange(key, range, size);
        position = range?.start ?? 0;
        stop = range === undefined ? size : range.end + 1;
      } catch (error) {
        await file.close();
        throw error;
      }
      let closed = false;
      const close = async () => {
        if (!closed) {
          closed = true;
          await file.close();
        }
      };
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            if (position >= stop) {
              await close();
              return controller.close();
            }
            const buffer = new Uint8Array(
              Math.min(READ_CHUNK, stop - position),
            );
            const { bytesRead } = await file.read(
              buffer,
              0,
              buffer.byteLength,
              position,
            );
            if (bytesRead === 0) {
              throw new RangeError(
                `Cannot read "${key}": the file ended at byte ${position}`,
              );
            }
            position += bytesRead;
            controller.enqueue(buffer.subarray(0, bytesRead));
          } catch (error) {
            await close().catch(() => {});
            controller.error(error);
          }
        },
        async cancel() {
          await close();
        },
      });
    },

    async delete(key) {
      checkKey(key, "delete");
      // Move it aside first, so that a reader never sees half a file.
      const doomed = join(
        dir,
        `.deleted-${key}-${crypto.randomUUID().slice(0, 8)}`,
      );
      try {
        await rename(join(dir, key), doomed);
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await syncDir(dir);
      await rm(doomed, { recursive: true, force: true });
    },
  };
  storage.multipart = fsMultipart(dir, stat, keys);
  const bun = bunGlobal();
  if (bun !== undefined) {
    storage.blob = async (key, range) => {
      checkKey(key, "read");
      const path = join(dir, key, "data");
      let size: number;
      try {
        // Bun's file Blob is lazy and would not notice a missing file.
        size = (await statPath(path)).size;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      const blob = bun.file(path);
      if (range === undefined) return blob;
      checkRange(key, range, size);
      return blob.slice(range.start, range.end + 1);
    };
  }
  return storage;
}
