/**
 * An upload in one `PUT` with an exact `Content-Length`: the URLs made, the
 * bytes sent (streamed where the runtime shows their progress), the upload
 * confirmed where the storage asks for it, and an answer lost to a retry
 * told from a refusal by reading the stored file back.
 *
 * @module
 */
import { checkCreateParams } from "../_params.ts";
import { streamsExactBodies } from "../_runtime.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import { retryReason, type Transport } from "./_request.ts";
import { requiredHeaders } from "./_required_headers.ts";
import { checkFileUrls, checkUrl } from "./_url.ts";
import { readJson } from "./_body.ts";
import type { UploadResult } from "./types.ts";
import type { Upload } from "./_upload.ts";

/**
 * One `PUT` of the whole file (of `bytes`, a stream's only part), to URLs
 * the destination makes.
 *
 * @param upload The upload, its destination offering a single `PUT`.
 * @param bytes A stream's only part, read already.
 * @returns The uploaded file.
 */
export async function single(
  upload: Upload,
  bytes?: Uint8Array,
): Promise<UploadResult> {
  const { source, destination, action, transport, report } = upload;
  const { signal } = upload.options;
  const data = bytes ?? await source.whole();
  const total = data instanceof Blob ? data.size : data.byteLength;
  const params = checkCreateParams({
    name: source.name,
    size: total,
    resource: destination.resource,
    mime_type: source.type,
  }, action);
  const urls = await destination.single!(params, action);
  checkFileUrls(urls, action);
  // URLs made elsewhere (uploadTo) for another size: refused here, rather
  // than by the store (an S3 bucket says only SignatureDoesNotMatch).
  if (typeof urls.size === "number" && urls.size !== total) {
    throw new FileUrlsError(
      `${action}: the file has ${total} bytes, but the URLs were made for ${urls.size}`,
    );
  }
  const completeUrl = urls.complete_url;
  if (completeUrl !== undefined) checkUrl(completeUrl, "complete_url", action);
  // Each event tells the file's id, where the API gave one.
  const known = typeof urls.id === "string" ? { id: urls.id } : {};
  report({ loaded: 0, total, ...known });
  const answer = await transport.send(
    urls.upload_url,
    (_attempt, touch) => ({
      method: "PUT",
      headers: {
        ...requiredHeaders(urls.upload_url),
        "content-type": source.type,
        "content-length": String(total),
      },
      ...singleBody(
        data,
        total,
        touch,
        (loaded) => report({ loaded, total, ...known }),
      ),
    }),
    // The bytes are stored: only an answer over the limit fails the upload.
    (response) =>
      readJson(response, action).catch((error) => {
        if (error instanceof FileUrlsError) throw error;
      }) as Promise<Stored | undefined>,
    {
      action,
      signal,
      onRetry: (attempt, reason, delay) =>
        report({
          loaded: 0,
          total,
          ...known,
          retry: { attempt, reason: retryReason(reason), delay },
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
  report({ loaded: total, total, ...known });
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
  if (!streamsExactBodies()) return { body: data as BodyInit };
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
