/**
 * The route's own signed URLs for single uploads, written and read in one
 * place:
 *
 * - upload: `{base}/files/{id}?name&size&type&res&fexp&exp&kid&sig` (for
 *   `PUT`);
 * - completion: `{base}/files/{id}/complete?name&size&type&res&fexp&exp&kid&sig`
 *   (for `POST`, with a presigned storage: the upload went to the store);
 * - download: `{base}/files/{id}/{name}?exp&kid&sig` (for `GET`, `HEAD`).
 *
 * `res` is the file's resource and `fexp` when the stored file expires, in
 * seconds since the epoch (absent: never). The signature covers the
 * purpose, id, name, size, type, resource and file expiry (upload and
 * completion only), expiry and key id; see `_signing.ts`. An upload URL
 * without `res`, made before files kept their resource, is checked as it
 * was signed. Multipart URLs, in `_multipart_url.ts`, are made and checked
 * with the same helpers.
 *
 * @module
 */

import { nameProblem } from "../_params.ts";
import { RouteError } from "./_errors.ts";
import type { SignedFields, Signer } from "./_signing.ts";
import type { Config } from "./options.ts";

/** A file id: 22 characters of base64url's alphabet (see `fileId()`). */
export const ID: RegExp = /^[A-Za-z0-9_-]{22}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** What an upload URL is signed for. */
export interface UploadGrant {
  /** The file id. */
  id: string;
  /** The declared name. */
  name: string;
  /** The declared size in bytes. */
  size: number;
  /** The declared media type. */
  type: string;
  /** The file's resource; absent in URLs made before files kept one. */
  resource?: string;
  /** When the stored file expires, in seconds since the epoch; `null`: never. */
  fexp: number | null;
  /** Expiry, in whole seconds since the epoch. */
  exp: number;
}

/** What a download URL is signed for. */
export interface DownloadGrant {
  /** The file id. */
  id: string;
  /** The declared name. */
  name: string;
  /** Expiry, in whole seconds since the epoch. */
  exp: number;
}

/**
 * Signs fields and makes the query that carries them: `params` in order,
 * then `exp`, `kid` and `sig`.
 *
 * @param signer The route's signer.
 * @param fields What the signature covers, `exp` last.
 * @param params The query's own values, before `exp`.
 * @param exp Expiry, in whole seconds since the epoch.
 * @returns The query, without `?`.
 */
export async function signedQuery(
  signer: Signer,
  fields: SignedFields,
  params: Record<string, string>,
  exp: number,
): Promise<string> {
  const { kid, sig } = await signer.sign(fields);
  return new URLSearchParams({ ...params, exp: String(exp), kid, sig })
    .toString();
}

/** 403 for a URL whose signature is good but whose time is up. */
export class ExpiredUrlError extends RouteError {
  /**
   * Makes the error.
   *
   * @param message What failed, with when the URL expired.
   */
  constructor(message: string) {
    super(403, message);
    this.name = "ExpiredUrlError";
  }
}

/**
 * Checks a URL's `exp`, `kid` and `sig` against the fields it should be
 * signed for.
 *
 * @param query The URL's query.
 * @param config The route's signer and clock.
 * @param fields What the signature should cover, without `exp`.
 * @param action What was being done, for messages.
 * @returns The expiry, in seconds since the epoch.
 * @throws {RouteError} 403 for a missing, tampered, foreign or expired
 * signature.
 */
export async function checkSignature(
  query: URLSearchParams,
  config: Pick<Config, "signer" | "now">,
  fields: SignedFields,
  action: string,
): Promise<number> {
  const exp = decimal(query.get("exp"));
  const kid = query.get("kid");
  const sig = query.get("sig");
  if (exp === undefined || kid === null || sig === null) {
    throw new RouteError(403, `${action}: the URL is not signed for this`);
  }
  const signer = await config.signer;
  if (!await signer.verify([...fields, exp], { kid, sig })) {
    throw new RouteError(403, `${action}: the signature is not valid`);
  }
  if (Math.floor(config.now() / 1000) >= exp) {
    const expired = new Date(exp * 1000).toISOString();
    throw new ExpiredUrlError(`${action}: the URL expired at ${expired}`);
  }
  return exp;
}

/**
 * Reads a canonical non-negative decimal.
 *
 * @param value The text, e.g. a query value.
 * @returns The number, or `undefined` unless it is a safe integer spelled
 * without sign, leading zeros or other characters.
 */
export function decimal(value: string | null): number | undefined {
  if (value === null || !DECIMAL.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * Signs an upload URL.
 *
 * @param signer The route's signer.
 * @param base The mount point's external URL, without a trailing slash.
 * @param grant What the URL allows.
 * @returns The absolute URL.
 */
export async function signUploadUrl(
  signer: Signer,
  base: string,
  grant: UploadGrant & { resource: string },
): Promise<string> {
  const query = await grantQuery(signer, "upload", grant);
  return `${base}/files/${grant.id}?${query}`;
}

/**
 * Signs the completion URL of a file uploaded to a presigned storage.
 *
 * @param signer The route's signer.
 * @param base The mount point's external URL, without a trailing slash.
 * @param grant What the upload URL was signed for, and this URL's expiry.
 * @returns The absolute URL.
 */
export async function signCompleteUrl(
  signer: Signer,
  base: string,
  grant: UploadGrant & { resource: string },
): Promise<string> {
  const query = await grantQuery(signer, "complete", grant);
  return `${base}/files/${grant.id}/complete?${query}`;
}

async function grantQuery(
  signer: Signer,
  purpose: "upload" | "complete",
  grant: UploadGrant & { resource: string },
): Promise<string> {
  const { id, name, size, type, resource, fexp, exp } = grant;
  return await signedQuery(
    signer,
    [purpose, id, name, size, type, resource, fexp, exp],
    {
      name,
      size: String(size),
      type,
      res: resource,
      ...(fexp === null ? {} : { fexp: String(fexp) }),
    },
    exp,
  );
}

/**
 * Reads the `fexp` of a query: absent is `null` (never).
 *
 * @param query The URL's query.
 * @returns The file's expiry in seconds, `null`, or `undefined` if it is
 * malformed.
 */
export function fileExpiry(query: URLSearchParams): number | null | undefined {
  const text = query.get("fexp");
  return text === null ? null : decimal(text);
}

/**
 * Signs a download URL.
 *
 * @param signer The route's signer.
 * @param base The mount point's external URL, without a trailing slash.
 * @param grant What the URL allows.
 * @returns The absolute URL.
 */
export async function signDownloadUrl(
  signer: Signer,
  base: string,
  grant: DownloadGrant,
): Promise<string> {
  const { id, name, exp } = grant;
  const query = await signedQuery(
    signer,
    ["download", id, name, null, null, exp],
    {},
    exp,
  );
  return `${base}/files/${id}/${encodeURIComponent(name)}?${query}`;
}

/** The id, and the name of a download path, read from a file URL's path. */
interface FilePath {
  id: string;
  /** The decoded name of a download path; absent on an upload path. */
  name?: string;
}

/**
 * Reads `…/files/{id}` or `…/files/{id}/{name}` from the raw, still
 * percent-encoded path. Hono's path params are not used: Hono decodes the
 * path before matching, so an id spelled with escapes would match and an
 * undecodable name would arrive raw, where this answers 404 for both.
 *
 * @param href The request URL.
 * @param action What was being done, for the message.
 * @returns The id, and the name of a download path.
 * @throws {RouteError} 404 for anything else, before storage is touched.
 */
export function parseFilePath(href: string, action: string): FilePath {
  const segments = new URL(href).pathname.split("/");
  const n = segments.length;
  if (n >= 3 && segments[n - 2] === "files" && ID.test(segments[n - 1])) {
    return { id: segments[n - 1] };
  }
  if (n >= 4 && segments[n - 3] === "files" && ID.test(segments[n - 2])) {
    let name: string | undefined;
    try {
      name = decodeURIComponent(segments[n - 1]);
    } catch {
      name = undefined;
    }
    if (name !== undefined && nameProblem(name) === undefined) {
      return { id: segments[n - 2], name };
    }
  }
  throw new RouteError(404, `${action}: no such file URL`);
}

/**
 * Checks the path, signature and expiry of an upload, completion or
 * download URL.
 *
 * @param href The request URL.
 * @param config The route's signer and clock.
 * @param purpose `"upload"` for `PUT`, `"complete"` for `POST` on a
 * completion URL, `"download"` for `GET` and `HEAD`.
 * @returns What the URL was signed for.
 * @throws {RouteError} 404 for a path that is no file URL; 403 for a
 * missing, tampered, foreign or expired signature, or a URL of the other
 * purpose.
 */
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "upload" | "complete",
): Promise<UploadGrant>;
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "download",
): Promise<DownloadGrant>;
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "upload" | "complete" | "download",
): Promise<UploadGrant | DownloadGrant> {
  const action = {
    upload: "Cannot upload",
    complete: "Cannot confirm the upload",
    download: "Cannot download",
  }[purpose];
  const path = parseFilePath(href, action);
  if (purpose === "complete" && path.name !== "complete") {
    throw new RouteError(404, `${action}: no such completion URL`);
  }
  const query = new URL(href).searchParams;
  // An upload URL has no name segment, a download URL has one: a URL used
  // for the other purpose fails here.
  if (purpose === "download") {
    if (path.name === undefined) {
      throw new RouteError(403, `${action}: the URL is not signed for this`);
    }
    const fields = ["download", path.id, path.name, null, null] as const;
    const exp = await checkSignature(query, config, fields, action);
    return { id: path.id, name: path.name, exp };
  }
  const named = purpose === "complete" || path.name === undefined;
  const name = named ? query.get("name") : null;
  const size = decimal(query.get("size"));
  const type = query.get("type");
  const resource = query.get("res") ?? undefined;
  const fexp = fileExpiry(query);
  if (
    name === null || size === undefined || type === null ||
    fexp === undefined ||
    (resource === undefined && (purpose === "complete" || fexp !== null))
  ) {
    throw new RouteError(403, `${action}: the URL is not signed for this`);
  }
  // An upload URL signed before files kept a resource and expiry.
  const fields = resource === undefined
    ? ["upload", path.id, name, size, type] as const
    : [purpose, path.id, name, size, type, resource, fexp] as const;
  const exp = await checkSignature(query, config, fields, action);
  return {
    id: path.id,
    name,
    size,
    type,
    ...(resource === undefined ? {} : { resource }),
    fexp,
    exp,
  };
}
