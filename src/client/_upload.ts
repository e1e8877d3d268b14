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
import { checkCreateParams, checkUploadParams, quoteName } from "../_params.ts";
import { runtime } from "../_runtime.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import { compositeOf, getStatus, sendParts } from "./_multipart.ts";
import { retryReason, type Transport } from "./_request.ts";
import { requiredHeaders } from "./_required_headers.ts";
import { openSource, type Source } from "./_source.ts";
import { checkFileUrls, checkUrl } from "./_url.ts";
import { readJson } from "./_body.ts";
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
      return await resume(upload, options.resume);
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

interface Upload {
  transport: Transport;
  source: Source;
  destination: Destination;
  options: UploadOptions;
  partSize: number;
  concurrency: number;
  report(progress: UploadProgress): void;
  action: string;
}

/** One `PUT` of the whole file (of `bytes`, a stream's only part). */
async function single(
  upload: Upload,
  bytes?: Uint8Array,
): Promise<UploadResult> {
  const { source, destination, action, transport, report } = upload;
  const { signal } = upload.options;
  if (!destination.single) {
    return await multipart(upload);
  }
  const data = bytes ?? await source.whole();
  const total = data instanceof Blob ? data.size : data.byteLength;
  const params = checkCreateParams({
    name: source.name,
    size: total,
    resource: destination.resource,
    mime_type: source.type,
  }, action);
  const urls = await destination.single(params, action);
  checkFileUrls(urls, action);
  const completeUrl = urls.complete_url;
  if (completeUrl !== undefined) checkUrl(completeUrl, "complete_url", action);
  report({ loaded: 0, total });
  const answer = await transport.send(
    urls.upload_url,
    (_attempt, touch) => ({
      method: "PUT",
      headers: {
        ...requiredHeaders(urls.upload_url),
        "content-type": source.type,
        "content-length": String(total),
      },
      ...singleBody(data, total, touch, (loaded) => report({ loaded, total })),
    }),
    // The bytes are stored: only an answer over the limit fails the upload.
    (response) =>
      readJson(response, action).catch((error) => {
        if (error instanceof FileUrlsError) throw error;
      }) as Promise<Stored | undefined>,
    {
      action,
      signal,
      onRetry: (attempt, reason) =>
        report({
          loaded: 0,
          total,
          retry: { attempt, reason: retryReason(reason) },
        }),
    },
  ).catch(async (error) => {
    // Refused because the file is there (409 from the route, 412 from a
    // bucket with conditional writes): an earlier attempt stored it and its
    // answer was lost, to a retry of ours or to a runtime that sent the
    // request again by itself on a connection that closed. Done, if what is
    // stored is exactly these bytes.
    if (
      error instanceof ApiError &&
      (error.status === 409 || error.status === 412) &&
      await isStored(transport, urls.download_url, data, action, signal)
    ) {
      return undefined;
    }
    throw error;
  });
  // A storage the bytes went to directly (S3) holds them unrecorded until
  // the API has checked them.
  const completed = completeUrl === undefined
    ? undefined
    : await complete(transport, completeUrl, action, signal);
  report({ loaded: total, total });
  // What the API says it stored: the URLs may have been made elsewhere for
  // another name than the file's own (uploadTo).
  const said = (field: keyof Stored) =>
    [completed?.[field], answer?.[field]].find((value) =>
      typeof value === "string"
    ) as string | undefined;
  const id = said("id") ?? (typeof urls.id === "string" ? urls.id : undefined);
  return {
    downloadUrl: urls.download_url,
    ...(id === undefined ? {} : { id }),
    name: said("name") ?? source.name,
    size: total,
    mimeType: said("mime_type") ?? source.type,
    multipart: false,
  };
}

/** The fields of a stored file an answer to a single upload may carry. */
interface Stored {
  id?: unknown;
  name?: unknown;
  mime_type?: unknown;
}

/**
 * Confirms a single upload: `POST {complete_url}`, without a body or the
 * API key, retried as every request is.
 */
async function complete(
  transport: Transport,
  url: string,
  action: string,
  signal: AbortSignal | undefined,
): Promise<Stored | undefined> {
  const answer = await transport.post(url, undefined, {
    action: `${action}: cannot complete the upload`,
    signal,
  });
  return typeof answer === "object" && answer !== null
    ? answer as Stored
    : undefined;
}

/**
 * Tells whether the file at `downloadUrl` is exactly `data`, reading both
 * side by side, never more than one chunk of each at a time.
 */
async function isStored(
  transport: Transport,
  downloadUrl: string,
  data: Blob | Uint8Array,
  action: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const size = data instanceof Blob ? data.size : data.byteLength;
  try {
    return await transport.send(
      downloadUrl,
      () => ({ method: "GET" }),
      async (response) => {
        const reader = response.body?.getReader();
        let offset = 0;
        try {
          while (reader !== undefined) {
            const { done, value } = await reader.read();
            if (done) break;
            const end = offset + value.byteLength;
            if (end > size) return false;
            const sent = data instanceof Blob
              ? new Uint8Array(await data.slice(offset, end).arrayBuffer())
              : data.subarray(offset, end);
            for (let i = 0; i < value.byteLength; i++) {
              if (value[i] !== sent[i]) return false;
            }
            offset = end;
          }
          return offset === size;
        } finally {
          await reader?.cancel().catch(() => {});
        }
      },
      { action, signal },
    );
  } catch (error) {
    if (signal?.aborted) throw error;
    return false;
  }
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
): Promise<UploadResult> {
  const { transport, source, action, options } = upload;
  const status = await getStatus(transport, uploadUrl, action, options.signal);
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
      onRetry: (part, attempt, reason) =>
        report({
          loaded: acknowledged,
          total,
          uploadUrl,
          id,
          retry: { attempt, reason, part },
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
    if (error instanceof FileUrlsError) error.uploadUrl = uploadUrl;
    throw error;
  }
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

/**
 * The body of one single-`PUT` attempt. Bun and Node send a stream with a
 * hand-set `Content-Length` as exactly that many bytes, so there the bytes
 * are streamed, to report progress and keep the timeout counting silence.
 * Elsewhere (Deno, workerd, browsers) a stream would go chunked, so the Blob
 * or bytes go as they are, which every `fetch` sends with an exact length.
 * Zero bytes go as an empty array: an empty Blob goes chunked on Deno.
 */
function singleBody(
  data: Blob | Uint8Array,
  total: number,
  touch: () => void,
  onSent: (loaded: number) => void,
): { body: BodyInit; duplex?: "half" } {
  if (total === 0) return { body: new Uint8Array(0) };
  const where = runtime();
  if (where !== "bun" && where !== "node") {
    return { body: data as BodyInit };
  }
  const source = data instanceof Blob ? data : new Blob([data as BlobPart]);
  let loaded = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      touch();
      controller.enqueue(chunk);
      loaded += chunk.byteLength;
      if (loaded < total) onSent(loaded);
    },
  });
  return { body: source.stream().pipeThrough(counter), duplex: "half" };
}

function positive(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot upload: ${option} must be a positive whole number, got ${value}`,
    );
  }
  return value;
}
