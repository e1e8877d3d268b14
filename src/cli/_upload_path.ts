/**
 * `fileurls upload` of a file by path: an upload in parts keeps a record
 * (`_resume.ts`) that a rerun resumes, and uploads that nothing can resume
 * are deleted at the API rather than left until they expire.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { quoteName } from "../_params.ts";
import type { Client } from "../client/client.ts";
import { ApiError } from "../client/errors.ts";
import type { UploadProgress, UploadResult } from "../client/types.ts";
import { codeOf, messageOf } from "./_output.ts";
import { openResume, type Resume } from "./_resume.ts";

/**
 * Uploads a file by path, resuming an upload of it that an earlier run left
 * unfinished, and keeping a record of a new one until it completes.
 */
export async function uploadPath(
  client: Client,
  path: string,
  resource: string,
  options: {
    name: string;
    partSize: number;
    concurrency: number;
    lifetime: number | undefined;
    resume: boolean;
    baseUrl: string;
    onProgress: (progress: UploadProgress) => void;
    onNote: (note: string) => void;
  },
): Promise<UploadResult> {
  // A file that goes in one PUT has nothing to resume.
  if (await fileSize(path) <= options.partSize) {
    return await client.files.uploadFile(path, resource, {
      name: options.name,
      partSize: options.partSize,
      lifetime: options.lifetime,
      onProgress: options.onProgress,
    });
  }
  const record = await openResume(path, options.baseUrl, {
    name: options.name,
    resource,
    lifetime: options.lifetime,
  });
  try {
    return await uploadRecorded(client, path, resource, options, record);
  } finally {
    await record.release();
  }
}

async function uploadRecorded(
  client: Client,
  path: string,
  resource: string,
  options: Parameters<typeof uploadPath>[3],
  record: Resume,
): Promise<UploadResult> {
  if (record.busy !== undefined) {
    options.onNote(
      `process ${record.busy} is uploading this file too: this upload cannot be resumed`,
    );
  }
  // An earlier upload this run will not resume is dropped at the API, rather
  // than kept until it expires.
  const dropped = options.resume
    ? record.otherUploadUrl
    : record.uploadUrl ?? record.otherUploadUrl;
  if (dropped !== undefined) {
    options.onNote(
      options.resume
        ? "an earlier upload had other options: starting over"
        : "dropping an earlier upload: starting over",
    );
    await record.forget();
    await abandon(dropped);
  }
  if (record.changedUploadUrls.length > 0) {
    options.onNote(
      "the file changed since an earlier upload: dropping it, starting over",
    );
    await Promise.all(record.changedUploadUrls.map(abandon));
  }
  const upload = (resume: string | undefined) =>
    client.files.uploadFile(path, resource, {
      name: options.name,
      partSize: options.partSize,
      lifetime: options.lifetime,
      concurrency: options.concurrency,
      resume,
      onProgress: (progress) => {
        const { uploadUrl } = progress;
        if (uploadUrl !== undefined && uploadUrl !== saved) {
          saved = uploadUrl;
          record.save(uploadUrl).catch(() => {});
        }
        options.onProgress(progress);
      },
    });
  let saved = options.resume ? record.uploadUrl : undefined;
  if (saved !== undefined) options.onNote("resuming an earlier upload");
  const resumeOrStart = async () => {
    try {
      return await upload(saved);
    } catch (error) {
      // An upload that is gone or expired cannot be resumed: start over.
      const gone = error instanceof ApiError &&
        (error.status === 404 || error.status === 403);
      if (saved === undefined || !gone || error.uploadUrl !== undefined) {
        throw error;
      }
      await record.forget();
      saved = undefined;
      options.onNote("the earlier upload is gone: starting over");
      return await upload(undefined);
    }
  };
  let result: UploadResult;
  try {
    result = await resumeOrStart();
  } catch (error) {
    // The record holds the upload, --no-resume or not: a rerun resumes it.
    if (
      saved !== undefined && record.busy === undefined &&
      error instanceof Object
    ) {
      kept.add(error);
    }
    // Another run holds the record: nothing can resume this upload, which
    // goes now rather than when it expires.
    const uploadUrl = (error as { uploadUrl?: string }).uploadUrl;
    if (record.busy !== undefined && uploadUrl !== undefined) {
      await abandon(uploadUrl);
    }
    throw error;
  }
  await record.forget();
  return result;
}

/** Failures of uploads whose record is kept, which a rerun resumes. */
const kept = new WeakSet<object>();

/**
 * Tells whether a failure of {@linkcode uploadPath} left a record that a
 * rerun of the same command resumes.
 *
 * @param error What it threw.
 * @returns `true` if the record keeps the upload.
 */
export function isResumable(error: unknown): boolean {
  return error instanceof Object && kept.has(error);
}

/**
 * Aborts an upload at the API, as far as it goes: it expires anyway.
 *
 * @param uploadUrl The upload's capability URL.
 */
export async function abandon(uploadUrl: string): Promise<void> {
  try {
    const answer = await fetch(uploadUrl, {
      method: "DELETE",
      signal: AbortSignal.timeout(10_000),
    });
    await answer.body?.cancel();
  } catch {
    // Unreachable, or gone already.
  }
}

async function fileSize(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = codeOf(error);
    throw new Error(
      `Cannot upload ${quoteName(path)}: ${
        code === "ENOENT" ? "no such file" : messageOf(error)
      }`,
    );
  }
  if (!info.isFile()) {
    throw new Error(`Cannot upload ${quoteName(path)}: not a file`);
  }
  return info.size;
}
