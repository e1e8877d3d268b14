/**
 * The route's own signed URLs, written and read in one place:
 *
 * - upload: `{base}/files/{id}?name&size&type&exp&kid&sig` (for `PUT`);
 * - download: `{base}/files/{id}/{name}?exp&kid&sig` (for `GET`, `HEAD`).
 *
 * The signature covers the purpose, id, name, size and type (upload only),
 * expiry and key id; see `_signing.ts`.
 *
 * @module
 */

import { nameProblem } from "../api.ts";
import { RouteError } from "./_errors.ts";
import type { Signer } from "./_signing.ts";
import type { Config } from "./options.ts";

/** A file id: 128 random bits as base64url. */
const ID = /^[A-Za-z0-9_-]{22}$/;
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
  grant: UploadGrant,
): Promise<string> {
  const { kid, sig } = await signer.sign({ purpose: "upload", ...grant });
  const query = new URLSearchParams({
    name: grant.name,
    size: String(grant.size),
    type: grant.type,
    exp: String(grant.exp),
    kid,
    sig,
  });
  return `${base}/files/${grant.id}?${query}`;
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
  const { kid, sig } = await signer.sign({ purpose: "download", ...grant });
  const query = new URLSearchParams({ exp: String(grant.exp), kid, sig });
  return `${base}/files/${grant.id}/${encodeURIComponent(grant.name)}?${query}`;
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
 * Tells whether a request URL has the shape of a file URL, so that an
 * unknown method on it answers 405 rather than 404.
 *
 * @param href The request URL.
 * @returns `true` for `…/files/{id}` and `…/files/{id}/{name}`.
 */
export function isFilePath(href: string): boolean {
  try {
    parseFilePath(href, "");
    return true;
  } catch {
    return false;
  }
}

function decimal(value: string | null): number | undefined {
  if (value === null || !DECIMAL.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * Checks the path, signature and expiry of an upload or download URL.
 *
 * @param href The request URL.
 * @param config The route's signer and clock.
 * @param purpose `"upload"` for `PUT`, `"download"` for `GET` and `HEAD`.
 * @returns What the URL was signed for.
 * @throws {RouteError} 404 for a path that is no file URL; 403 for a
 * missing, tampered, foreign or expired signature, or a URL of the other
 * purpose.
 */
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "upload",
): Promise<UploadGrant>;
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "download",
): Promise<DownloadGrant>;
export async function verifyUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
  purpose: "upload" | "download",
): Promise<UploadGrant | DownloadGrant> {
  const action = purpose === "upload" ? "Cannot upload" : "Cannot download";
  const path = parseFilePath(href, action);
  const query = new URL(href).searchParams;
  // An upload URL has no name segment, a download URL has one: a URL used
  // for the other purpose fails here.
  const name = purpose === "upload"
    ? (path.name === undefined ? query.get("name") : null)
    : path.name ?? null;
  const size = purpose === "upload" ? decimal(query.get("size")) : undefined;
  const type = purpose === "upload"
    ? query.get("type") ?? undefined
    : undefined;
  const exp = decimal(query.get("exp"));
  const kid = query.get("kid");
  const sig = query.get("sig");
  if (
    name === null || exp === undefined || kid === null || sig === null ||
    (purpose === "upload" && (size === undefined || type === undefined))
  ) {
    throw new RouteError(403, `${action}: the URL is not signed for this`);
  }
  const fields = { purpose, id: path.id, name, size, type, exp };
  if (!await (await config.signer).verify(fields, { kid, sig })) {
    throw new RouteError(403, `${action}: the signature is not valid`);
  }
  if (Math.floor(config.now() / 1000) >= exp) {
    const expired = new Date(exp * 1000).toISOString();
    throw new RouteError(403, `${action}: the URL expired at ${expired}`);
  }
  return purpose === "upload"
    ? { id: path.id, name, size: size!, type: type!, exp }
    : { id: path.id, name, exp };
}
