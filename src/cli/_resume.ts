/**
 * Resume records of `fileurls upload`: one small JSON file per file being
 * uploaded in parts, named for the file's path, size and modification time
 * and the API's base URL, holding the upload's capability URL. A rerun of
 * the same command finds it and sends only the missing parts; a changed file
 * (another size or time) finds none and starts over.
 *
 * Records live in `$FILEURLS_STATE_DIR`, else `$XDG_STATE_HOME/fileurls`,
 * else `~/.local/state/fileurls`, under `uploads/`, readable by the owner
 * only, since a capability URL works as a password for the upload.
 *
 * @module
 */

import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { encodeHex } from "../_encoding.ts";

/** The record of one file's upload. */
interface ResumeRecord {
  /** The upload's capability URL. */
  uploadUrl: string;
  /** The file, as an absolute path. */
  path: string;
  /** Its size, when the upload started. */
  size: number;
  /** Its modification time, in milliseconds, when the upload started. */
  mtimeMs: number;
  /** The API's base URL. */
  baseUrl: string;
}

/** Where the records of one file upload live, and how to use them. */
export interface Resume {
  /** The capability URL of an unfinished upload of this file, if any. */
  uploadUrl?: string;
  /** Keeps the capability URL of the upload that just started. */
  save(uploadUrl: string): Promise<void>;
  /** Forgets the upload: it completed, or cannot be resumed. */
  forget(): Promise<void>;
}

/**
 * The folder of the resume records.
 *
 * @returns Its absolute path.
 */
export function resumeDir(): string {
  const env = process.env;
  const base = env.FILEURLS_STATE_DIR ||
    join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "fileurls");
  return join(resolve(base), "uploads");
}

/**
 * Looks up the record of a file's unfinished upload to an API.
 *
 * @param path The file.
 * @param baseUrl The API's base URL.
 * @returns The record's upload URL, if one matches the file as it is now,
 * and how to keep or drop it.
 */
export async function openResume(
  path: string,
  baseUrl: string,
): Promise<Resume> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  const key = JSON.stringify([absolute, info.size, info.mtimeMs, baseUrl]);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  const dir = resumeDir();
  const file = join(dir, `${encodeHex(digest).slice(0, 32)}.json`);
  let uploadUrl: string | undefined;
  try {
    const record = JSON.parse(await readFile(file, "utf8")) as ResumeRecord;
    if (
      record.path === absolute && record.size === info.size &&
      record.mtimeMs === info.mtimeMs && record.baseUrl === baseUrl &&
      typeof record.uploadUrl === "string"
    ) {
      uploadUrl = record.uploadUrl;
    }
  } catch {
    // No record, or one that cannot be read: start over.
  }
  return {
    uploadUrl,
    async save(url) {
      const record: ResumeRecord = {
        uploadUrl: url,
        path: absolute,
        size: info.size,
        mtimeMs: info.mtimeMs,
        baseUrl,
      };
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(file, JSON.stringify(record), { mode: 0o600 });
    },
    async forget() {
      await rm(file, { force: true });
    },
  };
}
