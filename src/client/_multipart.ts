/**
 * Sends a file to a multipart upload: parts read one at a time from the
 * source, hashed with SHA-256, signed, and sent `concurrency` at a time with
 * an exact `Content-Length` each; parts the API already holds (on resume)
 * are checked and skipped; then the upload is completed and the API's
 * checksum of the whole file is checked against the client's own.
 *
 * Memory holds at most `concurrency + 1` parts, whatever the file's size.
 *
 * @module
 */
import type {
  CompletedUpload,
  PartUrls,
  UploadedPart,
  UploadStatus,
} from "../api.ts";
import { streamsExactBodies } from "../_runtime.ts";
import { compositeSha256, sha256Base64 } from "../_sha256.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import { retryReason, type Transport } from "./_request.ts";
import { requiredHeaders } from "./_required_headers.ts";
import type { Source } from "./_source.ts";
import { nodeFetch } from "./_node_http.ts";
import { checkUrl } from "./_url.ts";
import { unlessAborted } from "./_retry.ts";

/** What a multipart send needs besides the source. */
export interface MultipartSend {
  /** The upload's capability URL. */
  uploadUrl: string;
  /** The part size the API chose. */
  partSize: number;
  /** Parts the API holds already, by number. */
  stored: Map<number, UploadedPart>;
  /** Parts sent at once. */
  concurrency: number;
  /** What is being done, for messages: `Cannot upload "a.bin"`. */
  action: string;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** Called with the bytes the API has acknowledged so far. */
  onAcknowledged(loaded: number): void;
  /**
   * Called when a part is to be sent again (its number), or the completion
   * (`undefined`): the attempt, why, and the milliseconds until then.
   */
  onRetry?(
    part: number | undefined,
    attempt: number,
    reason: string,
    delay: number,
  ): void;
}

/** Bytes per chunk of a part body sent as a stream. */
const STREAM_CHUNK = 256 * 1024;

/**
 * Sends every part that the API does not hold yet, then completes.
 *
 * @param transport The client's transport.
 * @param source The file.
 * @param send The upload and how to send to it.
 * @returns The completed upload, its checksum checked.
 * @throws {FileUrlsError} If a request fails, or the API's checksum of the
 * file differs from the parts the client sent.
 */
export async function sendParts(
  transport: Transport,
  source: Source,
  send: MultipartSend,
): Promise<CompletedUpload> {
  const { partSize, stored, action } = send;
  const stop = new AbortController();
  const signal = send.signal
    ? AbortSignal.any([send.signal, stop.signal])
    : stop.signal;
  const digests: string[] = [];
  let acknowledged = 0;
  let nextNumber = 1;
  let ended = false;
  // One-way sources are read in order, one part at a time.
  let reading: Promise<unknown> = Promise.resolve();

  // Each worker reads its parts into a buffer of its own, used again and
  // again: memory holds `concurrency` parts, whatever the file's size.
  async function take(
    into: Uint8Array,
  ): Promise<[number, Uint8Array] | undefined> {
    if (source.readAt) {
      const number = nextNumber++;
      const bytes = await unlessAborted(
        readPart(source, number, partSize, into),
        signal,
      );
      return bytes === undefined ? undefined : [number, bytes];
    }
    const turn = reading.then(async () => {
      if (ended) return undefined;
      const bytes = (await readPart(source, nextNumber, partSize, into))!;
      if (bytes.byteLength < partSize) ended = true;
      if (bytes.byteLength === 0) return undefined;
      return [nextNumber++, bytes] as [number, Uint8Array];
    });
    reading = turn.catch(() => {});
    // A source that stalls holds the next reads, not an abort.
    return await unlessAborted(turn, signal);
  }

  async function worker(): Promise<void> {
    let buffer: Uint8Array | undefined;
    while (!signal.aborted) {
      buffer ??= new Uint8Array(partSize);
      const next = await take(buffer);
      if (next === undefined) return;
      const [number, bytes] = next;
      const sha256 = await sha256Base64(bytes as Uint8Array<ArrayBuffer>);
      digests[number - 1] = sha256;
      const held = stored.get(number);
      if (held?.sha256 !== sha256 || held.size !== bytes.byteLength) {
        const part = { number, size: bytes.byteLength, sha256 };
        await sendPart(transport, send, part, bytes, signal);
      }
      // A byte stream read into the buffer hands back its memory in another
      // ArrayBuffer: keep using that one.
      if (buffer.byteLength === 0) buffer = new Uint8Array(bytes.buffer);
      acknowledged += bytes.byteLength;
      send.onAcknowledged(acknowledged);
    }
  }

  const workers = Array.from(
    { length: send.concurrency },
    () =>
      worker().catch((error) => {
        stop.abort(error);
        throw error;
      }),
  );
  const results = await Promise.allSettled(workers);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    throw send.signal?.aborted
      ? send.signal.reason
      : (failed as PromiseRejectedResult).reason;
  }
  send.signal?.throwIfAborted();

  const parts = digests.map((sha256, i) => ({ number: i + 1, sha256 }));
  const completed = await complete(transport, send, parts);
  const expected = await compositeSha256(digests);
  if (completed.sha256 !== expected) {
    throw new FileUrlsError(
      `${action}: the API stored a file whose SHA-256 of parts is ${completed.sha256}, not ${expected}`,
    );
  }
  if (source.size !== undefined && completed.size !== source.size) {
    throw new FileUrlsError(
      `${action}: the API stored ${completed.size} bytes, not ${source.size}`,
    );
  }
  return completed;
}

/** Signs one part's URL and sends the part; signs again if it expired. */
async function sendPart(
  transport: Transport,
  send: MultipartSend,
  part: UploadedPart,
  bytes: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  const action = `${send.action}: part ${part.number}`;
  // On Deno and Node the bytes go through node:http, unless the caller gave
  // a fetch of its own.
  const put = transport.ownFetch ? undefined : nodeFetch(["deno", "node"]);
  // Where a body's progress cannot be seen (browsers, workerd), a part must
  // go within the timeout as a whole, while `concurrency` parts share the
  // link: each may take that many times as long.
  const patience = put === undefined && !streamsExactBodies()
    ? send.concurrency
    : 1;
  for (let signing = 0;; signing++) {
    const { parts } = await transport.post(
      subresource(send.uploadUrl, "parts"),
      { parts: [part] },
      { action, signal },
    ) as PartUrls;
    const url = parts?.[0];
    if (typeof url?.url !== "string") {
      throw new FileUrlsError(`${action}: the API answered no part URL`);
    }
    checkUrl(url.url, "the part URL", action);
    try {
      await transport.send(
        url.url,
        (_attempt, touch) => ({
          method: "PUT",
          headers: { ...requiredHeaders(url.url), ...url.headers },
          ...(put ? { body: bytes as BodyInit } : partBody(bytes, touch)),
        }),
        (response) => response.body?.cancel() ?? Promise.resolve(),
        {
          action,
          signal,
          fetch: put,
          patience,
          onRetry: (attempt, reason, delay) =>
            send.onRetry?.(part.number, attempt, retryReason(reason), delay),
        },
      );
      return;
    } catch (error) {
      // A URL that expired while the part waited is signed again, once.
      if (error instanceof ApiError && error.status === 403 && signing === 0) {
        continue;
      }
      throw error;
    }
  }
}

/**
 * A part's body: on Bun and Node, which send a stream with a hand-set
 * `Content-Length` as exactly that many bytes, a stream whose every pull
 * shows the request is alive; elsewhere the bytes themselves.
 */
function partBody(
  bytes: Uint8Array,
  touch: () => void,
): { body: BodyInit; duplex?: "half" } {
  if (!streamsExactBodies()) {
    return { body: bytes as Uint8Array<ArrayBuffer> };
  }
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      touch();
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + STREAM_CHUNK));
      offset += STREAM_CHUNK;
    },
  }, { highWaterMark: 0 });
  return { body: stream, duplex: "half" };
}

/**
 * Reads part `number` into `into`: from its offset where the source is
 * seekable, else the source's next bytes (parts are then read in order).
 *
 * @returns The bytes, fewer than `partSize` only for the last part (none at
 * the end of a one-way source), or `undefined` past a seekable source's end.
 */
function readPart(
  source: Source,
  number: number,
  partSize: number,
  into: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (!source.readAt) return source.next!(partSize, into);
  const offset = (number - 1) * partSize;
  if (offset >= source.size!) return Promise.resolve(undefined);
  const length = Math.min(partSize, source.size! - offset);
  return source.readAt(offset, length, into);
}

/**
 * The composite SHA-256 of a whole source in parts of `partSize`, as a
 * completion answers it; the source is read once, into one buffer.
 *
 * @param source The file.
 * @param partSize The upload's part size.
 * @param signal Stops the reading.
 * @returns `base64-N`.
 */
export async function compositeOf(
  source: Source,
  partSize: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  const digests: string[] = [];
  let buffer: Uint8Array = new Uint8Array(partSize);
  for (let number = 1;; number++) {
    const bytes = await unlessAborted(
      readPart(source, number, partSize, buffer),
      signal,
    );
    if (bytes === undefined || bytes.byteLength === 0) break;
    digests.push(await sha256Base64(bytes));
    // A byte stream hands its memory back in another ArrayBuffer.
    if (buffer.byteLength === 0) buffer = new Uint8Array(bytes.buffer);
    if (!source.readAt && bytes.byteLength < partSize) break;
  }
  return await compositeSha256(digests);
}

/** Completes the upload; an upload completed already is looked up. */
async function complete(
  transport: Transport,
  send: MultipartSend,
  parts: { number: number; sha256: string }[],
): Promise<CompletedUpload> {
  const action = `${send.action}: cannot complete the upload`;
  try {
    const completed = await transport.post(
      subresource(send.uploadUrl, "complete"),
      { parts },
      {
        action,
        signal: send.signal,
        // A part still arriving from an earlier attempt can hold it up for
        // the route's body timeout.
        onRetry: (attempt, reason, delay) =>
          send.onRetry?.(undefined, attempt, retryReason(reason), delay),
      },
    ) as CompletedUpload;
    checkUrl(completed?.download_url, "download_url", action);
    return completed;
  } catch (error) {
    // A completion whose answer was lost, then tried again, finds the file.
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    const status = await getStatus(
      transport,
      send.uploadUrl,
      action,
      send.signal,
    );
    if (status.state !== "complete" || status.sha256 === undefined) throw error;
    return {
      id: status.id,
      name: status.name,
      size: status.size ?? 0,
      mime_type: status.mime_type,
      uploaded_at: status.uploaded_at ?? "",
      sha256: status.sha256,
      download_url: status.download_url,
    };
  }
}

/**
 * Asks how far an upload has come: `GET {upload_url}`.
 *
 * @param transport The client's transport.
 * @param uploadUrl The upload's capability URL.
 * @param action What is being done, for messages.
 * @param signal Aborts the request.
 * @returns The upload's status and stored parts.
 */
export async function getStatus(
  transport: Transport,
  uploadUrl: string,
  action: string,
  signal?: AbortSignal,
): Promise<UploadStatus> {
  const status = await transport.get(uploadUrl, { action, signal }) as
    | UploadStatus
    | undefined;
  if (typeof status?.part_size !== "number" || !Array.isArray(status.parts)) {
    throw new FileUrlsError(`${action}: the API answered no upload status`);
  }
  if (status.state === "complete") {
    checkUrl(status.download_url, "download_url", action);
  }
  return status;
}

/**
 * A sub-resource of a capability URL: `…/{id}/parts?{same query}`.
 *
 * @param uploadUrl The capability URL.
 * @param name `"parts"` or `"complete"`.
 * @returns The URL.
 */
export function subresource(uploadUrl: string, name: string): string {
  const url = new URL(uploadUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${name}`;
  return url.href;
}
