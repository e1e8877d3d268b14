/**
 * The wire contract of the files API, written once: the JSON the client
 * sends and reads, the JSON the route reads and answers, with the API's own
 * field names, and the rules both sides apply to them. The client refuses
 * before any request what the route would refuse, because both call
 * {@linkcode checkCreateParams}.
 *
 * @module
 */

import { isMediaType } from "./_media_type.ts";

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
   * The file name, e.g. `"report.pdf"`: 1 to 255 UTF-8 bytes, no `/`, `\`
   * or control characters, not `.` or `..`. Metadata only.
   */
  name: string;
  /** The exact size in bytes: a non-negative safe integer. */
  size: number;
  /** What the file is for. */
  resource: FileResource;
  /** The media type the upload will carry, e.g. `"application/pdf"`. */
  mime_type: string;
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
  409: "conflict",
  411: "length_required",
  413: "too_large",
  415: "unsupported_media_type",
  416: "range_not_satisfiable",
  500: "internal_error",
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

/** The longest file name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/**
 * Tells what is wrong with a file name, by the rules of the API: 1 to 255
 * UTF-8 bytes, not `.` or `..`, no `/`, `\`, control character or lone
 * surrogate.
 *
 * @param name The name.
 * @returns What is wrong, e.g. `"contains a slash or backslash"`, or
 * `undefined` if nothing.
 *
 * @example
 * ```ts
 * import { nameProblem } from "./api.ts";
 * nameProblem("a/b.png"); // "contains a slash or backslash"
 * nameProblem("a.png"); // undefined
 * ```
 */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name === "." || name === "..") return "is not a file name";
  if (/[/\\]/.test(name)) return "contains a slash or backslash";
  if (/\p{Cc}/u.test(name)) return "contains a control character";
  if (/\p{Cs}/u.test(name)) return "contains a lone surrogate";
  const bytes = encoder.encode(name).byteLength;
  if (bytes > MAX_NAME_BYTES) {
    return `has ${bytes} UTF-8 bytes, at most ${MAX_NAME_BYTES} are allowed`;
  }
  return undefined;
}

const FIELDS = [
  ["name", "string"],
  ["size", "number"],
  ["resource", "string"],
  ["mime_type", "string"],
] as const;

/**
 * Checks the fields of `POST /files/urls` by the API's rules, the same in the
 * client and the route. Which resources and sizes a route accepts is the
 * route's own business, checked after this.
 *
 * @param params The fields, e.g. a parsed JSON body.
 * @param action What is being done, for messages: `Cannot create file URLs`.
 * @returns The fields, typed.
 * @throws {TypeError} If a field is missing or mistyped, the name breaks a
 * rule, the resource is empty or the media type is malformed.
 * @throws {RangeError} If `size` is not a non-negative safe integer.
 *
 * @example
 * ```ts
 * import { checkCreateParams } from "./api.ts";
 * checkCreateParams(
 *   { name: "a.png", size: 3, resource: "prediction", mime_type: "image/png" },
 *   "Cannot create URLs",
 * );
 * ```
 */
export function checkCreateParams(
  params: Record<string, unknown>,
  action: string,
): CreateFileUrlsParams {
  for (const [field, type] of FIELDS) {
    const value = params[field];
    if (value === undefined) {
      throw new TypeError(`${action}: ${field} is missing`);
    }
    const actual = typeof value;
    if (actual !== type) {
      throw new TypeError(`${action}: ${field} must be a ${type}`);
    }
  }
  const { name, size, resource, mime_type } =
    params as unknown as CreateFileUrlsParams;
  const problem = nameProblem(name);
  if (problem === "is empty") {
    throw new TypeError(`${action}: name must be a non-empty string`);
  }
  if (problem !== undefined) {
    throw new TypeError(`${action}: name ${JSON.stringify(name)} ${problem}`);
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `${action}: size must be a non-negative safe integer, got ${size}`,
    );
  }
  if (resource === "") {
    throw new TypeError(`${action}: resource must be a non-empty string`);
  }
  if (!isMediaType(mime_type)) {
    throw new TypeError(
      `${action}: mime_type must be a media type such as "image/png", got ${
        JSON.stringify(mime_type)
      }`,
    );
  }
  return { name, size, resource, mime_type };
}
