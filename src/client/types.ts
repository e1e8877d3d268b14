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
   * How often to retry a request after a network error, 408, 429 or 5xx.
   *
   * @default {2}
   */
  maxRetries?: number;
  /**
   * Milliseconds each request may take, body included.
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
  /** Bytes sent so far. */
  loaded: number;
  /** The file's exact size in bytes. */
  total: number;
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
   * Aborts both requests; the call rejects with the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called with the bytes sent so far: at the start, at the end, and in
   * between where the runtime can stream a body of exact length (Bun, Node).
   *
   * @default {undefined}
   */
  onProgress?: (progress: UploadProgress) => void;
}
