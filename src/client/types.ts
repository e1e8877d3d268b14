/**
 * The options of {@linkcode Client} and of {@linkcode Files.upload}, and the
 * kinds of content an upload takes.
 *
 * @module
 */

/** Options of {@linkcode Client}. */
export interface ClientOptions {
  /**
   * The API's base URL, e.g. `"https://api.example.com/v1"`.
   *
   * @default {the environment variable `FILEURLS_BASE_URL`}
   */
  baseUrl?: string | URL;
  /**
   * The API key, sent as `Authorization: Bearer <apiKey>` to the API (never
   * to upload URLs).
   *
   * @default {the environment variable `FILEURLS_API_KEY`, else no key}
   */
  apiKey?: string;
  /**
   * The `fetch` to send every request with.
   *
   * @default {globalThis.fetch}
   */
  fetch?: (
    input: string,
    init: RequestInit,
  ) => Response | Promise<Response>;
  /**
   * How often to retry a request after a network error, 408, 429, 5xx or a
   * 409 with `Retry-After`.
   *
   * @default {2}
   */
  maxRetries?: number;
  /**
   * Milliseconds a request may go without a byte moving: without an answer,
   * or, where the body's progress can be seen (Bun, Node, and parts on
   * Deno), without a byte of the body being taken. Elsewhere (browsers,
   * workerd) a body must go whole within it: a single `PUT` within
   * `timeout`, a part within `timeout` times `concurrency`, the parts that
   * share the link.
   *
   * @default {60000}
   */
  timeout?: number;
  /**
   * Extra headers for requests to the API (not for upload URLs, whose
   * signatures cover their headers).
   *
   * @default {{}}
   */
  headers?: HeadersInit;
}

/**
 * The contents of a file to upload:
 *
 * - a `Blob` or `File`;
 * - bytes: an `ArrayBuffer` or any `ArrayBufferView` (`Uint8Array`, `DataView`, …);
 * - a `ReadableStream` or async iterable of `Uint8Array` chunks, read to the end
 *   first to learn the exact size;
 * - a file path: a `string` or a `file:` `URL` (Deno, Bun and Node only).
 */
export type FileContent =
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | string
  | URL;

/** How far an upload has come. */
export interface UploadProgress {
  /**
   * Bytes done: in a multipart upload, the bytes of the parts the API has
   * acknowledged; in a single `PUT`, the bytes sent (Bun, Node) or, where the
   * runtime cannot tell, 0 then all. It never goes back, but for an event
   * with `retry`, after which a single `PUT` starts again from 0.
   */
  loaded: number;
  /** The file's exact size, or `undefined` while a stream's is not known. */
  total: number | undefined;
  /**
   * The multipart upload's capability URL, once it started: pass it as
   * `resume` to finish the upload after a failure or in another process.
   */
  uploadUrl?: string;
  /**
   * The file id, where the API tells it: of a multipart upload once it
   * started, of a single `PUT` once its URLs are made.
   */
  id?: string;
  /**
   * Set on the event that tells why a request starts again: a single `PUT`
   * (from 0), one part of a multipart upload, or its completion (`loaded`
   * stays).
   */
  retry?: {
    /** The attempt about to start, from 1. */
    attempt: number;
    /** Why the last attempt failed, e.g. `connection reset`, `status 503`. */
    reason: string;
    /**
     * The part sent again, in a multipart upload; absent for a single `PUT`
     * and for a multipart upload's completion.
     */
    part?: number;
    /**
     * Milliseconds until the attempt starts: the event comes as soon as
     * the last one failed, before the wait (a `Retry-After` may be long).
     */
    delay: number;
  };
}

/** What {@linkcode Files.uploadFile} and {@linkcode uploadTo} resolve with. */
export interface UploadResult {
  /** Where the file can be downloaded. */
  downloadUrl: string;
  /** The file id, where the API told it. */
  id?: string;
  /** The file name. */
  name: string;
  /** The exact size in bytes. */
  size: number;
  /** The media type the file was declared and sent with. */
  mimeType: string;
  /**
   * For a multipart upload: S3's composite SHA-256 of the parts
   * (`base64-N`), which the client checked against its own.
   */
  sha256?: string;
  /** Whether the file went in parts. */
  multipart: boolean;
}

/** Options of {@linkcode Files.upload}. */
export interface UploadOptions {
  /**
   * The file name. Needed for bytes, plain Blobs, streams and iterables.
   *
   * @default {File.name, or the path's last segment}
   */
  name?: string;
  /**
   * The media type to declare and send as `Content-Type`.
   *
   * @default {a non-empty `Blob.type`, else the type of the name's extension, else `"application/octet-stream"`}
   */
  mimeType?: string;
  /**
   * Aborts the upload: every request in flight stops, and a multipart
   * upload is deleted at the API (one the API was still making is deleted
   * once its answer comes). The call rejects with the signal's reason once
   * that delete is answered.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called with how far the upload has come: at the start, after every part
   * of a multipart upload, at the end, and in between where the runtime can
   * stream a body of exact length (Bun, Node). Never after the upload settled.
   *
   * @default {undefined}
   */
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Files larger than this go as a multipart upload, in parts of this size
   * (the API may choose a larger one), where the API offers multipart;
   * others go as one `PUT`. Memory holds about `partSize * (concurrency + 1)`
   * bytes, whatever the file's size.
   *
   * @default {5242880} 5 MiB
   */
  partSize?: number;
  /**
   * How many parts are sent at once.
   *
   * @default {4}
   */
  concurrency?: number;
  /**
   * The capability URL of a multipart upload that was started before (as
   * `onProgress` and a failed upload's error tell it): the parts the API
   * holds are checked against the file and skipped, and only the rest is
   * sent.
   *
   * @default {undefined}
   */
  resume?: string;
  /**
   * How long the API keeps the file, in seconds from now: a positive whole
   * number, at most what the API allows. The file's download URLs never
   * outlive it.
   *
   * @default {undefined} the API's own lifetime (the fileurls route keeps
   * files until deleted unless its `lifetime` option says otherwise)
   */
  lifetime?: number;
}

/**
 * Options of {@linkcode uploadTo}: an upload's options and the transport's.
 * `lifetime` is not among them: the URLs were made with theirs.
 */
export interface UploadToOptions extends Omit<UploadOptions, "lifetime"> {
  /**
   * The `fetch` to send every request with.
   *
   * @default {globalThis.fetch}
   */
  fetch?: ClientOptions["fetch"];
  /**
   * How often to retry a request after a network error, 408, 429, 5xx or a
   * 409 with `Retry-After`.
   *
   * @default {2}
   */
  maxRetries?: number;
  /**
   * Milliseconds a request may go without a byte moving, as
   * {@linkcode ClientOptions.timeout} tells: in browsers and workerd a body
   * must go whole within it (a part within it times `concurrency`).
   *
   * @default {60000}
   */
  timeout?: number;
}

/** Options of {@linkcode Files.list}. */
export interface ListFilesOptions {
  /**
   * Only the files uploaded for this resource.
   *
   * @default {undefined} every resource
   */
  resource?: string;
  /**
   * How many files each request asks for: the page size sent to the API,
   * from 1 to 1000. The iterator yields every file whatever the page size.
   *
   * @default {undefined} the API's own (100 for the fileurls route)
   */
  limit?: number;
  /**
   * Stops the listing: the pending request is aborted and the iterator
   * rejects with the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode Files.downloadUrl}. */
export interface DownloadUrlOptions {
  /**
   * How long the URL works, in seconds: a positive whole number, at most
   * what the API allows (7 days for the fileurls route by default). A URL
   * never outlives its file.
   *
   * @default {undefined} the API's own download TTL
   */
  expiresIn?: number;
  /**
   * Aborts the request; the call rejects with the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}
