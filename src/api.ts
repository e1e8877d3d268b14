/**
 * The wire contract of the files API, written once: the JSON the client
 * sends and reads, the JSON the route reads and answers, with the API's own
 * field names. The rules both sides apply to them are in `_params.ts`.
 *
 * @module
 */

/**
 * What a file is uploaded for. The route's `resources` option decides which
 * values it accepts; `"prediction"` is the default on both sides.
 */
export type FileResource = "prediction" | (string & Record<never, never>);

/** The resource a file is for when none is named. */
export const DEFAULT_RESOURCE = "prediction" as const;

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
  /**
   * The file name, e.g. `"report.pdf"`: 1 to 255 UTF-8 bytes, no `/`, `\`,
   * control or format characters (see {@linkcode nameProblem}), not `.` or
   * `..`. Metadata only.
   */
  name: string;
  /** The exact size in bytes: a non-negative safe integer. */
  size: number;
  /** What the file is for. */
  resource: FileResource;
  /** The media type the upload will carry, e.g. `"application/pdf"`. */
  mime_type: string;
  /**
   * How long the stored file is kept, in seconds from now: a positive safe
   * integer, at most the route's `maxLifetime`. Absent: the route's
   * `lifetime` (by default, kept until deleted).
   */
  lifetime?: number;
}

/**
 * The answer to `POST /files/urls`. Fields a server adds beyond these are
 * kept as they came.
 *
 * @example
 * ```ts
 * import type { FileUrls } from "@fileurls/fileurls";
 * const urls: FileUrls = {
 *   upload_url: "https://api.example.com/v1/files/abc?sig=…",
 *   download_url: "https://api.example.com/v1/files/abc/report.pdf?sig=…",
 *   expires_at: "2030-01-01T00:00:00.000Z",
 * };
 * ```
 */
export interface FileUrls {
  /** Where to `PUT` the bytes, with exact `Content-Length` and `Content-Type`. */
  upload_url: string;
  /** Where the file can be fetched once uploaded. */
  download_url: string;
  /**
   * When the upload URL expires, as an ISO 8601 date. The fileurls route
   * always sends it; other APIs may not.
   */
  expires_at?: string;
  /** The file id, for `GET`/`DELETE /files/{id}`. The fileurls route always sends it. */
  id?: string;
  /** The name the URLs were made for. The fileurls route always sends it. */
  name?: string;
  /** The exact size the upload URL takes. The fileurls route always sends it. */
  size?: number;
  /**
   * The `Content-Type` the upload URL takes. The fileurls route always
   * sends it.
   */
  mime_type?: string;
  /**
   * Where to `POST` (no body, no API key) once the `PUT` succeeded, so that
   * the API checks the stored object and records the file. The fileurls
   * route sends it when its storage takes uploads directly (S3); a client
   * that gets it must call it.
   */
  complete_url?: string;
  /** Any further field of the answer. */
  [field: string]: unknown;
}

/**
 * The `201` answer of a `PUT` on an upload URL of the fileurls route.
 *
 * @example
 * ```ts
 * import type { UploadedFile } from "@fileurls/fileurls";
 * const file: UploadedFile = {
 *   id: "Jb7Z0k2vS9mQ1xw4Yh8uPg",
 *   name: "report.pdf",
 *   size: 1234,
 *   mime_type: "application/pdf",
 *   uploaded_at: "2030-01-01T00:00:00.000Z",
 * };
 * ```
 */
export interface UploadedFile {
  /** The file id, as in the URLs. */
  id: string;
  /** The declared name. */
  name: string;
  /** The size in bytes. */
  size: number;
  /** The declared media type. */
  mime_type: string;
  /** When the upload completed, as an ISO 8601 date. */
  uploaded_at: string;
}

/**
 * A stored file, as `GET /files/{id}` and `GET /files` answer it.
 *
 * @example
 * ```ts
 * import type { FileObject } from "@fileurls/fileurls";
 * const file: FileObject = {
 *   id: "-xT3k9ZqAbCdEfGhIjKlMn",
 *   name: "report.pdf",
 *   size: 1234,
 *   mime_type: "application/pdf",
 *   resource: "prediction",
 *   uploaded_at: "2030-01-01T00:00:00.000Z",
 *   expires_at: null,
 * };
 * ```
 */
export interface FileObject extends UploadedFile {
  /** What the file is for. */
  resource: string;
  /** When the file expires, as an ISO 8601 date, or `null` if never. */
  expires_at: string | null;
  /**
   * The SHA-256 of a file uploaded in parts (S3's composite form,
   * `base64-N`), when known.
   */
  sha256?: string;
}

/** The answer to `GET /files`: one page of files, newest first. */
export interface FileList {
  /** The files of this page. A page may hold fewer than `limit`, even none. */
  files: FileObject[];
  /** The `cursor` of the next page, or `null` after the last page. */
  next_cursor: string | null;
}

/** The body of `POST /files/{id}/download_url`. */
export interface DownloadUrlParams {
  /**
   * How long the URL works, in seconds: a positive safe integer, at most the
   * route's `maxDownloadTtl`. Absent: the route's `downloadTtl`. A URL never
   * outlives its file.
   */
  expires_in?: number;
}

/** The answer to `POST /files/{id}/download_url`. */
export interface DownloadUrl {
  /** A fresh signed download URL. */
  download_url: string;
  /** When it expires, as an ISO 8601 date. */
  expires_at: string;
}

/**
 * The body of `POST /files/uploads`, which starts a multipart upload: the
 * fields of {@linkcode CreateFileUrlsParams}, with `size` optional when it
 * is not known yet (a stream), and the part size the client would like.
 */
export interface CreateUploadParams {
  /** The file name, by the same rules as in {@linkcode CreateFileUrlsParams}. */
  name: string;
  /** The exact size in bytes, or `null` (or absent) when unknown. */
  size?: number | null;
  /** What the file is for. */
  resource: FileResource;
  /** The media type of the file. */
  mime_type: string;
  /** The part size the client prefers, in bytes; the API may choose another. */
  part_size?: number;
  /**
   * How long the completed file is kept, in seconds from the start of the
   * upload, by the same rules as in {@linkcode CreateFileUrlsParams}.
   */
  lifetime?: number;
}

/**
 * The `201` answer of `POST /files/uploads`. `upload_url` is a capability:
 * whoever holds it can send the parts, list them, complete and abort, with
 * no API key, until `expires_at`.
 */
export interface MultipartUpload {
  /** The file id. */
  id: string;
  /** The declared name. The fileurls route always sends it. */
  name?: string;
  /**
   * The declared size, or `null` if it is declared at completion. The
   * fileurls route always sends it.
   */
  size?: number | null;
  /** The declared media type. The fileurls route always sends it. */
  mime_type?: string;
  /** The capability URL of this upload (see {@linkcode UploadStatus}). */
  upload_url: string;
  /** Where the file can be fetched once complete. */
  download_url: string;
  /** The size of every part but the last, in bytes. */
  part_size: number;
  /** The most parts the upload may have. */
  max_parts: number;
  /** When `upload_url` stops working, as an ISO 8601 date. */
  expires_at: string;
}

/** One part that the API has stored. */
export interface UploadedPart {
  /** The part number, from 1. */
  number: number;
  /** Its size in bytes. */
  size: number;
  /** The SHA-256 of its bytes, base64 (as S3's `x-amz-checksum-sha256`). */
  sha256: string;
}

/** The answer to `GET {upload_url}`: how far a multipart upload has come. */
export interface UploadStatus {
  /** The file id. */
  id: string;
  /** The declared name. */
  name: string;
  /** The declared size, or `null` if it is declared at completion. */
  size: number | null;
  /** The declared media type. */
  mime_type: string;
  /** The size of every part but the last. */
  part_size: number;
  /** `"uploading"` while parts may be sent, `"complete"` once the file is stored. */
  state: "uploading" | "complete";
  /** The parts stored so far, by number (empty once complete). */
  parts: UploadedPart[];
  /** When `upload_url` stops working, as an ISO 8601 date. */
  expires_at: string;
  /** Where the file can be fetched once complete. */
  download_url: string;
  /** Once complete: when, as an ISO 8601 date. */
  uploaded_at?: string;
  /** Once complete: the SHA-256 of the parts, as in {@linkcode CompletedUpload}. */
  sha256?: string;
}

/** The body of `POST {upload_url}/parts`: the parts to sign URLs for. */
export interface PartUrlsParams {
  /** Up to 100 parts, each with its exact size and SHA-256. */
  parts: UploadedPart[];
}

/** One signed part URL: `PUT` the part's bytes to it with `headers`. */
export interface PartUrl {
  /** The part number. */
  number: number;
  /** Where to `PUT` the part. */
  url: string;
  /** Headers the `PUT` must carry, `Content-Length` among them. */
  headers: Record<string, string>;
  /** When the URL stops working, as an ISO 8601 date. */
  expires_at: string;
}

/** The answer to `POST {upload_url}/parts`. */
export interface PartUrls {
  /** One URL per part asked for, in the same order. */
  parts: PartUrl[];
}

/**
 * The body of `POST {upload_url}/complete`: every part of the file, in
 * order, which must be exactly the parts stored.
 */
export interface CompleteUploadParams {
  /** Parts 1 to N, each with the SHA-256 the client computed. */
  parts: Pick<UploadedPart, "number" | "sha256">[];
}

/**
 * The `201` answer to `POST {upload_url}/complete`: the stored file, with
 * the SHA-256 of its parts.
 */
export interface CompletedUpload extends UploadedFile {
  /**
   * S3's composite checksum: the SHA-256 of the parts' SHA-256 digests one
   * after the other, base64, then `-` and the number of parts.
   */
  sha256: string;
  /** Where the file can be fetched. */
  download_url: string;
}

/**
 * Every error answer of the API: `{"error": {"type", "message"}}`.
 *
 * @example
 * ```ts
 * import type { ApiErrorBody } from "@fileurls/fileurls";
 * const body: ApiErrorBody = {
 *   error: { type: "not_found", message: "Cannot download: no such file URL" },
 * };
 * ```
 */
export interface ApiErrorBody {
  /** What went wrong. */
  error: {
    /** A stable, machine-readable kind, e.g. `"too_large"`. */
    type: string;
    /** A sentence for people, naming the failed action. */
    message: string;
  };
}

/** The `error.type` of each status the API answers with. */
export const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request",
  401: "authentication_error",
  403: "permission_denied",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  409: "conflict",
  411: "length_required",
  413: "too_large",
  415: "unsupported_media_type",
  416: "range_not_satisfiable",
  500: "internal_error",
  501: "not_implemented",
  503: "unavailable",
  507: "insufficient_storage",
};

/**
 * Makes the API's error answer for a status.
 *
 * @param status The HTTP status, e.g. `404`.
 * @param message What failed, naming the action.
 * @returns `{"error": {"type", "message"}}`, with the status's type, or
 * `"http_error"` for a status without one.
 *
 * @example
 * ```ts
 * import { errorBody } from "./api.ts";
 * errorBody(404, "Cannot download: no such file URL");
 * // { error: { type: "not_found", message: "Cannot download: no such file URL" } }
 * ```
 */
export function errorBody(status: number, message: string): ApiErrorBody {
  return { error: { type: ERROR_TYPES[status] ?? "http_error", message } };
}
