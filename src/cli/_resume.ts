/**
 * Resume records of `fileurls upload`: one small JSON file per file being
 * uploaded in parts, named for the file's path, size and modification time
 * (whole milliseconds, as every runtime tells them) and the API's base URL,
 * holding the upload's capability URL and the options it was started with
 * (name, resource, lifetime). A rerun of the same command finds it and sends
 * only the missing parts; a changed file (another size or time) finds none
 * and starts over, and so does a rerun with other options; the earlier
 * upload of a file that changed is handed back to be dropped. While a run
 * uploads a file, a lock file beside the record keeps a second run off it:
 * that run uploads the file on its own, with no record.
 *
 * Records live in `$FILEURLS_STATE_DIR`, else `$XDG_STATE_HOME/fileurls`,
 * else `~/.local/state/fileurls`, under `uploads/`, readable by the owner
 * only, since a capability URL works as a password for the upload.
 *
 * @module
 */

import {
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
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
  /** The options the upload was started with. */
  options?: ResumeOptions;
}

/** The options an upload keeps from its start: a resumed one must match. */
export interface ResumeOptions {
  /** The file's name in the API. */
  name: string;
  /** The resource. */
  resource: string;
  /** The lifetime asked for, in seconds, if any. */
  lifetime?: number;
}

/** Where the records of one file upload live, and how to use them. */
export interface Resume {
  /** The capability URL of an unfinished upload of this file, if any. */
  uploadUrl?: string;
  /**
   * The capability URL of an unfinished upload of this file started with
   * other options, which cannot be resumed.
   */
  otherUploadUrl?: string;
  /**
   * The capability URLs of unfinished uploads of this path to this API
   * made before the file changed (another size or time), which cannot be
   * resumed. Their records are gone once this is read.
   */
  changedUploadUrls: string[];
  /** Keeps the capability URL of the upload that just started. */
  save(uploadUrl: string): Promise<void>;
  /** Forgets the upload: it completed, or cannot be resumed. */
  forget(): Promise<void>;
  /** Lets another run upload this file. */
  release(): Promise<void>;
  /**
   * The process id of another run uploading this file, if one is: then
   * this run has no record, and keeps none.
   */
  busy?: number;
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
 * Looks up the record of a file's unfinished upload to an API, and keeps
 * other runs off the file until {@linkcode Resume.release}.
 *
 * @param path The file.
 * @param baseUrl The API's base URL.
 * @param options The options of this run's upload.
 * @returns The record's upload URL, if one matches the file as it is now
 * and the options, and how to keep or drop it.
 */
export async function openResume(
  path: string,
  baseUrl: string,
  options: ResumeOptions,
): Promise<Resume> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  // Deno tells whole milliseconds, Node and Bun fractions of them.
  const mtimeMs = Math.floor(info.mtimeMs);
  const key = JSON.stringify([absolute, info.size, mtimeMs, baseUrl]);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  const dir = resumeDir();
  const file = join(dir, `${encodeHex(digest).slice(0, 32)}.json`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const busy = await lock(`${file}.lock`);
  if (busy !== undefined) {
    const none = () => Promise.resolve();
    return {
      busy,
      changedUploadUrls: [],
      save: none,
      forget: none,
      release: none,
    };
  }
  held.add(`${file}.lock`);
  const kept = {
    name: options.name,
    resource: options.resource,
    ...(options.lifetime === undefined ? {} : { lifetime: options.lifetime }),
  };
  let uploadUrl: string | undefined;
  let otherUploadUrl: string | undefined;
  try {
    const record = JSON.parse(await readFile(file, "utf8")) as ResumeRecord;
    if (
      record.path === absolute && record.size === info.size &&
      record.mtimeMs === mtimeMs && record.baseUrl === baseUrl &&
      typeof record.uploadUrl === "string"
    ) {
      if (JSON.stringify(record.options) === JSON.stringify(kept)) {
        uploadUrl = record.uploadUrl;
      } else {
        otherUploadUrl = record.uploadUrl;
      }
    }
  } catch {
    // No record, or one that cannot be read: start over.
  }
  return {
    uploadUrl,
    otherUploadUrl,
    changedUploadUrls: await takeChanged(dir, file, absolute, baseUrl),
    async save(url) {
      const record: ResumeRecord = {
        uploadUrl: url,
        path: absolute,
        size: info.size,
        mtimeMs,
        baseUrl,
        options: kept,
      };
      await writeFile(file, JSON.stringify(record), { mode: 0o600 });
    },
    async forget() {
      await rm(file, { force: true });
    },
    async release() {
      held.delete(`${file}.lock`);
      await rm(`${file}.lock`, { force: true });
    },
  };
}

/** The lock files this process holds. */
const held = new Set<string>();

/**
 * Lets other runs upload the files this process uploads: for an exit that
 * does not wait for each upload's end (Ctrl-C), so that no lock is left
 * with this process's id, which another process may later have.
 */
export async function releaseAll(): Promise<void> {
  const paths = [...held];
  held.clear();
  await Promise.all(paths.map((path) => rm(path, { force: true })));
}

/**
 * Takes the records of earlier uploads of `path` to `baseUrl` other than
 * `file`'s, made before the file changed, that no running process holds:
 * their upload URLs, the records removed.
 */
async function takeChanged(
  dir: string,
  file: string,
  path: string,
  baseUrl: string,
): Promise<string[]> {
  const urls: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const other = join(dir, name);
    if (!name.endsWith(".json") || other === file) continue;
    let record: ResumeRecord;
    try {
      record = JSON.parse(await readFile(other, "utf8"));
    } catch {
      continue;
    }
    if (
      record.path !== path || record.baseUrl !== baseUrl ||
      typeof record.uploadUrl !== "string"
    ) {
      continue;
    }
    // An upload of the file as it was, still under way in another run.
    if (await lock(`${other}.lock`) !== undefined) continue;
    await rm(other, { force: true });
    await rm(`${other}.lock`, { force: true });
    urls.push(record.uploadUrl);
  }
  return urls;
}

/**
 * Takes the lock file of a record: it holds the process id of the run that
 * uploads the file. A lock whose process is gone is taken over.
 *
 * @returns `undefined` once taken, else the id of the process holding it.
 */
async function lock(path: string): Promise<number | undefined> {
  for (let attempt = 0;; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: "wx", mode: 0o600 });
      return undefined;
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    const pid = Number(await readFile(path, "utf8").catch(() => ""));
    if (attempt > 0 || await isRunning(pid)) return pid;
    await rm(path, { force: true });
  }
}

async function isRunning(pid: number): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: running, as another user.
    if ((error as { code?: string }).code !== "EPERM") return false;
  }
  // A process killed but not yet reaped by its parent (a zombie) still
  // takes signals: on Linux, its state tells that it has ended.
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
  return state !== "Z" && state !== "X";
}
