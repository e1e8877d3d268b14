/**
 * A {@linkcode Storage} that keeps files in memory, for tests and demos.
 *
 * @module
 */

import { randomId } from "../_encoding.ts";
import { StorageConflictError, StorageNotFoundError } from "./mod.ts";
import type { ByteRange, Storage, StorageMultipart } from "./mod.ts";
import type { ListOptions, StoredFileList } from "./mod.ts";
import type { MultipartInfo, StoredFile, StoredPart } from "./mod.ts";
import {
  checkKept,
  checkKey,
  checkRange,
  completedFile,
  copyFile,
  exactChunks,
  storedFile,
} from "./_common.ts";
import { checkListOptions, SmallestKeys } from "./_list.ts";

/** How often the storage sweeps expired files by itself, at most. */
const SWEEP_EVERY_MS = 60_000;

interface Entry {
  file: StoredFile;
  bytes: Blob;
}

/**
 * A {@linkcode Storage} in memory, made by {@linkcode memoryStorage}: with
 * multipart uploads, listing, and a sweep of expired files.
 */
export interface MemoryStorage extends Storage {
  /** Multipart uploads, kept in memory until completed or aborted. */
  multipart: StorageMultipart;
  /**
   * One page of the stored files, newest first (ascending key order), as
   * {@linkcode Storage.list}: up to `limit` files whose key follows
   * `cursor`, only those kept with `resource` when it is given. A page is
   * short only when nothing follows it. Deleted files and uploads in
   * progress are never listed; expired files are, until they are swept.
   *
   * @param options The resource to keep, the page size and where to start.
   * @returns The page, and the key to pass as `cursor` for the next one, or
   * `undefined` when no file follows.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `cursor` is not a storage key.
   *
   * @example
   * ```ts
   * import { memoryStorage } from "@fileurls/fileurls/hono";
   *
   * const storage = memoryStorage();
   * let cursor: string | undefined;
   * do {
   *   const page = await storage.list({ limit: 100, cursor });
   *   for (const file of page.files) console.log(file.key, file.name);
   *   cursor = page.cursor;
   * } while (cursor !== undefined);
   * ```
   */
  list(options: ListOptions): Promise<StoredFileList>;
  /**
   * Removes every file whose `expiresAt` is at or before `now`, and every
   * multipart upload past its `expiresAt` with no part being written (its
   * parts freed). The files' keys stay deleted, as after
   * {@linkcode Storage.delete}: a `put` on one rejects with
   * {@linkcode StorageConflictError}. Until it is swept, an
   * expired file is still answered by `stat`, `read` and `list`; the route
   * leaves it out by its `expiresAt`.
   *
   * The storage also sweeps by itself, at most once a minute, when any of
   * its methods is called (it starts no timer), so calling this is needed
   * only to remove expired files at a given time.
   *
   * @param options `now`: the time to judge by, in milliseconds since the
   * epoch; `Date.now()` if absent.
   * @returns How many files were removed.
   * @throws {RangeError} If `now` is not a finite number.
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
   *   expiresAt: new Date(Date.now() + 1000),
   * });
   * await storage.sweep(); // 0: not expired yet
   * await storage.sweep({ now: Date.now() + 1000 }); // 1
   * ```
   */
  sweep(options?: { now?: number }): Promise<number>;
}

/**
 * Makes a storage that keeps every file in memory. It keeps the same rules as
 * any other storage: a file shows up only once all of its bytes arrived, a
 * key is written once, and a deleted key is never stored again (it holds the
 * keys it deleted, a few bytes each, for as long as it lives). It holds every
 * byte it stores, so it suits tests and small demos, not production.
 *
 * Each file keeps its `resource` and `expiresAt`. Expired files are removed
 * by {@linkcode MemoryStorage.sweep}, which the storage also runs by itself
 * at most once a minute when it is used.
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
 *   resource: "avatar",
 * });
 * const file = await storage.stat("abc"); // { key: "abc", size: 2, … }
 * const page = await storage.list({ resource: "avatar", limit: 10 });
 * await storage.delete("abc"); // "abc" can never be stored again
 * ```
 */
export function memoryStorage(): MemoryStorage {
  const files = new Map<string, Entry>();
  const writing = new Set<string>();
  const deleted = new Set<string>();
  const uploads = new Map<string, Upload>();
  let swept = Date.now();

  function removeExpired(now: number): number {
    let removed = 0;
    for (const [key, { file }] of files) {
      if (file.expiresAt !== undefined && file.expiresAt.getTime() <= now) {
        files.delete(key);
        deleted.add(key);
        removed++;
      }
    }
    // Multipart uploads left unfinished, once they expired and no part is
    // being written: their parts are freed.
    for (const [id, upload] of uploads) {
      if (
        upload.expiresAt !== undefined && upload.expiresAt <= now &&
        upload.writing.size === 0
      ) {
        uploads.delete(id);
        removed++;
      }
    }
    return removed;
  }
  /** Sweeps, if the last sweep was a minute ago or more. */
  function tick(): void {
    const now = Date.now();
    if (now - swept < SWEEP_EVERY_MS) return;
    swept = now;
    removeExpired(now);
  }
  function taken(key: string): boolean {
    return files.has(key) || writing.has(key) || deleted.has(key);
  }
  // deno-lint-ignore require-await
  async function slice(
    key: string,
    range?: ByteRange,
  ): Promise<Blob | undefined> {
    tick();
    checkKey(key, "read");
    const entry = files.get(key);
    if (entry === undefined) return undefined;
    if (range === undefined) return entry.bytes;
    checkRange(key, range, entry.bytes.size);
    return entry.bytes.slice(range.start, range.end + 1);
  }
  return {
    async put(key, body, info) {
      tick();
      checkKey(key, "store");
      checkKept(key, info, "store");
      if (taken(key)) {
        await body.cancel().catch(() => {});
        throw new StorageConflictError(key);
      }
      writing.add(key);
      try {
        const bytes = await collect(body, info.size, key);
        // Deleted while its bytes arrived: the key stays deleted.
        if (deleted.has(key)) throw new StorageConflictError(key);
        const file = storedFile(key, info);
        files.set(key, { file, bytes });
        return copyFile(file);
      } finally {
        writing.delete(key);
      }
    },
    // deno-lint-ignore require-await
    async stat(key) {
      tick();
      checkKey(key, "look up");
      const entry = files.get(key);
      return entry && copyFile(entry.file);
    },
    async read(key, range) {
      return (await slice(key, range))?.stream();
    },
    blob: slice,
    // deno-lint-ignore require-await
    async delete(key) {
      tick();
      checkKey(key, "delete");
      files.delete(key);
      deleted.add(key);
    },
    // deno-lint-ignore require-await
    async list(options) {
      tick();
      checkListOptions(options);
      const { resource, limit, cursor } = options;
      const smallest = new SmallestKeys(limit);
      for (const [key, { file }] of files) {
        if (cursor !== undefined && key <= cursor) continue;
        if (resource !== undefined && file.resource !== resource) continue;
        smallest.offer(key);
      }
      const keys = smallest.sorted();
      return {
        files: keys.map((key) => copyFile(files.get(key)!.file)),
        cursor: smallest.dropped ? keys.at(-1) : undefined,
      };
    },
    // deno-lint-ignore require-await
    async sweep(options = {}) {
      const now = options.now ?? Date.now();
      if (typeof now !== "number" || !Number.isFinite(now)) {
        throw new RangeError(
          `Cannot sweep the memory storage: now must be a finite number, got ${now}`,
        );
      }
      swept = Date.now();
      return removeExpired(now);
    },
    multipart: memoryMultipart(files, uploads, taken, tick),
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
  /** When the upload expires, in milliseconds; never if `undefined`. */
  expiresAt: number | undefined;
  /** The completed file's resource and expiry, as the upload started. */
  kept: Pick<MultipartInfo, "resource" | "fileExpiresAt">;
  parts: Map<number, { part: StoredPart; bytes: Blob }>;
  /** Part numbers being written. */
  writing: Set<number>;
}

function memoryMultipart(
  files: Map<string, Entry>,
  uploads: Map<string, Upload>,
  taken: (key: string) => boolean,
  tick: () => void,
): StorageMultipart {
  function find(key: string, uploadId: string, action: string): Upload {
    tick();
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
    async create(key, info) {
      tick();
      checkKey(key, "start an upload of");
      checkKept(key, { ...info, expiresAt: info.fileExpiresAt }, "start");
      if (taken(key)) throw new StorageConflictError(key);
      const uploadId = randomId();
      const kept = {
        resource: info.resource,
        fileExpiresAt: info.fileExpiresAt && new Date(info.fileExpiresAt),
      };
      uploads.set(uploadId, {
        key,
        expiresAt: info.expiresAt === undefined
          ? undefined
          : new Date(info.expiresAt).getTime(),
        kept,
        parts: new Map(),
        writing: new Set(),
      });
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
      tick();
      checkKey(key, "list the parts of");
      checkKey(uploadId, "list the parts of");
      const upload = uploads.get(uploadId);
      if (upload === undefined || upload.key !== key) return undefined;
      return [...upload.parts.values()].map(({ part }) => ({ ...part }))
        .sort((a, b) => a.number - b.number);
    },
    // deno-lint-ignore require-await
    async exists(key, uploadId) {
      tick();
      checkKey(key, "look up the upload of");
      checkKey(uploadId, "look up the upload of");
      return uploads.get(uploadId)?.key === key;
    },
    // deno-lint-ignore require-await
    async complete(key, uploadId, parts, info) {
      const upload = find(key, uploadId, "complete");
      checkKept(key, { ...info, expiresAt: info.fileExpiresAt }, "complete");
      if (taken(key)) throw new StorageConflictError(key);
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
      const file = completedFile(key, info, upload.kept);
      files.set(key, { file, bytes });
      uploads.delete(uploadId);
      return copyFile(file);
    },
    // deno-lint-ignore require-await
    async abort(key, uploadId) {
      tick();
      checkKey(key, "abort");
      if (uploads.get(uploadId)?.key === key) uploads.delete(uploadId);
    },
  };
}
