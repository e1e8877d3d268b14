/**
 * What the file storage's single and multipart uploads share: writing a body
 * at an offset, the metadata file, and telling a missing path.
 *
 * @module
 */

import { type open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StorageConflictError, type StoredFile } from "./mod.ts";
import { exactChunks } from "./_common.ts";

/** An open file of `node:fs/promises`. */
export type FileHandle = Awaited<ReturnType<typeof open>>;

/** Bytes gathered before each write, to keep system calls few. */
const WRITE_BUFFER = 512 * 1024;

/** `meta.json`: what is kept of a file beside its bytes. */
interface Meta {
  name: string;
  size: number;
  type: string;
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
 * Writes exactly `size` bytes of a body into an open file from `position`,
 * in large writes, then flushes them to disk.
 *
 * @param handle The file, open for writing.
 * @param body The bytes.
 * @param size The exact number of bytes expected.
 * @param key The key, for messages.
 * @param position Where the first byte goes.
 * @param onWrite Called after every write, e.g. to show the writer is alive.
 * @throws {RangeError} If the body is shorter or longer than `size`.
 */
export async function writeBody(
  handle: FileHandle,
  body: ReadableStream<Uint8Array>,
  size: number,
  key: string,
  position = 0,
  onWrite?: () => void,
): Promise<void> {
  const buffer = new Uint8Array(Math.min(WRITE_BUFFER, Math.max(size, 1)));
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
    onWrite?.();
  };
  for await (let chunk of exactChunks(body, size, key)) {
    while (chunk.byteLength > 0) {
      const take = Math.min(chunk.byteLength, buffer.byteLength - filled);
      buffer.set(chunk.subarray(0, take), filled);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === buffer.byteLength) await flush();
    }
  }
  await flush();
  await handle.datasync();
}

/**
 * Writes `meta.json` into a file's folder, failing if it exists.
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
    uploadedAt: file.uploadedAt.toISOString(),
    sha256: file.sha256,
  };
  await writeFile(join(folder, "meta.json"), JSON.stringify(meta), {
    flag: "wx",
  });
}

/**
 * Makes a finished folder the file `key`: writes its `meta.json`, then
 * renames the folder to `{dir}/{key}`, which fails if the key exists, so a
 * key is written once even across processes.
 *
 * @param dir The storage folder.
 * @param folder The finished folder, with `data` in it.
 * @param file The stored file.
 * @throws {StorageConflictError} If the key is stored already.
 */
export async function publish(
  dir: string,
  folder: string,
  file: StoredFile,
): Promise<void> {
  await writeMeta(folder, file);
  try {
    await rename(folder, join(dir, file.key));
  } catch (error) {
    await rm(join(folder, "meta.json"), { force: true });
    if (await readMeta(dir, file.key) !== undefined) {
      throw new StorageConflictError(file.key, { cause: error });
    }
    throw error;
  }
}

/**
 * Reads a stored file's `meta.json`.
 *
 * @param dir The storage folder.
 * @param key The key.
 * @returns The file, or `undefined` if it is not stored.
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
    uploadedAt: new Date(meta.uploadedAt),
    ...(meta.sha256 === undefined ? {} : { sha256: meta.sha256 }),
  };
}
