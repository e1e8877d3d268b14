/**
 * Deleting a file of the file storage for good: its folder `{dir}/{key}` is
 * replaced by a tombstone, a folder that holds only an empty `deleted` file.
 * A tombstone has no `meta.json` and no `data`, so lookups and reads answer
 * nothing, and listings skip it; and since it is a folder that is not empty,
 * the rename that publishes a later upload of the key fails, which
 * `publish()` answers with `StorageConflictError`.
 *
 * The swap is made of two renames, so that no reader ever sees half a file:
 * the tombstone is made and flushed in `.deleted-{key}-{8 hex}` first; the
 * stored folder, if any, is renamed aside to another `.deleted-{key}-{8 hex}`
 * (the file disappears whole, at once); the tombstone is renamed into its
 * place; then the folder set aside is removed. A crash between the two
 * renames leaves the key free, and both folders behind: `sweep()` then
 * removes the one set aside, and renames the tombstone into place
 * ({@linkcode sweepDeleted}).
 *
 * @module
 */

import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { DIR_MODE, exists, isMissing, syncDir, writeNewFile } from "./_fs.ts";

/** The file in a tombstone. */
const MARKER = "deleted";

/** A folder set aside while deleting: `.deleted-{key}-{8 hex}`. */
const DELETED_FOLDER = /^\.deleted-([A-Za-z0-9_-]{1,128})-[0-9a-f]{8}$/;

/**
 * How many deletes of each key run in this process, by storage folder and
 * key (`{dir}/{key}`), for every storage on the folder.
 */
const deleting = new Map<string, number>();

/**
 * Tells whether a key is being deleted in this process.
 *
 * @param dir The storage folder, resolved.
 * @param key The key.
 * @returns `true` while a {@linkcode bury} of it runs.
 */
export function isBeingDeleted(dir: string, key: string): boolean {
  return deleting.has(join(dir, key));
}

/**
 * A fresh name to move a folder of the key `key` aside to, before it is
 * removed: `{dir}/.deleted-{key}-{random}`. `sweep()` removes such a folder
 * if it is left (a crash before its removal), unless it is a tombstone.
 *
 * @param dir The storage folder.
 * @param key The key.
 * @returns The path.
 */
export function aside(dir: string, key: string): string {
  return join(dir, `.deleted-${key}-${crypto.randomUUID().slice(0, 8)}`);
}

/**
 * Tells whether a key is deleted: `{dir}/{key}` is a tombstone.
 *
 * @param dir The storage folder.
 * @param key The key.
 * @returns `true` if the key holds a tombstone.
 */
export function isDeleted(dir: string, key: string): Promise<boolean> {
  return exists(join(dir, key, MARKER));
}

/**
 * Deletes the file `key` for good, whether it is stored or not: afterwards
 * `{dir}/{key}` is a tombstone, flushed to disk. A file stored between the
 * two renames (by another process) is set aside too, up to three times.
 *
 * @param dir The storage folder, resolved.
 * @param key The key, checked.
 * @returns Whether a stored folder was removed.
 */
export async function bury(dir: string, key: string): Promise<boolean> {
  const target = join(dir, key);
  deleting.set(target, (deleting.get(target) ?? 0) + 1);
  try {
    return await swap(dir, key);
  } finally {
    const count = deleting.get(target)! - 1;
    if (count === 0) deleting.delete(target);
    else deleting.set(target, count);
  }
}

async function swap(dir: string, key: string): Promise<boolean> {
  const target = join(dir, key);
  if (await isDeleted(dir, key)) return false;
  const tomb = aside(dir, key);
  await mkdir(tomb, { recursive: true, mode: DIR_MODE });
  const doomed: string[] = [];
  try {
    await writeNewFile(join(tomb, MARKER), "");
    await syncDir(tomb);
    for (let attempt = 0;; attempt++) {
      const away = aside(dir, key);
      try {
        await rename(target, away);
        doomed.push(away);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      try {
        await rename(tomb, target);
        break;
      } catch (error) {
        // Another process (or its sweep) laid the tombstone meanwhile.
        if (await isDeleted(dir, key)) break;
        // A file was stored between the two renames: set it aside too.
        if (attempt >= 2 || !await exists(target)) throw error;
      }
    }
    await syncDir(dir);
  } finally {
    await rm(tomb, { recursive: true, force: true }).catch(() => {});
  }
  for (const path of doomed) await rm(path, { recursive: true, force: true });
  return doomed.length > 0;
}

/**
 * Finishes what a crash left in a `.deleted-*` folder: a tombstone whose key
 * holds nothing is renamed into place; anything else is removed. A folder
 * of a key being deleted in this process is left alone.
 *
 * @param dir The storage folder, resolved.
 * @param name The folder's name in `dir`.
 * @returns Whether the folder was removed or put in place; `false` if it is
 * not a `.deleted-*` folder, was left alone, or is gone already.
 */
export async function sweepDeleted(
  dir: string,
  name: string,
): Promise<boolean> {
  if (!name.startsWith(".deleted-")) return false;
  const key = DELETED_FOLDER.exec(name)?.[1];
  if (key !== undefined && isBeingDeleted(dir, key)) return false;
  const path = join(dir, name);
  try {
    await lstat(path);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  if (
    key !== undefined && await exists(join(path, MARKER)) &&
    !await exists(join(dir, key))
  ) {
    try {
      await rename(path, join(dir, key));
      return true;
    } catch (error) {
      if (!await exists(join(dir, key))) throw error;
    }
  }
  await rm(path, { recursive: true, force: true });
  return true;
}
