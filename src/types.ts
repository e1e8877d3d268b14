/**
 * The wire types of the files API, with the API's own field names, and the
 * options of {@linkcode Files.upload}.
 *
 * @module
 */

/** What a file is uploaded for. The API knows one resource today. */
export type FileResource = "prediction";

/**
 * The body of `POST /files/urls`: one file, described before its upload.
 *
 * @example
 * ```ts
 * import type { CreateFileUrlsParams } from "@fileurls/fileurls";
 * const params: CreateFileUrlsParams = {
 *   name: "report.pdf",
 *   size: 1234,
 *   resource: "prediction",
 *   mime_type: "application/pdf",
 * };
 * ```
 */
export interface CreateFileUrlsParams {
  /** The file name, e.g. `"report.pdf"`. */
  name: string;
  /** The exact size in bytes. */
  size: number;
  /** What the file is for. */
  resource: FileResource;
  /** The media type the upload will carry, e.g. `"application/pdf"`. */
  mime_type: string;
}

/**
 * The answer to `POST /files/urls`. Fields the server adds beyond these two
 * (such as `expires_at`) are kept as they came.
 *
 * @example
 * ```ts
 * import type { FileUrls } from "@fileurls/fileurls";
 * const urls: FileUrls = {
 *   upload_url: "https://api.example.com/v1/files/abc?sig=…",
 *   download_url: "https://api.example.com/v1/files/abc/report.pdf?sig=…",
 * };
 * ```
 */
export interface FileUrls {
  /** Where to `PUT` the bytes, with exact `Content-Length` and `Content-Type`. */
  upload_url: string;
  /** Where the file can be fetched once uploaded. */
  download_url: string;
  /** Any further field of the answer. */
  [field: string]: unknown;
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
