/**
 * The lock files of {@linkcode fsStorage}'s multipart uploads:
 * `parts/{name}.lock` in an upload's folder, one per part being written and
 * one while completing, across processes too. A holder refreshes its lock
 * every 5 s whatever its body does, so only a crash leaves a lock untouched
 * for 30 s, which is then taken over; a holder removes only its own lock.
 *
 * @module
 */

import {
  type FileHandle,
  open,
  readFile,
  rm,
  stat,
  utimes,
} from "node:fs/promises";
import { join } from "node:path";
import { randomId } from "../_encoding.ts";
import { StorageConflictError } from "./mod.ts";
import { FILE_MODE, isMissing } from "./_fs.ts";

/** A lock untouched for this long is left from a crash. */
export const LOCK_STALE_MS = 30_000;
/** How often a held lock is refreshed. */
const LOCK_BEAT_MS = 5_000;

/**
 * Takes the lock `parts/{name}.lock`, taking over one that is stale.
 *
 * @param folder The upload's folder.
 * @param name The lock's name: a part's number, or `complete`.
 * @param key The storage key, for the error.
 * @returns Releases the lock.
 * @throws {StorageConflictError} If another writer holds it.
 */
export async function lock(
  folder: string,
  name: string,
  key: string,
): Promise<() => Promise<void>> {
  const path = join(folder, "parts", `${name}.lock`);
  const token = randomId();
  for (let attempt = 0; attempt < 2; attempt++) {
    let handle: FileHandle;
    try {
      handle = await open(path, "wx", FILE_MODE);
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      const staleIn = await freshFor(folder, name);
      if (attempt > 0 || staleIn > 0) {
        // A lock not refreshed for more than a beat and a half is likely a
        // crash's: it is over once stale. A live holder's end is not known.
        const crashed = LOCK_STALE_MS - staleIn > LOCK_BEAT_MS * 1.5;
        throw new StorageConflictError(
          `${key} ${name}`,
          crashed ? { retryAfter: Math.ceil(staleIn / 1000) + 1 } : {},
        );
      }
      await rm(path, { force: true });
      continue;
    }
    try {
      await handle.writeFile(token);
    } catch (error) {
      // A lock with no token (the disk filled up) would hold the part
      // until it went stale: it goes.
      await handle.close().catch(() => {});
      await rm(path, { force: true }).catch(() => {});
      throw error;
    }
    await handle.close();
    // Fresh for as long as it is held, so that only a crash leaves a lock
    // that looks stale, whatever the route's body timeout.
    const beat = setInterval(() => {
      const now = Date.now() / 1000;
      utimes(path, now, now).catch(() => {});
    }, LOCK_BEAT_MS);
    return async () => {
      clearInterval(beat);
      // A lock taken over (its holder stalled past LOCK_STALE_MS) is no
      // longer this one: it stays.
      const held = await readFile(path, "utf8").catch(() => undefined);
      if (held === token) await rm(path, { force: true });
    };
  }
  throw new StorageConflictError(`${key} ${name}`);
}

/**
 * How long `parts/{name}.lock` stays fresh: until it is refreshed again, or
 * until it counts as left by a crash.
 *
 * @param folder The upload's folder.
 * @param name The lock's name.
 * @param now The time to judge by, in milliseconds since the epoch.
 * @returns Milliseconds until the lock is stale; 0 for a stale or missing
 * lock.
 */
async function freshFor(
  folder: string,
  name: string,
  now: number = Date.now(),
): Promise<number> {
  try {
    const info = await stat(join(folder, "parts", `${name}.lock`));
    return Math.max(0, info.mtimeMs + LOCK_STALE_MS - now);
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
}

/**
 * Tells whether `parts/{name}.lock` exists and is fresh at `now`.
 *
 * @param folder The upload's folder.
 * @param name The lock's name.
 * @param now The time to judge by, in milliseconds since the epoch.
 * @returns `true` for a lock refreshed within {@linkcode LOCK_STALE_MS}.
 */
export async function isLocked(
  folder: string,
  name: string,
  now: number = Date.now(),
): Promise<boolean> {
  return await freshFor(folder, name, now) > 0;
}
