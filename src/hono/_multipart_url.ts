/**
 * The route's signed URLs for multipart uploads, written and read in one
 * place:
 *
 * - the upload's capability URL,
 *   `{base}/files/uploads/{id}?upload_id&name&type&size&part_size&res&fexp&exp&kid&sig`,
 *   and its sub-resources `…/{id}/parts` and `…/{id}/complete`, which carry
 *   the same query (`res`: the file's resource; `fexp`: when the completed
 *   file expires, absent for never; a URL without `res`, made before files
 *   kept them, is checked as it was signed);
 * - a part URL, `{base}/files/uploads/{id}/parts/{n}?upload_id&size&sha256&exp&kid&sig`,
 *   signed for one part's exact size and SHA-256.
 *
 * Everything the route needs to serve an upload travels in these signed
 * URLs and in storage: no route instance keeps state of its own.
 *
 * @module
 */

import { RouteError } from "./_errors.ts";
import {
  checkSignature,
  decimal,
  fileExpiry,
  ID,
  signedQuery,
} from "./_signed_url.ts";
import type { Signer } from "./_signing.ts";
import type { Config } from "./options.ts";

/** What an upload's capability URL is signed for. */
export interface SessionGrant {
  /** The file id. */
  id: string;
  /** The storage's id of the multipart upload. */
  uploadId: string;
  /** The declared name. */
  name: string;
  /** The declared size, or `null` until completion. */
  size: number | null;
  /** The declared media type. */
  type: string;
  /** The size of every part but the last. */
  partSize: number;
  /** The file's resource; absent in URLs made before files kept one. */
  fileResource?: string;
  /** When the completed file expires, in seconds since the epoch; `null`: never. */
  fexp: number | null;
  /** Expiry, in whole seconds since the epoch. */
  exp: number;
}

/** What a part URL is signed for. */
export interface PartGrant {
  /** The file id. */
  id: string;
  /** The storage's id of the multipart upload. */
  uploadId: string;
  /** The part number, from 1. */
  number: number;
  /** The part's exact size. */
  size: number;
  /** The part's SHA-256, base64. */
  sha256: string;
  /** Expiry, in whole seconds since the epoch. */
  exp: number;
}

/** Which resource of an upload a request is for. */
export type SessionResource = "upload" | "parts" | "complete";

/** A checked capability URL: the grant, the resource, and the mount base. */
export interface Session extends SessionGrant {
  /** `…/{id}`, `…/{id}/parts` or `…/{id}/complete`. */
  resource: SessionResource;
  /** The mount point's URL as the request reached it, without a slash. */
  base: string;
}

/**
 * Signs an upload's capability URL.
 *
 * @param signer The route's signer.
 * @param base The mount point's external URL, without a trailing slash.
 * @param grant What the URL allows.
 * @returns The absolute URL.
 */
export async function signSessionUrl(
  signer: Signer,
  base: string,
  grant: SessionGrant & { fileResource: string },
): Promise<string> {
  const { id, uploadId, name, size, type, partSize, fexp, exp } = grant;
  const resource = grant.fileResource;
  const query = await signedQuery(
    signer,
    [
      "multipart",
      id,
      uploadId,
      name,
      size,
      type,
      partSize,
      resource,
      fexp,
      exp,
    ],
    {
      upload_id: uploadId,
      name,
      type,
      ...(size === null ? {} : { size: String(size) }),
      part_size: String(partSize),
      res: resource,
      ...(fexp === null ? {} : { fexp: String(fexp) }),
    },
    exp,
  );
  return `${base}/files/uploads/${id}?${query}`;
}

/**
 * Signs the URL of one part.
 *
 * @param signer The route's signer.
 * @param base The mount point's external URL, without a trailing slash.
 * @param grant What the URL allows.
 * @returns The absolute URL.
 */
export async function signPartUrl(
  signer: Signer,
  base: string,
  grant: PartGrant,
): Promise<string> {
  const { id, uploadId, number, size, sha256, exp } = grant;
  const query = await signedQuery(
    signer,
    ["part", id, uploadId, number, size, sha256, exp],
    { upload_id: uploadId, size: String(size), sha256 },
    exp,
  );
  return `${base}/files/uploads/${id}/parts/${number}?${query}`;
}

/**
 * Reads the path of a multipart URL: `…/files/uploads/{id}`, with
 * `/parts`, `/complete` or `/parts/{n}` after it.
 *
 * @param href The request URL.
 * @returns The id, the resource or part number, and the path before
 * `/files/uploads`; `undefined` for any other path.
 */
export function parseUploadPath(href: string):
  | { id: string; base: string; resource: SessionResource }
  | { id: string; base: string; part: number }
  | undefined {
  const url = new URL(href);
  const match =
    /^(.*)\/files\/uploads\/([A-Za-z0-9_-]{22})(?:\/(parts|complete)(?:\/([1-9][0-9]{0,4}))?)?$/
      .exec(url.pathname);
  if (match === null || !ID.test(match[2])) return undefined;
  const [, prefix, id, resource, part] = match;
  const base = url.origin + prefix;
  if (part !== undefined) {
    return resource === "parts" ? { id, base, part: Number(part) } : undefined;
  }
  return { id, base, resource: (resource as SessionResource) ?? "upload" };
}

/**
 * Checks an upload's capability URL (or one of its sub-resources).
 *
 * @param href The request URL.
 * @param config The route's signer, clock and public URL.
 * @param action What is being done, for messages.
 * @returns The grant, the resource asked for, and the mount base.
 * @throws {RouteError} 404 for another path; 403 for a missing, tampered,
 * foreign or expired signature.
 */
export async function verifySessionUrl(
  href: string,
  config: Pick<Config, "signer" | "now" | "publicUrl">,
  action: string,
): Promise<Session> {
  const path = parseUploadPath(href);
  if (path === undefined || "part" in path) {
    throw new RouteError(404, `${action}: no such upload URL`);
  }
  const query = new URL(href).searchParams;
  const uploadId = query.get("upload_id");
  const name = query.get("name");
  const type = query.get("type");
  const sizeText = query.get("size");
  const size = sizeText === null ? null : decimal(sizeText);
  const partSize = decimal(query.get("part_size"));
  const resource = query.get("res") ?? undefined;
  const fexp = fileExpiry(query);
  if (
    uploadId === null || name === null || type === null ||
    size === undefined || partSize === undefined || fexp === undefined ||
    (resource === undefined && fexp !== null)
  ) {
    throw new RouteError(403, `${action}: the URL is not signed for this`);
  }
  const fields = [
    "multipart",
    path.id,
    uploadId,
    name,
    size,
    type,
    partSize,
    // An upload started before files kept a resource and expiry.
    ...(resource === undefined ? [] : [resource, fexp]),
  ] as const;
  const exp = await checkSignature(query, config, fields, action);
  return {
    id: path.id,
    uploadId,
    name,
    size,
    type,
    partSize,
    ...(resource === undefined ? {} : { fileResource: resource }),
    fexp,
    exp,
    resource: path.resource,
    base: config.publicUrl ?? path.base,
  };
}

/**
 * Checks a part URL.
 *
 * @param href The request URL.
 * @param config The route's signer and clock.
 * @returns The grant.
 * @throws {RouteError} 404 for another path; 403 for a missing, tampered,
 * foreign or expired signature.
 */
export async function verifyPartUrl(
  href: string,
  config: Pick<Config, "signer" | "now">,
): Promise<PartGrant> {
  const action = "Cannot upload a part";
  const path = parseUploadPath(href);
  if (path === undefined || !("part" in path)) {
    throw new RouteError(404, `${action}: no such part URL`);
  }
  const query = new URL(href).searchParams;
  const uploadId = query.get("upload_id");
  const size = decimal(query.get("size"));
  const sha256 = query.get("sha256");
  if (uploadId === null || size === undefined || sha256 === null) {
    throw new RouteError(403, `${action}: the URL is not signed for this`);
  }
  const fields = ["part", path.id, uploadId, path.part, size, sha256] as const;
  const exp = await checkSignature(
    query,
    config,
    fields,
    `Cannot upload part ${path.part}`,
  );
  return { id: path.id, uploadId, number: path.part, size, sha256, exp };
}
