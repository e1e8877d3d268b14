/**
 * What the file storage's single and multipart uploads share: writing a body
 * at an offset, the metadata file, making a finished folder durable and
 * visible, and telling a missing path or a full disk.
 *
 * Durability: a file's bytes and its `meta.json` are each flushed to disk
 * (one `fsync` per file, never per chunk), then their folder, before the
 * folder is renamed into place; the storage folder is flushed after every
 * rename and removal. A power cut therefore never leaves a file visible
 * without its metadata, or its metadata without its bytes.
 *
 * Everything is written for its owner only: files `0600`, folders `0700`.
 *
 * @module
 */

import { lstat, open, readFile, rename, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { StorageConflictError, type StoredFile } from "./mod.ts";
import { chunksOf, exactSize } from "./_common.ts";
import { byobReader } from "../_byte_stream.ts";

/** The mode of every file written: read and write for the owner only. */
export const FILE_MODE = 0o600;
/** The mode of every folder made: for the owner only. */
export const DIR_MODE = 0o700;

/** An open file of `node:fs/promises`. */
export type FileHandle = Awaited<ReturnType<typeof open>>;

/** How often a writer marks its file as alive, at most. */
const TOUCH_MS = 5_000;

/** Bytes gathered before each write, to keep system calls few. */
const WRITE_BUFFER = 512 * 1024;

/**
 * `meta.json`: what is kept of a file beside its bytes. `resource` and
 * `expiresAt` (ISO 8601) are absent where the file has none, and in files
 * stored before they were kept.
 */
interface Meta {
  name: string;
  size: number;
  type: string;
  resource?: string;
  expiresAt?: string;
  uploadedAt: string;
  sha256?: string;
}

/**
 * Tells whether an error says the path does not exist.
 *
 * @param error What a `node:fs` call threw.
 * @returns `true` for `ENOENT` and `ENOTDIR`.
 */
export function isMissing(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Tells whether a path exists (without following a last symbolic link).
 *
 * @param path The path.
 * @returns `false` if it is missing.
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/**
 * Tells whether an error says the storage has no room: `ENOSPC` (the disk
 * is full), `EDQUOT` (the user's quota is) or `EFBIG` (the file is larger
 * than the file system takes).
 *
 * @param error What a `node:fs` call threw.
 * @returns `true` for those codes.
 */
export function isFull(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") return true;
  // Deno's node:fs gives no code for some, only the OS's number: EFBIG (27),
  // ENOSPC (28), EDQUOT (122).
  return code === undefined &&
    /\(os error (27|28|122)\)$/.test(String((error as Error)?.message));
}

/**
 * Writes exactly `size` bytes of a body into an open file from `position`,
 * in large writes, then flushes them to disk.
 *
 * @param handle The file, open for writing.
 * @param body The bytes.
 * @param size The exact number of bytes expected.
 * @param key The key, for messages.
 * @param position Where the first byte goes.
 * @param onChunk Called for every chunk that arrives, e.g. to show that the
 * writer is alive.
 * @throws {RangeError} If the body is shorter or longer than `size`.
 */
export async function writeBody(
  handle: FileHandle,
  body: ReadableStream<Uint8Array>,
  size: number,
  key: string,
  position = 0,
  onChunk?: () => void,
): Promise<void> {
  let buffer = new Uint8Array(Math.min(WRITE_BUFFER, Math.max(size, 1)));
  let filled = 0;
  const flush = async () => {
    let offset = 0;
    while (offset < filled) {
      const { bytesWritten } = await handle.write(
        buffer,
        offset,
        filled - offset,
        position,
      );
      offset += bytesWritten;
      position += bytesWritten;
    }
    filled = 0;
  };
  const counted = exactSize(body, size, `Cannot store "${key}"`).stream;
  const byob = byobReader(counted);
  if (byob !== undefined) {
    // A byte stream is read straight into the write buffer.
    try {
      while (true) {
        const { done, value } = await byob.read(
          new Uint8Array(buffer.buffer, filled, buffer.byteLength - filled),
        );
        if (value !== undefined) buffer = new Uint8Array(value.buffer);
        if (done) break;
        onChunk?.();
        filled += value.byteLength;
        if (filled === buffer.byteLength) await flush();
      }
    } catch (error) {
      await byob.cancel(error).catch(() => {});
      throw error;
    }
  } else {
    for await (let chunk of chunksOf(counted)) {
      onChunk?.();
      while (chunk.byteLength > 0) {
        const take = Math.min(chunk.byteLength, buffer.byteLength - filled);
        buffer.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === buffer.byteLength) await flush();
      }
    }
  }
  await flush();
  await handle.datasync();
}

/**
 * Writes a small file that must not exist yet, and flushes it to disk.
 *
 * @param path The file.
 * @param text Its content.
 */
export async function writeNewFile(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Flushes a folder's entries to disk, so that a file made, renamed or
 * removed in it stays so after a power cut. Where a folder cannot be opened
 * (Windows), it does nothing.
 *
 * @param folder The folder.
 */
export async function syncDir(folder: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(folder, "r");
  } catch (error) {
    const code = (error as { code?: string })?.code;
    if (code === "EISDIR" || code === "EPERM" || code === "EACCES") return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot flush a folder; their renames are as durable
    // as they get.
    const code = (error as { code?: string })?.code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EBADF") {
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes `meta.json` into a file's folder, flushed to disk, failing if it
 * exists.
 *
 * @param folder The folder.
 * @param file The stored file.
 */
export async function writeMeta(
  folder: string,
  file: StoredFile,
): Promise<void> {
  const meta: Meta = {
    name: file.name,
    size: file.size,
    type: file.type,
    resource: file.resource,
    expiresAt: file.expiresAt?.toISOString(),
    uploadedAt: file.uploadedAt.toISOString(),
    sha256: file.sha256,
  };
  await writeNewFile(join(folder, "meta.json"), JSON.stringify(meta));
}

/**
 * Makes a finished folder the file `key`: writes its `meta.json` and flushes
 * it and the folder to disk, then renames the folder to `{dir}/{key}`, which
 * fails if the key exists (a stored file, or the tombstone of a deleted one:
 * a folder holding `deleted`; never empty, so never replaced), so a key is
 * written once even across processes, and flushes `dir`. The folder's `data`
 * must be flushed already.
 *
 * @param dir The storage folder.
 * @param folder The finished folder, with `data` in it.
 * @param file The stored file.
 * @throws {StorageConflictError} If the key is stored already, or deleted.
 */
export async function publish(
  dir: string,
  folder: string,
  file: StoredFile,
): Promise<void> {
  await writeMeta(folder, file);
  await syncDir(folder);
  try {
    await rename(folder, join(dir, file.key));
  } catch (error) {
    await rm(join(folder, "meta.json"), { force: true });
    if (await exists(join(dir, file.key))) {
      throw new StorageConflictError(file.key, { cause: error });
    }
    throw error;
  }
  await syncDir(dir);
}

/**
 * Reads a stored file's `meta.json`.
 *
 * @param dir The storage folder.
 * @param key The key.
 * @returns The file, or `undefined` if it is not stored (or deleted: a
 * tombstone has no `meta.json`).
 */
export async function readMeta(
  dir: string,
  key: string,
): Promise<StoredFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, key, "meta.json"), "utf8");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  const meta = JSON.parse(text) as Meta;
  return {
    key,
    name: meta.name,
    size: meta.size,
    type: meta.type,
    ...(meta.resource === undefined ? {} : { resource: meta.resource }),
    ...(meta.expiresAt === undefined
      ? {}
      : { expiresAt: new Date(meta.expiresAt) }),
    uploadedAt: new Date(meta.uploadedAt),
    ...(meta.sha256 === undefined ? {} : { sha256: meta.sha256 }),
  };
}

/**
 * Marks a file as being written: its modification time is set to now, at
 * most every 5 s, each time the returned function is called. A writer calls
 * it as bytes arrive, however slowly, so that its file never looks left
 * over from a crash (to a lock's takeover, or to `sweep()`).
 *
 * @param path The file to touch.
 * @returns Touches the file, unless it was touched in the last 5 s.
 */
export function refresher(path: string): () => void {
  let last = Date.now();
  return () => {
    const now = Date.now();
    if (now - last < TOUCH_MS) return;
    last = now;
    utimes(path, now / 1000, now / 1000).catch(() => {});
  };
}
