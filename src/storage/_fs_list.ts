/**
 * Listing the file storage's folder a page at a time, in bounded memory.
 *
 * The folder is streamed with `opendir` (never read whole), and only the
 * smallest keys after the cursor are kept, in a heap of a fixed size; then
 * their `meta.json` files are read in key order. Names that are not keys
 * (`.partial-*`, `.upload-*`, `.deleted-*`, anything else) are skipped, and
 * so are folders without `meta.json` (tombstones of deleted files). When
 * that leaves the page short, the scan goes on after the last key looked
 * at, for a few rounds at most; then a short page is answered, with a
 * cursor.
 *
 * @module
 */

import { opendir } from "node:fs/promises";
import type { ListOptions, StoredFile, StoredFileList } from "./mod.ts";
import { isKey } from "./_common.ts";
import { isMissing, readMeta } from "./_fs.ts";
import { checkListOptions, SmallestKeys } from "./_list.ts";

/** The fewest keys picked per scan of the folder. */
const MIN_BATCH = 100;
/** The most scans of the folder per page. */
const MAX_ROUNDS = 4;

/**
 * One page of the files stored in `dir`, ascending by key.
 *
 * Each scan of the folder keeps `max(limit, 100)` keys, and a page scans it
 * four times at most: memory stays in proportion to `limit`, and a page
 * reads at most `4 × max(limit, 100)` metadata files, however many files
 * the folder holds or the resource filter leaves out.
 *
 * @param dir The storage folder, resolved.
 * @param options The resource to keep, the page size and where to start.
 * @returns The page; its `cursor` is the last key looked at when more may
 * follow, else `undefined`.
 * @throws {RangeError} If `limit` is not a positive integer.
 * @throws {TypeError} If `cursor` is not a storage key.
 */
export async function listFolder(
  dir: string,
  options: ListOptions,
): Promise<StoredFileList> {
  checkListOptions(options);
  const { resource, limit } = options;
  const batch = Math.max(limit, MIN_BATCH);
  const files: StoredFile[] = [];
  let after = options.cursor;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const smallest = new SmallestKeys(batch);
    await scan(dir, after, smallest);
    const keys = smallest.sorted();
    for (let i = 0; i < keys.length; i++) {
      after = keys[i];
      const file = await readMeta(dir, after);
      if (file === undefined) continue;
      if (resource !== undefined && file.resource !== resource) continue;
      files.push(file);
      if (files.length === limit) {
        const more = i < keys.length - 1 || smallest.dropped;
        return { files, cursor: more ? after : undefined };
      }
    }
    if (!smallest.dropped) return { files, cursor: undefined };
  }
  return { files, cursor: after };
}

/**
 * Offers every key in `dir` after `after` to `smallest`, streaming the
 * folder. A folder not made yet holds none.
 */
async function scan(
  dir: string,
  after: string | undefined,
  smallest: SmallestKeys,
): Promise<void> {
  let folder;
  try {
    folder = await opendir(dir);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  // Iterating closes the folder at the end, or on an error.
  for await (const entry of folder) {
    const name = entry.name;
    if (!isKey(name) || (after !== undefined && name <= after)) continue;
    smallest.offer(name);
  }
}
