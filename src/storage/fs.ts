/**
 * A {@linkcode Storage} in a folder on disk, on `node:fs/promises`, so it
 * runs on Deno, Bun and Node.
 *
 * @module
 */

import { mkdir, open, rm, stat as statPath } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ByteRange,
  type FileInfo,
  type ListOptions,
  type Storage,
  StorageConflictError,
  StorageFullError,
  type StorageMultipart,
  type StoredFile,
  type StoredFileList,
} from "./mod.ts";
import { checkKept, checkKey, checkRange, storedFile } from "./_common.ts";
import {
  DIR_MODE,
  exists,
  FILE_MODE,
  isFull,
  isMissing,
  publish,
  readMeta,
  refresher,
  writeBody,
} from "./_fs.ts";
import { bury, isBeingDeleted } from "./_fs_delete.ts";
import { listFolder } from "./_fs_list.ts";
import { sweepFolder } from "./_fs_sweep.ts";
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
   * One page of the stored files, newest first (ascending key order), as
   * {@linkcode Storage.list}: up to `limit` files whose key follows
   * `cursor`, only those kept with `resource` when it is given. Deleted
   * files and uploads in progress are never listed; expired files are,
   * until they are swept.
   *
   * Memory stays in proportion to `limit`, whatever the folder holds: the
   * folder is streamed, and only the `max(limit, 100)` smallest keys after
   * `cursor` are kept before their metadata is read. A page scans the folder
   * four times at most; when the `resource` filter leaves it short after
   * that, it is answered short (even empty), with a cursor.
   *
   * @param options The resource to keep, the page size and where to start.
   * @returns The page, and the key to pass as `cursor` for the next one (the
   * last key looked at), or `undefined` when no file follows.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `cursor` is not a storage key.
   *
   * @example
   * ```ts
   * import { fsStorage } from "@fileurls/fileurls/hono";
   *
   * const dir = await Deno.makeTempDir();
   * const storage = fsStorage({ dir });
   * let cursor: string | undefined;
   * do {
   *   const page = await storage.list({ limit: 100, cursor });
   *   for (const file of page.files) console.log(file.key, file.name);
   *   cursor = page.cursor;
   * } while (cursor !== undefined);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  list(options: ListOptions): Promise<StoredFileList>;
  /**
   * Removes expired files, and what crashed or abandoned uploads left in the
   * folder, and nothing that is being written:
   *
   * - a stored file whose `expiresAt` is at or before `now`: it is removed
   *   as {@linkcode Storage.delete} removes a file, so its key stays deleted
   *   (a later `put` on it rejects with {@linkcode StorageConflictError});
   * - a single upload's `.partial-*` folder, once no byte was written to it
   *   for `idle` ms (and no upload in this process is writing it);
   * - a multipart upload's `.upload-*` folder, once the upload expired (the
   *   route's `multipartTtl`, else a day after it started) and no part or
   *   completion is being written;
   * - a `.deleted-*` folder that a crash left while deleting a file (the
   *   tombstone it held is put in place if the key holds nothing).
   *
   * It reads the metadata of every stored file, streaming the folder. Until
   * it runs, an expired file is still answered by `stat`, `read` and `list`;
   * the route leaves it out by its `expiresAt`. Tombstones are never swept.
   * Call it at startup and then now and then, e.g. every few minutes.
   *
   * @param options The time to judge by, and the idle time of a single
   * upload.
   * @returns How many files and folders were removed.
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

/** Keys being written in this process, per storage folder. */
const writing = new Map<string, Set<string>>();

/** Bytes read per chunk when serving a file. */
const READ_CHUNK = 256 * 1024;

/**
 * Makes a storage that keeps each file in a folder of its own,
 * `{dir}/{key}/data` with its metadata in `{dir}/{key}/meta.json` (name,
 * size, type, resource, expiry, upload time, SHA-256 of parts).
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
 * uploads) are removed by {@linkcode FsStorage.sweep}, as are expired files.
 *
 * {@linkcode Storage.delete} leaves a tombstone for good: the folder
 * `{dir}/{key}` then holds only an empty file `deleted`, which makes a later
 * upload of the key fail with {@linkcode StorageConflictError}. The file
 * disappears whole, at once: it is renamed aside before the tombstone is
 * renamed into its place.
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
  /** Whether the key is stored, deleted, or being written or deleted. */
  async function taken(key: string): Promise<boolean> {
    return keys.has(key) || isBeingDeleted(dir, key) ||
      await exists(join(dir, key));
  }

  const storage: FsStorage = {
    async put(key, body, info: FileInfo) {
      checkKey(key, "store");
      checkKept(key, info, "store");
      if (await taken(key)) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(key);
      }
      keys.add(key);
      let holding = true;
      const release = () => {
        if (holding) keys.delete(key);
        holding = false;
      };
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
        // The key is free again once this upload gave up, before its folder
        // is gone: whoever sees the folder gone may upload the key again.
        release();
        await body.cancel().catch(() => {});
        await rm(partial, { recursive: true, force: true }).catch(() => {});
        if (isFull(error)) throw new StorageFullError(key, { cause: error });
        throw error;
      } finally {
        release();
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
      await bury(dir, key);
    },

    list: (options) => listFolder(dir, options),

    multipart: fsMultipart(dir, taken),

    async sweep(options: SweepOptions = {}) {
      const now = options.now ?? Date.now();
      const idle = options.idle ?? DEFAULT_IDLE_MS;
      if (typeof idle !== "number" || !(idle >= 0)) {
        throw new RangeError(
          `Cannot sweep the file storage: idle must be a non-negative number, got ${idle}`,
        );
      }
      return await sweepFolder(dir, now, idle, keys);
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
