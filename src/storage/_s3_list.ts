/**
 * One page of the stored files of `s3Storage`: `ListObjectsV2` under the
 * prefix from the cursor on, then one `HeadObject` per file id listed, for
 * its metadata. Nothing but the page is kept in memory.
 *
 * @module
 */

import type { ListOptions, StoredFile, StoredFileList } from "./mod.ts";
import { DELETED_SUFFIX, statFile } from "./_s3_manage.ts";
import * as s3 from "./_s3_request.ts";
import { xmlElements, xmlText } from "../_xml.ts";

/** A file id of the route: the only keys that `list()` shows. */
const FILE_ID = /^[A-Za-z0-9_-]{22}$/;

/** The characters of a file id, in ASCII (and so S3's) order. */
const ALPHABET =
  "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/** How many `HeadObject` requests a page sends at once. */
const PARALLEL = 8;

/** The most keys S3 lists in one answer. */
const MAX_KEYS = 1000;

/**
 * The most `ListObjectsV2` requests a page sends to get past keys that are
 * not file ids (other objects under the prefix).
 */
const MAX_LISTS = 10;

/**
 * Lists one page of confirmed files, newest first.
 *
 * @param config The options.
 * @param options The resource to keep, the page size, and the cursor.
 * @returns The page, and the cursor of the next one.
 * @throws {TypeError} If the cursor is not a file id.
 * @throws {RangeError} If the limit is not a whole number from 1.
 * @throws {Error} For an error answer of S3.
 */
export async function listFiles(
  config: s3.S3Config,
  options: ListOptions,
): Promise<StoredFileList> {
  const action = `Cannot list the files under "${config.prefix}" in S3`;
  const { resource, limit, cursor } = options ?? {};
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `${action}: limit must be a whole number from 1, got ${limit}`,
    );
  }
  if (
    cursor !== undefined &&
    (typeof cursor !== "string" || !FILE_ID.test(cursor))
  ) {
    throw new TypeError(
      `${action}: the cursor is not a file id: ${JSON.stringify(cursor)}`,
    );
  }
  if (resource !== undefined && typeof resource !== "string") {
    throw new TypeError(`${action}: resource must be a string`);
  }
  // Room for a marker per file, and for the file id held back below.
  const maxKeys = Math.min(MAX_KEYS, 2 * limit + 1);
  const files: StoredFile[] = [];
  let after = cursor;
  for (let lists = 1;; lists++) {
    const { keys, truncated } = await listKeys(config, after, maxKeys, action);
    // A file's marker sorts right after it: leave a file id that ends a
    // truncated answer to the next page, which lists its marker too.
    if (truncated && keys.length > 1 && FILE_ID.test(keys.at(-1)!)) keys.pop();
    const marked = new Set(
      keys.filter((key) => key.endsWith(DELETED_SUFFIX)).map((key) =>
        key.slice(0, -DELETED_SUFFIX.length)
      ),
    );
    const looked = keys.flatMap((key, i) =>
      FILE_ID.test(key) && !marked.has(key) ? [i] : []
    );
    for (let start = 0; start < looked.length; start += PARALLEL) {
      const batch = looked.slice(start, start + PARALLEL);
      const found = await Promise.all(
        batch.map((i) => statFile(config, keys[i])),
      );
      for (const [j, file] of found.entries()) {
        if (file === undefined) continue;
        if (resource !== undefined && file.resource !== resource) continue;
        files.push(file);
        if (files.length === limit) {
          const more = truncated || batch[j] < keys.length - 1;
          return { files, cursor: more ? keys[batch[j]] : undefined };
        }
      }
    }
    if (!truncated) return { files, cursor: undefined };
    const last = keys.at(-1);
    if (last === undefined) {
      throw new Error(`${action}: S3 answered a truncated list without keys`);
    }
    // The next page lists the file ids after the last key looked at.
    const next = idAtMost(last);
    if (next !== undefined && (cursor === undefined || next > cursor)) {
      return { files, cursor: next };
    }
    if (lists === MAX_LISTS) {
      throw new Error(
        `${action}: more than ${
          MAX_LISTS * maxKeys
        } keys in a row are no file ids; keep the prefix for fileurls alone`,
      );
    }
    after = last;
  }
}

/**
 * One `ListObjectsV2` answer: the keys under the prefix (without it) after
 * `after`, in S3's (UTF-8 byte) order.
 */
async function listKeys(
  config: s3.S3Config,
  after: string | undefined,
  maxKeys: number,
  action: string,
): Promise<{ keys: string[]; truncated: boolean }> {
  const url = new URL(config.base);
  url.searchParams.set("list-type", "2");
  url.searchParams.set("prefix", config.prefix);
  url.searchParams.set("max-keys", String(maxKeys));
  if (after !== undefined) {
    url.searchParams.set("start-after", config.prefix + after);
  }
  const answer = await s3.s3Request(config, action, "GET", url);
  if (answer.error) throw s3.s3Failure(action, answer);
  const keys: string[] = [];
  for (const element of xmlElements(answer.text, "Contents")) {
    const key = xmlText(element, "Key");
    if (key?.startsWith(config.prefix) && key !== config.prefix) {
      keys.push(key.slice(config.prefix.length));
    }
  }
  return { keys, truncated: xmlText(answer.text, "IsTruncated") === "true" };
}

/**
 * The largest string of 22 file-id characters at or before `key`: a cursor
 * from which no file id after `key` is missed, and none before it is seen
 * again.
 *
 * @param key A key under the prefix, without it.
 * @returns The cursor, or `undefined` if `key` sorts before every file id.
 */
export function idAtMost(key: string): string | undefined {
  let same = 0;
  while (same < 22 && same < key.length && ALPHABET.includes(key[same])) {
    same++;
  }
  if (same === 22) return key.slice(0, 22);
  // Lower the first character that differs from every file id (or, if
  // there is none below it, one before it), and fill up with the largest.
  for (let i = same; i >= 0; i--) {
    if (i === key.length) continue;
    const lower = [...ALPHABET].reverse().find((char) => char < key[i]);
    if (lower !== undefined) {
      return key.slice(0, i) + lower + "z".repeat(21 - i);
    }
  }
  return undefined;
}
