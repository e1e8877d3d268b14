/**
 * A {@linkcode Storage} in a folder on disk, on `node:fs/promises`, so it
 * runs on Deno, Bun and Node.
 *
 * @module
 */

import {
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat as statPath,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ByteRange,
  type FileInfo,
  type Storage,
  StorageConflictError,
  StorageFullError,
  type StorageMultipart,
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
  refresher,
  syncDir,
  writeBody,
} from "./_fs.ts";
import { fsMultipart, sweepUpload } from "./fs_multipart.ts";
import { bunGlobal } from "../_runtime.ts";

/** Options of {@linkcode fsStorage}. */
export interface FsStorageOptions {
  /**
   * The folder that holds the files. It is created on the first upload.
   * Nothing outside it is ever written or read.
   */
  dir: string;
}

/** Options of {@linkcode FsStorage.sweep}. */
export interface SweepOptions {
  /**
   * The time to judge by, in milliseconds since the epoch.
   *
   * @default {Date.now()}
   */
  now?: number;
  /**
   * How long a single upload's temporary folder may go without a byte
   * written before it counts as left over. A writer marks its folder every
   * 5 s while bytes arrive, so keep this above the route's `bodyTimeout`.
   *
   * @default {60000} twice the route's default `bodyTimeout`
   */
  idle?: number;
}

/** A {@linkcode Storage} in a folder on disk, made by {@linkcode fsStorage}. */
export interface FsStorage extends Storage {
  /** Multipart uploads, each in a folder of its own. */
  multipart: StorageMultipart;
  /**
   * Removes what crashed or abandoned uploads left in the folder, and
   * nothing that is being written:
   *
   * - a single upload's `.partial-*` folder, once no byte was written to it
   *   for `idle` ms (and no upload in this process is writing it);
   * - a multipart upload's `.upload-*` folder, once the upload expired (the
   *   route's `multipartTtl`, else a day after it started) and no part or
   *   completion is being written;
   * - a `.deleted-*` folder that a crash left while deleting a file.
   *
   * Call it at startup and then now and then, e.g. every few minutes.
   *
   * @param options The time to judge by, and the idle time of a single
   * upload.
   * @returns How many folders were removed.
   * @throws {RangeError} If `idle` is not a non-negative number.
   *
   * @example
   * ```ts
   * import { fsStorage } from "@fileurls/fileurls/hono";
   *
   * const dir = await Deno.makeTempDir();
   * const storage = fsStorage({ dir });
   * const removed = await storage.sweep(); // 0: nothing was left over
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  sweep(options?: SweepOptions): Promise<number>;
}

/** How long a temporary folder may go untouched, by default. */
const DEFAULT_IDLE_MS = 60_000;
const PARTIAL = /^\.partial-([A-Za-z0-9_-]+)-[0-9a-f]{8}$/;

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
 * Temporary folders that a crash left (`.partial-*`, and expired multipart
 * uploads) are removed by {@linkcode FsStorage.sweep}.
 *
 * On Bun the storage also offers {@linkcode Storage.blob}: a file-backed
 * Blob, which Bun sends with its exact `Content-Length` (a stream it would
 * send chunked). Deno and Node get streams, which they send with the length
 * the route sets.
 *
 * @param options Where the files live.
 * @returns The storage, with {@linkcode FsStorage.sweep}.
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
export function fsStorage(options: FsStorageOptions): FsStorage {
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

  const storage: FsStorage = {
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
        const data = join(partial, "data");
        const handle = await open(data, "wx", FILE_MODE);
        try {
          await writeBody(handle, body, info.size, key, 0, refresher(data));
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

    multipart: fsMultipart(dir, stat, keys),

    async sweep(options: SweepOptions = {}) {
      const now = options.now ?? Date.now();
      const idle = options.idle ?? DEFAULT_IDLE_MS;
      if (typeof idle !== "number" || !(idle >= 0)) {
        throw new RangeError(
          `Cannot sweep the file storage: idle must be a non-negative number, got ${idle}`,
        );
      }
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (error) {
        if (isMissing(error)) return 0;
        throw error;
      }
      let removed = 0;
      for (const entry of entries) {
        const path = join(dir, entry);
        if (entry.startsWith(".upload-")) {
          if (await sweepUpload(path, now, idle)) removed++;
          continue;
        }
        const partial = PARTIAL.exec(entry);
        if (partial !== null) {
          if (keys.has(partial[1])) continue;
          if (now - await lastWrite(path) < idle) continue;
        } else if (!entry.startsWith(".deleted-")) continue;
        await rm(path, { recursive: true, force: true });
        removed++;
      }
      if (removed > 0) await syncDir(dir);
      return removed;
    },
  };
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

/**
 * When a temporary folder was last written: the latest change of the folder
 * or its `data`, which its writer marks as bytes arrive.
 */
async function lastWrite(folder: string): Promise<number> {
  let latest = 0;
  for (const path of [folder, join(folder, "data")]) {
    try {
      latest = Math.max(latest, (await statPath(path)).mtimeMs);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return latest;
}
