/**
 * Managing stored files with an API key: `GET /files` lists them newest
 * first, `GET /files/{id}` describes one, `DELETE /files/{id}` removes it
 * for good, and `POST /files/{id}/download_url` signs a fresh download URL.
 * Each asks the route's `manage` hook, when set, after the API key.
 *
 * @module
 */

import type { Context } from "hono";
import type { DownloadUrl, FileList, FileObject } from "../api.ts";
import { decodeBase64url, encodeBase64url } from "../_encoding.ts";
import type {
  PresignedStorage,
  Storage,
  StoredFile,
  StoredFileList,
} from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import {
  downloadExpiry,
  fileExp,
  fileObject,
  isExpired,
} from "./_file_object.ts";
import { decimal, parseFilePath, signDownloadUrl } from "./_signed_url.ts";
import { baseUrl } from "./create_urls.ts";
import type { Config, ManageRequest } from "./options.ts";

/** The page size of `GET /files` without `limit`. */
export const DEFAULT_LIMIT = 100;
/** The largest `limit` of `GET /files`. */
export const MAX_LIMIT = 1000;

/**
 * Handles `GET /files?resource&limit&cursor`, after the API key check.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200 {files, next_cursor}`: up to `limit` files, newest first,
 * without expired ones (so a page may be short, even empty, with a cursor).
 * @throws {RouteError} 400 for a `limit` outside 1 to 1000, a malformed
 * `cursor` or a `resource` the route does not take; 403 when `manage` says
 * no; 501 if the storage cannot list.
 */
export async function listFiles(
  c: Context,
  config: Config,
): Promise<Response> {
  const action = "Cannot list files";
  const query = new URL(c.req.url).searchParams;
  const resource = query.get("resource") ?? undefined;
  if (resource !== undefined && !config.resources.includes(resource)) {
    throw new RouteError(
      400,
      `${action}: resource ${JSON.stringify(resource)} is not one of ${
        config.resources.map((value) => JSON.stringify(value)).join(", ")
      }`,
    );
  }
  const limitText = query.get("limit");
  const limit = limitText === null ? DEFAULT_LIMIT : decimal(limitText);
  if (limit === undefined || limit < 1 || limit > MAX_LIMIT) {
    throw new RouteError(
      400,
      `${action}: limit must be a whole number from 1 to ${MAX_LIMIT}, got ${
        JSON.stringify(limitText)
      }`,
    );
  }
  const cursorText = query.get("cursor");
  const cursor = cursorText === null ? undefined : unwrapCursor(cursorText);
  if (cursor === "") {
    throw new RouteError(400, `${action}: the cursor is malformed`);
  }
  await allow(c, config, {
    action: "list",
    ...(resource === undefined ? {} : { resource }),
  }, action);
  const storage = config.storage as Storage | PresignedStorage;
  if (storage.list === undefined) {
    throw new RouteError(
      501,
      `${action}: the storage cannot list files (it has no list())`,
    );
  }
  let page: StoredFileList;
  try {
    page = await storage.list({
      limit,
      ...(resource === undefined ? {} : { resource }),
      ...(cursor === undefined ? {} : { cursor }),
    });
  } catch (error) {
    // The storage's word for a cursor that is none of its keys.
    if (error instanceof TypeError && cursor !== undefined) {
      throw new RouteError(400, `${action}: the cursor is malformed`);
    }
    throw error;
  }
  const answer: FileList = {
    files: page.files.filter((file) => !isExpired(file, config)).map(
      fileObject,
    ),
    next_cursor: page.cursor === undefined ? null : wrapCursor(page.cursor),
  };
  return json(answer, 200);
}

/**
 * Handles `GET /files/{id}`, after the API key check.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200` with the file's {@linkcode FileObject}.
 * @throws {RouteError} 404 for an id that is unknown, malformed, expired or
 * deleted; 403 when `manage` says no; 501 if the storage cannot look files
 * up.
 */
export async function getFile(c: Context, config: Config): Promise<Response> {
  const { file } = await lookUp(c, config, "get", "Cannot get the file");
  const answer: FileObject = fileObject(file);
  return json(answer, 200);
}

/**
 * Handles `DELETE /files/{id}`, after the API key check. The storage keeps
 * the id deleted for good: its download URLs answer 404, and its upload URL
 * 409.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `204`.
 * @throws {RouteError} 404 for an id that is unknown, malformed, expired
 * (which is removed all the same) or already deleted; 403 when `manage`
 * says no; 501 if the storage cannot delete.
 */
export async function deleteFile(
  c: Context,
  config: Config,
): Promise<Response> {
  const action = "Cannot delete the file";
  const { id, file, expired } = await find(c, config, "delete", action);
  const storage = config.storage as Storage | PresignedStorage;
  if (file !== undefined) {
    if (storage.delete === undefined) {
      throw new RouteError(501, `${action}: the storage cannot delete files`);
    }
    await storage.delete(id);
  }
  if (file === undefined || expired) throw notFound(action, expired);
  return new Response(null, {
    status: 204,
    headers: { "cache-control": "no-store" },
  });
}

/**
 * Handles `POST /files/{id}/download_url` with an optional JSON body
 * `{expires_in}`, after the API key check and the body limit.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200 {download_url, expires_at}`: a URL that works for
 * `expires_in` seconds (by default `downloadTtl`), never past the file's
 * expiry.
 * @throws {RouteError} 400 for a malformed body or an `expires_in` that is
 * not a positive whole number up to `maxDownloadTtl`; 404 for an unknown,
 * expired or deleted file; 403 when `manage` says no; 501 if the storage
 * cannot sign download URLs.
 */
export async function createDownloadUrl(
  c: Context,
  config: Config,
): Promise<Response> {
  const action = "Cannot create a download URL";
  const expiresIn = await readExpiresIn(c, config, action);
  const { id, file } = await lookUp(c, config, "download_url", action);
  const exp = downloadExpiry(config, fileExp(file), expiresIn);
  const expiresAt = new Date(exp * 1000);
  let url: string;
  if (config.presigned) {
    const storage = config.storage as PresignedStorage;
    const presign = storage.presignDownload?.bind(storage) ??
      storage.multipart?.presignDownload.bind(storage.multipart);
    if (presign === undefined) {
      throw new RouteError(
        501,
        `${action}: the storage cannot sign download URLs`,
      );
    }
    url = await presign(id, { name: file.name, type: file.type }, expiresAt);
  } else {
    const base = baseUrl(c, config, `/files/${id}/download_url`);
    url = await signDownloadUrl(await config.signer, base, {
      id,
      name: file.name,
      exp,
    });
  }
  const answer: DownloadUrl = {
    download_url: url,
    expires_at: expiresAt.toISOString(),
  };
  return json(answer, 200);
}

/** Reads `{expires_in}` from an optional JSON body. */
async function readExpiresIn(
  c: Context,
  config: Config,
  action: string,
): Promise<number> {
  const text = await c.req.text();
  if (text.trim() === "") return config.downloadTtl;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RouteError(400, `${action}: the body is not valid JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RouteError(400, `${action}: the body must be a JSON object`);
  }
  const value = (body as Record<string, unknown>).expires_in;
  if (value === undefined || value === null) return config.downloadTtl;
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 ||
    value > config.maxDownloadTtl
  ) {
    throw new RouteError(
      400,
      `${action}: expires_in must be a whole number of seconds from 1 to ${config.maxDownloadTtl}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/**
 * Finds the file of a `/files/{id}…` request and asks `manage`; 404 unless
 * it is stored and not expired.
 */
async function lookUp(
  c: Context,
  config: Config,
  kind: ManageRequest["action"],
  action: string,
): Promise<{ id: string; file: StoredFile }> {
  const { id, file, expired } = await find(c, config, kind, action);
  if (file === undefined || expired) throw notFound(action, expired);
  return { id, file };
}

/**
 * Reads the id from the raw path, looks the file up, and asks `manage`
 * with the stored file's resource (none for a file not stored, so that the
 * hook's answer never tells which ids exist).
 */
async function find(
  c: Context,
  config: Config,
  kind: ManageRequest["action"],
  action: string,
): Promise<{ id: string; file?: StoredFile; expired: boolean }> {
  const url = new URL(c.req.url);
  url.pathname = url.pathname.replace(/\/download_url$/, "");
  const { id } = parseFilePath(url.href, action);
  const file = await stat(config, id, action);
  await allow(c, config, {
    action: kind,
    id,
    ...(file === undefined ? {} : { resource: fileObject(file).resource }),
  }, action);
  return { id, file, expired: file !== undefined && isExpired(file, config) };
}

/** The storage's `stat`, where a presigned storage keeps it. */
function stat(
  config: Config,
  id: string,
  action: string,
): Promise<StoredFile | undefined> {
  if (!config.presigned) return (config.storage as Storage).stat(id);
  const storage = config.storage as PresignedStorage;
  if (storage.stat !== undefined) return storage.stat(id);
  if (storage.multipart !== undefined) return storage.multipart.stat(id);
  throw new RouteError(501, `${action}: the storage cannot look files up`);
}

/** Asks the route's `manage` hook; 403 when it says no. */
async function allow(
  c: Context,
  config: Config,
  request: ManageRequest,
  action: string,
): Promise<void> {
  if (config.manage !== undefined && !await config.manage(c, request)) {
    throw new RouteError(403, `${action}: not allowed`);
  }
}

function notFound(action: string, expired: boolean): RouteError {
  return new RouteError(
    404,
    `${action}: ${expired ? "the file has expired" : "no such file"}`,
  );
}

/** The opaque cursor: base64url of the storage's own. */
function wrapCursor(cursor: string): string {
  return encodeBase64url(new TextEncoder().encode(cursor));
}

/** The storage's cursor; 400 for text that no wrapped cursor spells. */
function unwrapCursor(text: string): string {
  const bytes = decodeBase64url(text);
  try {
    if (bytes === undefined) throw new TypeError("not base64url");
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new RouteError(400, "Cannot list files: the cursor is malformed");
  }
}

function json(body: unknown, status: number): Response {
  return Response.json(body, {
    status,
    headers: { "cache-control": "no-store" },
  });
}
