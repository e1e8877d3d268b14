/**
 * Multipart uploads of {@linkcode fsStorage}.
 *
 * An upload lives in `{dir}/.upload-{key}-{uploadId}/`: `data`, into which
 * every part is written in place at its offset (`(number - 1) * partSize`),
 * so that completion never copies the file; `info.json`, with the upload's
 * name, type, sizes and expiry (the route's, else a day after its start),
 * after which {@linkcode sweepUpload} may remove it; and `parts/`, which
 * holds one empty marker per stored part, named for its number, size and
 * SHA-256, written only once the part's bytes are on disk. `info.json` also
 * keeps the completed file's resource and expiry, for a completion that is
 * not told them. Completion truncates `data` to the total, writes
 * `meta.json` and renames the folder to `{dir}/{key}`: the file appears
 * whole, at once, and only once (never onto a deleted key's tombstone).
 *
 * Lock files in `parts/` keep two writers off the same bytes, across
 * processes too (`_fs_lock.ts`): one per part being written, and one while
 * completing; only a crash's lock is ever taken over. Aborting moves the folder aside in one rename before removing
 * it, so that a completion racing it either published the whole file first
 * or finds nothing left to publish.
 *
 * @module
 */

import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat as statPath,
  writeFile,
} from "node:fs/promises";
import { basename, join } from "node:path";
import {
  decodeBase64,
  decodeBase64url,
  encodeBase64,
  encodeBase64url,
  randomId,
} from "../_encoding.ts";
import {
  StorageConflictError,
  StorageFullError,
  StorageNotFoundError,
} from "./mod.ts";
import type { StorageMultipart } from "./mod.ts";
import type { StoredFile, StoredPart } from "./mod.ts";
import { checkKept, checkKey, chunksOf, completedFile } from "./_common.ts";
import {
  DIR_MODE,
  FILE_MODE,
  isFull,
  isMissing,
  publish,
  refresher,
  syncDir,
  writeBody,
  writeNewFile,
} from "./_fs.ts";
import { aside } from "./_fs_delete.ts";
import { isLocked, lock } from "./_fs_lock.ts";

/** How long an upload that names no expiry may last: a day. */
const DEFAULT_TTL_MS = 86_400_000;
/** The name of an upload's folder: `.upload-{key}-{uploadId}`. */
const UPLOAD_FOLDER = /^\.upload-[A-Za-z0-9_-]+$/;
const MARKER = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)\.([A-Za-z0-9_-]{43})$/;

/**
 * Makes the multipart calls of a file storage.
 *
 * @param dir The storage folder, resolved.
 * @param taken Tells whether a key is stored, deleted, or being written or
 * deleted.
 * @returns The multipart calls.
 */
export function fsMultipart(
  dir: string,
  taken: (key: string) => Promise<boolean>,
): StorageMultipart {
  function folderOf(key: string, uploadId: string, action: string): string {
    checkKey(key, action);
    checkKey(uploadId, action);
    return join(dir, `.upload-${key}-${uploadId}`);
  }

  async function requireUpload(folder: string, key: string, id: string) {
    try {
      return JSON.parse(
        await readFile(join(folder, "info.json"), "utf8"),
      ) as UploadInfo;
    } catch (error) {
      if (isMissing(error)) throw new StorageNotFoundError(key, id);
      throw error;
    }
  }

  return {
    async create(key, info) {
      checkKey(key, "start an upload of");
      checkKept(key, { ...info, expiresAt: info.fileExpiresAt }, "start");
      if (await taken(key)) throw new StorageConflictError(key);
      const uploadId = randomId();
      const folder = folderOf(key, uploadId, "start an upload of");
      const { name, type, size, partSize } = info;
      const given = info.expiresAt?.getTime();
      const expiresAt = given !== undefined && Number.isFinite(given)
        ? given
        : Date.now() + DEFAULT_TTL_MS;
      const saved: UploadInfo = {
        name,
        type,
        size,
        partSize,
        expiresAt: new Date(expiresAt).toISOString(),
        resource: info.resource,
        fileExpiresAt: info.fileExpiresAt?.toISOString(),
      };
      try {
        await mkdir(join(folder, "parts"), {
          recursive: true,
          mode: DIR_MODE,
        });
        await writeFile(join(folder, "data"), new Uint8Array(0), {
          flag: "wx",
          mode: FILE_MODE,
        });
        await writeNewFile(join(folder, "info.json"), JSON.stringify(saved));
        await syncDir(folder);
        await syncDir(dir);
      } catch (error) {
        await rm(folder, { recursive: true, force: true }).catch(() => {});
        if (isFull(error)) throw new StorageFullError(key, { cause: error });
        throw error;
      }
      return uploadId;
    },

    async put(key, uploadId, part, body) {
      const folder = folderOf(key, uploadId, "store a part of");
      let release: (() => Promise<void>) | undefined;
      try {
        const info = await requireUpload(folder, key, uploadId);
        release = await lock(folder, String(part.number), key);
        if (await isLocked(folder, "complete")) {
          throw new StorageConflictError(key);
        }
        // The same bytes again (a retry whose answer was lost, or a second
        // uploader of the same file): they are on disk already, and the
        // stored part is left alone while the body is read and checked.
        if (await hasMarker(folder, part)) {
          for await (const _ of chunksOf(body)) {
            // Read and checked, not kept.
          }
          return { ...part };
        }
        // The old bytes of this part are about to change: forget them first.
        await removeMarkers(folder, part.number);
        const handle = await open(join(folder, "data"), "r+");
        try {
          const touch = refresher(join(folder, "parts", `${part.number}.lock`));
          const at = (part.number - 1) * info.partSize;
          await writeBody(handle, body, part.size, key, at, touch);
        } finally {
          await handle.close();
        }
        await writeFile(join(folder, "parts", markerName(part)), "", {
          mode: FILE_MODE,
        });
        return { ...part };
      } catch (error) {
        await body.cancel().catch(() => {});
        if (isMissing(error)) throw new StorageNotFoundError(key, uploadId);
        if (isFull(error)) throw new StorageFullError(key, { cause: error });
        throw error;
      } finally {
        await release?.();
      }
    },

    async list(key, uploadId) {
      const folder = folderOf(key, uploadId, "list the parts of");
      try {
        return await readParts(folder);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async exists(key, uploadId) {
      const folder = folderOf(key, uploadId, "look up the upload of");
      try {
        await statPath(join(folder, "info.json"));
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },

    async complete(key, uploadId, parts, info) {
      const folder = folderOf(key, uploadId, "complete");
      checkKept(key, { ...info, expiresAt: info.fileExpiresAt }, "complete");
      try {
        return await completeIn(folder, key, uploadId, parts, info);
      } catch (error) {
        // Aborted meanwhile: the folder was moved away whole.
        if (isMissing(error)) throw new StorageNotFoundError(key, uploadId);
        throw error;
      }
    },

    async abort(key, uploadId) {
      const folder = folderOf(key, uploadId, "abort");
      const away = aside(dir, key);
      try {
        await rename(folder, away);
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await syncDir(dir);
      // Gone for good already; what a failed removal leaves, sweep() removes.
      await rm(away, { recursive: true, force: true }).catch(() => {});
    },
  };

  async function completeIn(
    folder: string,
    key: string,
    uploadId: string,
    parts: StoredPart[],
    info: Parameters<StorageMultipart["complete"]>[3],
  ): Promise<StoredFile> {
    const started = await requireUpload(folder, key, uploadId);
    if (await taken(key)) throw new StorageConflictError(key);
    const release = await lock(folder, "complete", key);
    try {
      // A part being written holds a fresh lock; a stale one is a crash's,
      // whose part is stored only if its marker is.
      for (const entry of await readdir(join(folder, "parts"))) {
        if (!entry.endsWith(".lock") || entry === "complete.lock") continue;
        if (await isLocked(folder, entry.slice(0, -".lock".length))) {
          throw new StorageConflictError(`${key}: a part is being written`);
        }
      }
      const stored = new Map(
        (await readParts(folder)).map((part) => [part.number, part]),
      );
      for (const part of parts) {
        const found = stored.get(part.number);
        if (found?.sha256 !== part.sha256 || found.size !== part.size) {
          throw new RangeError(
            `Cannot complete "${key}": part ${part.number} is not stored as listed`,
          );
        }
      }
      const handle = await open(join(folder, "data"), "r+");
      try {
        await handle.truncate(info.size);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      const file = completedFile(key, info, {
        resource: started.resource,
        fileExpiresAt: started.fileExpiresAt === undefined
          ? undefined
          : new Date(started.fileExpiresAt),
      });
      try {
        await publish(dir, folder, file);
      } catch (error) {
        if (isFull(error)) throw new StorageFullError(key, { cause: error });
        throw error;
      }
      // The upload's own files are no part of the stored file.
      await rm(join(dir, key, "parts"), { recursive: true, force: true });
      await rm(join(dir, key, "info.json"), { force: true });
      return file;
    } finally {
      await release().catch(() => {});
    }
  }
}

/** `info.json`: what is kept of an upload while it lasts. */
interface UploadInfo {
  name: string;
  type: string;
  size?: number;
  partSize: number;
  /** When the upload's URL stops working, ISO 8601; absent in older ones. */
  expiresAt?: string;
  /** The completed file's resource, if any. */
  resource?: string;
  /** When the completed file expires, ISO 8601, if ever. */
  fileExpiresAt?: string;
}

/**
 * Removes an upload's folder if it is left over: its upload expired and no
 * writer holds a fresh lock on it, or it has no `info.json` (a crash while
 * it started) and was not touched for `idle` ms. An upload that names no
 * expiry expires a day after its `info.json` was written.
 *
 * @param folder The folder, `{dir}/.upload-{key}-{uploadId}`.
 * @param now The time to judge by, in milliseconds since the epoch.
 * @param idle How long a folder without `info.json` may go untouched.
 * @returns Whether it was removed.
 */
export async function sweepUpload(
  folder: string,
  now: number,
  idle: number,
): Promise<boolean> {
  if (!UPLOAD_FOLDER.test(basename(folder))) return false;
  let expiresAt: number;
  try {
    const text = await readFile(join(folder, "info.json"), "utf8");
    const info = JSON.parse(text) as UploadInfo;
    expiresAt = info.expiresAt === undefined
      ? (await statPath(join(folder, "info.json"))).mtimeMs + DEFAULT_TTL_MS
      : Date.parse(info.expiresAt);
  } catch (error) {
    if (!isMissing(error) && !(error instanceof SyntaxError)) throw error;
    let touched: number;
    try {
      touched = (await statPath(folder)).mtimeMs;
    } catch (missing) {
      if (isMissing(missing)) return false;
      throw missing;
    }
    expiresAt = touched + idle;
  }
  if (!(now >= expiresAt)) return false;
  // A part still being written, or a completion, holds a fresh lock.
  let entries: string[] = [];
  try {
    entries = await readdir(join(folder, "parts"));
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  for (const entry of entries) {
    if (!entry.endsWith(".lock")) continue;
    if (await isLocked(folder, entry.slice(0, -".lock".length), now)) {
      return false;
    }
  }
  await rm(folder, { recursive: true, force: true });
  return true;
}

function markerName(part: StoredPart): string {
  const sha = encodeBase64url(decodeBase64(part.sha256) ?? new Uint8Array());
  return `${part.number}.${part.size}.${sha}`;
}

/** The parts whose markers are in the folder, by number. */
async function readParts(folder: string): Promise<StoredPart[]> {
  const parts: StoredPart[] = [];
  for (const entry of await readdir(join(folder, "parts"))) {
    const match = MARKER.exec(entry);
    if (match === null) continue;
    const digest = decodeBase64url(match[3]);
    if (digest === undefined) continue;
    parts.push({
      number: Number(match[1]),
      size: Number(match[2]),
      sha256: encodeBase64(digest),
    });
  }
  return parts.sort((a, b) => a.number - b.number);
}

/** Whether the part is stored with exactly this size and SHA-256. */
async function hasMarker(folder: string, part: StoredPart): Promise<boolean> {
  try {
    await statPath(join(folder, "parts", markerName(part)));
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function removeMarkers(folder: string, number: number): Promise<void> {
  for (const entry of await readdir(join(folder, "parts"))) {
    if (MARKER.exec(entry)?.[1] === String(number)) {
      await rm(join(folder, "parts", entry), { force: true });
    }
  }
}
