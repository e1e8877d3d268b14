/**
 * One upload from start to end, whoever made its URLs: a file no larger than
 * one part (or of a stream that ends within one part) goes as one `PUT` with
 * an exact `Content-Length`; a larger one as a multipart upload where the
 * destination offers it; a multipart upload started before is resumed.
 *
 * @module
 */
import type {
  CreateFileUrlsParams,
  CreateUploadParams,
  FileResource,
  FileUrls,
  MultipartUpload,
  UploadedPart,
  UploadStatus,
} from "../api.ts";
import { checkUploadParams, quoteName } from "../_params.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import { compositeOf, getStatus, sendParts } from "./_multipart.ts";
import { single } from "./_single.ts";
import type { Transport } from "./_request.ts";
import { openSource, type Source } from "./_source.ts";
import { checkUrl } from "./_url.ts";
import { unlessAborted } from "./_retry.ts";
import type {
  FileContent,
  UploadOptions,
  UploadProgress,
  UploadResult,
} from "./types.ts";

/**
 * The part size when none is asked for: 5 MiB, S3's smallest. With four
 * parts at once, 8 MiB parts kept Deno's peak memory over 96 MiB
 * (`bench/upload.ts`), and smaller parts cost little speed on loopback.
 */
export const DEFAULT_PART_SIZE = 5 * 1024 ** 2;
/** The parts sent at once when no `concurrency` is asked for. */
export const DEFAULT_CONCURRENCY = 4;

/** Where a file goes: the URLs of a single `PUT`, or a multipart upload. */
export interface Destination {
  /** The resource, for the API's checks. */
  resource: FileResource;
  /** URLs for one `PUT`; absent where only multipart is offered. */
  single?(params: CreateFileUrlsParams, action: string): Promise<FileUrls>;
  /**
   * Starts a multipart upload; `undefined` where the API has none, or
   * absent where only a single `PUT` is offered.
   */
  multipart?(
    params: CreateUploadParams,
    action: string,
  ): Promise<MultipartUpload | undefined>;
  /**
   * A multipart upload started elsewhere: its state is read first, as on
   * resume, and only what it lacks is sent.
   */
  started?: MultipartUpload;
  /** The state of the upload `options.resume` names, if read already. */
  status?: UploadStatus;
}

/**
 * Uploads a file to a destination, or resumes the multipart upload that
 * `options.resume` names.
 *
 * @param transport The transport every request goes through.
 * @param file What to upload.
 * @param destination Where it goes.
 * @param options Name, type, signal, progress, part size, concurrency,
 * resume.
 * @returns The uploaded file.
 */
export async function uploadFile(
  transport: Transport,
  file: FileContent,
  destination: Destination,
  options: UploadOptions,
): Promise<UploadResult> {
  const partSize = positive(options.partSize ?? DEFAULT_PART_SIZE, "partSize");
  const concurrency = positive(
    options.concurrency ?? DEFAULT_CONCURRENCY,
    "concurrency",
  );
  if (options.resume !== undefined) {
    checkUrl(options.resume, "resume", "Cannot upload");
  }
  options.signal?.throwIfAborted();
  const source = await openSource(file, options);
  let settled = false;
  const report = (progress: UploadProgress) => {
    if (!settled) options.onProgress?.(progress);
  };
  const upload: Upload = {
    transport,
    source,
    destination,
    options,
    partSize,
    concurrency,
    report,
    action: `Cannot upload ${quoteName(source.name)}`,
  };
  try {
    if (options.resume !== undefined) {
      return await resume(upload, options.resume, destination.status);
    }
    if (destination.started !== undefined) {
      checkUrl(destination.started.upload_url, "upload_url", upload.action);
      return await resume(upload, destination.started.upload_url);
    }
    let head: Uint8Array | undefined;
    if (source.size === undefined) {
      // A stream: one part tells whether it fits in a single PUT.
      head = await unlessAborted(source.next!(partSize), options.signal);
      const more = head.byteLength < partSize
        ? new Uint8Array(0)
        : await unlessAborted(source.next!(1), options.signal);
      if (more.byteLength === 0) {
        return await single(upload, head);
      }
      source.unshift!(more);
      source.unshift!(head);
    } else if (source.size <= partSize || !destination.multipart) {
      return await single(upload);
    }
    return await multipart(upload);
  } finally {
    settled = true;
    // A source stalled in a read may never close (an async generator
    // waiting): after an abort, it is not waited for.
    const closing = source.close();
    if (options.signal?.aborted) closing.catch(() => {});
    else await closing;
  }
}

/** One upload under way: what every step of it needs. */
export interface Upload {
  transport: Transport;
  source: Source;
  destination: Destination;
  options: UploadOptions;
  partSize: number;
  concurrency: number;
  report(progress: UploadProgress): void;
  action: string;
}

/** A multipart upload: started here, or by `destination`. */
async function multipart(upload: Upload): Promise<UploadResult> {
  const { source, destination, action } = upload;
  const params = checkUploadParams({
    name: source.name,
    size: source.size ?? null,
    resource: destination.resource,
    mime_type: source.type,
    part_size: upload.partSize,
  }, action);
  const started = await destination.multipart!(params, action);
  if (started === undefined) {
    // An API without multipart uploads takes the whole file in one PUT.
    return await single({
      ...upload,
      destination: { ...destination, multipart: undefined },
    });
  }
  checkUrl(started.upload_url, "upload_url", action);
  return await sendAll(
    upload,
    started.upload_url,
    started.id,
    started.part_size,
    new Map(),
  );
}

/** Resumes a multipart upload: only the parts the API lacks are sent. */
async function resume(
  upload: Upload,
  uploadUrl: string,
  known?: UploadStatus,
): Promise<UploadResult> {
  const { transport, source, action, options } = upload;
  const status = known ??
    await readStatus(transport, uploadUrl, action, options.signal);
  if (
    source.size !== undefined && status.size !== null &&
    source.size !== status.size
  ) {
    throw new FileUrlsError(
      `${action}: the file has ${source.size} bytes, but the upload was started for ${status.size}`,
    );
  }
  if (status.state === "complete") {
    // Done already, but with these bytes? The file's parts must have the
    // completed file's composite SHA-256.
    const actual = await compositeOf(source, status.part_size, options.signal);
    if (status.sha256 !== undefined && actual !== status.sha256) {
      throw new FileUrlsError(
        `${action}: the upload was completed with other bytes (SHA-256 of parts ${status.sha256}, this file's ${actual})`,
      );
    }
    upload.report({
      loaded: status.size ?? 0,
      total: status.size ?? 0,
      uploadUrl,
      id: status.id,
    });
    return completedResult(status);
  }
  const stored = new Map<number, UploadedPart>(
    status.parts.map((part) => [part.number, part]),
  );
  return await sendAll(upload, uploadUrl, status.id, status.part_size, stored);
}

async function sendAll(
  upload: Upload,
  uploadUrl: string,
  id: string,
  partSize: number,
  stored: Map<number, UploadedPart>,
): Promise<UploadResult> {
  const { transport, source, action, options, report } = upload;
  const total = source.size;
  report({ loaded: 0, total, uploadUrl, id });
  let acknowledged = 0;
  try {
    const completed = await sendParts(transport, source, {
      uploadUrl,
      partSize,
      stored,
      concurrency: upload.concurrency,
      action,
      signal: options.signal,
      onAcknowledged: (loaded) => {
        acknowledged = loaded;
        report({ loaded, total, uploadUrl, id });
      },
      onRetry: (part, attempt, reason, delay) =>
        report({
          loaded: acknowledged,
          total,
          uploadUrl,
          id,
          retry: {
            attempt,
            reason,
            ...(part === undefined ? {} : { part }),
            delay,
          },
        }),
    });
    report({ loaded: completed.size, total: completed.size, uploadUrl, id });
    return {
      downloadUrl: completed.download_url,
      id: completed.id,
      name: completed.name,
      size: completed.size,
      mimeType: completed.mime_type,
      sha256: completed.sha256,
      multipart: true,
    };
  } catch (error) {
    if (options.signal?.aborted) {
      // Aborted: nothing partial may stay behind. An abort that came after
      // the API had completed the upload (its answer lost to the abort)
      // finds the file whole: it is not hidden from the caller.
      const refused = await transport.delete(uploadUrl, {
        action: `${action}: cannot abort`,
      }).then(() => undefined, (error) => error);
      if (refused instanceof ApiError && refused.status === 409) {
        const status = await getStatus(transport, uploadUrl, action)
          .catch(() => undefined);
        if (status?.state === "complete") {
          const size = status.size ?? 0;
          report({ loaded: size, total: size, uploadUrl, id });
          return completedResult(status);
        }
      }
      throw options.signal.reason;
    }
    if (error instanceof ApiError && error.status === 413) {
      // Over the API's limit: the upload can never complete, so it is
      // deleted rather than kept for a resume.
      await transport.delete(uploadUrl, { action: `${action}: cannot abort` })
        .catch(() => {});
      throw error;
    }
    if (error instanceof FileUrlsError) error.uploadUrl = uploadUrl;
    throw error;
  }
}

/**
 * Asks a multipart upload's state at its capability URL, as a resume does.
 *
 * @param transport Sends the request.
 * @param uploadUrl The capability URL.
 * @param action What is being done, for messages.
 * @param signal Aborts the request.
 * @returns The state.
 * @throws {FileUrlsError} If the URL wants an API key (401): it is not a
 * multipart upload's `upload_url`.
 */
export async function readStatus(
  transport: Transport,
  uploadUrl: string,
  action: string,
  signal?: AbortSignal,
): Promise<UploadStatus> {
  return await getStatus(transport, uploadUrl, action, signal).catch(
    (error) => {
      // A capability URL is asked without a key: one that wants a key is
      // the wrong URL (an upload URL of one PUT, say), not too few
      // credentials.
      if (error instanceof ApiError && error.status === 401) {
        throw new FileUrlsError(
          `${action}: the URL is not a multipart upload's upload_url (asked for its state, the API answered 401); for one PUT, pass the whole answer of POST /files/urls`,
          { cause: error },
        );
      }
      throw error;
    },
  );
}

/** What an upload found complete at the API resolves with. */
function completedResult(status: UploadStatus): UploadResult {
  return {
    downloadUrl: status.download_url,
    id: status.id,
    name: status.name,
    size: status.size ?? 0,
    mimeType: status.mime_type,
    ...(status.sha256 === undefined ? {} : { sha256: status.sha256 }),
    multipart: true,
  };
}

function positive(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot upload: ${option} must be a positive whole number, got ${value}`,
    );
  }
  return value;
}
