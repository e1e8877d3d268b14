/**
 * The file storage's `sweep()`: removing what crashed or abandoned uploads
 * left, finishing deletes a crash interrupted, and removing expired files.
 * The folder is streamed with `opendir`, never read whole.
 *
 * @module
 */

import { opendir, rm, stat as statPath } from "node:fs/promises";
import { join } from "node:path";
import type { StoredFile } from "./mod.ts";
import { isKey } from "./_common.ts";
import { isMissing, readMeta, syncDir } from "./_fs.ts";
import { bury, isBeingDeleted, sweepDeleted } from "./_fs_delete.ts";
import { sweepUpload } from "./fs_multipart.ts";

const PARTIAL = /^\.partial-([A-Za-z0-9_-]+)-[0-9a-f]{8}$/;

/**
 * Sweeps a storage folder (see `FsStorage.sweep`).
 *
 * @param dir The storage folder, resolved.
 * @param now The time to judge by, in milliseconds since the epoch.
 * @param idle How long a single upload's folder may go unwritten.
 * @param writing Keys being written by single uploads in this process.
 * @returns How many folders were removed (or, for an interrupted delete,
 * put in place).
 */
export async function sweepFolder(
  dir: string,
  now: number,
  idle: number,
  writing: Set<string>,
): Promise<number> {
  let folder;
  try {
    folder = await opendir(dir);
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
  let removed = 0;
  for await (const entry of folder) {
    const name = entry.name;
    const path = join(dir, name);
    if (isKey(name)) {
      if (isBeingDeleted(dir, name)) continue;
      const expiresAt = (await metaOf(dir, name))?.expiresAt?.getTime();
      if (expiresAt !== undefined && expiresAt <= now) {
        if (await bury(dir, name)) removed++;
      }
      continue;
    }
    if (name.startsWith(".upload-")) {
      if (await sweepUpload(path, now, idle)) removed++;
      continue;
    }
    if (name.startsWith(".deleted-")) {
      if (await sweepDeleted(dir, name)) removed++;
      continue;
    }
    const partial = PARTIAL.exec(name);
    if (partial === null || writing.has(partial[1])) continue;
    if (now - await lastWrite(path) < idle) continue;
    await rm(path, { recursive: true, force: true });
    removed++;
  }
  if (removed > 0) await syncDir(dir);
  return removed;
}

/** A stored file's metadata; `undefined` if it is gone, or unreadable. */
async function metaOf(
  dir: string,
  key: string,
): Promise<StoredFile | undefined> {
  try {
    return await readMeta(dir, key);
  } catch (error) {
    // A damaged meta.json is no reason to stop sweeping the rest.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
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
