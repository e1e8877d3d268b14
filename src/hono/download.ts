/**
 * `GET` and `HEAD` on a download URL: the stored file with its declared type
 * (scripts and styles excepted) and name, a strong ETag, single byte ranges,
 * and the headers that keep it from running in the route's origin.
 *
 * @module
 */

import type { Context } from "hono";
import {
  contentDisposition,
  isInlineType,
  servedType,
} from "../_content_disposition.ts";
import type { ByteRange, Storage } from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import { isExpired } from "./_file_object.ts";
import { ExpiredUrlError, parseFilePath, verifyUrl } from "./_signed_url.ts";
import type { Config } from "./options.ts";
import { etag } from "./upload.ts";

/**
 * The `Content-Security-Policy` of every download: a unique opaque origin,
 * with no script, plugin, form or navigation of its own.
 */
const SANDBOX = "sandbox";

/**
 * Handles `GET` (and, through Hono, `HEAD`) on a download URL.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns 200 with the file, 206 with a range, 304 for a matching
 * `If-None-Match`.
 * @throws {RouteError} 404 for a path that is no download URL or a file not
 * uploaded yet, deleted or expired (even once the URL has expired too); 403
 * for a bad signature, or an expired one of a file still stored; 416 for a
 * range outside the file.
 */
export async function download(c: Context, config: Config): Promise<Response> {
  const storage = config.storage as Storage;
  const grant = await verifyUrl(c.req.url, config, "download").catch(
    async (error) => {
      // A URL that ran out with its file (download URLs never outlive their
      // file) or after its file was deleted: 404, as for the file.
      if (error instanceof ExpiredUrlError) {
        const { id } = parseFilePath(c.req.url, "Cannot download");
        const file = await storage.stat(id);
        if (file === undefined || isExpired(file, config)) {
          throw new RouteError(
            404,
            `Cannot download: the file has expired or was deleted`,
          );
        }
      }
      throw error;
    },
  );
  const action = `Cannot download ${JSON.stringify(grant.name)}`;
  const file = await storage.stat(grant.id);
  if (file === undefined) {
    throw new RouteError(
      404,
      `${action}: the file is not uploaded yet, or was deleted`,
    );
  }
  if (isExpired(file, config)) {
    throw new RouteError(404, `${action}: the file has expired`);
  }

  const tag = etag(file);
  const maxAge = Math.max(0, grant.exp - Math.floor(config.now() / 1000));
  const headers = new Headers({
    "etag": tag,
    "cache-control": `private, max-age=${maxAge}, immutable`,
    "accept-ranges": "bytes",
    // On every answer below: 200, 206, 304, HEAD and 416.
    "x-content-type-options": "nosniff",
    "content-security-policy": SANDBOX,
  });
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, tag)) {
    return new Response(null, { status: 304, headers });
  }

  let range: ByteRange | "unsatisfiable" | undefined;
  const ifRange = c.req.header("if-range");
  if (ifRange === undefined || ifRange.trim() === tag) {
    range = parseRange(c.req.header("range"), file.size);
  }
  if (range === "unsatisfiable") {
    const kept: Record<string, string> = {};
    headers.forEach((value, key) => (kept[key] = value));
    delete kept["cache-control"]; // An error is never cached.
    throw new RouteError(
      416,
      `${action}: the range is outside the file's ${file.size} bytes`,
      { ...kept, "content-range": `bytes */${file.size}` },
    );
  }
  headers.set("content-type", servedType(file.type));
  headers.set(
    "content-disposition",
    contentDisposition(file.name, isInlineType(file.type, { sandboxed: true })),
  );
  const status = range === undefined ? 200 : 206;
  const length = range === undefined ? file.size : range.end - range.start + 1;
  headers.set("content-length", String(length));
  if (range !== undefined) {
    headers.set(
      "content-range",
      `bytes ${range.start}-${range.end}/${file.size}`,
    );
  }
  if (c.req.method === "HEAD" || length === 0) {
    return new Response(null, { status, headers });
  }
  const body = storage.blob === undefined
    ? await storage.read(grant.id, range)
    : await storage.blob(grant.id, range);
  if (body === undefined) {
    throw new RouteError(404, `${action}: the file is not uploaded yet`);
  }
  return new Response(body, { status, headers });
}

function matchesEtag(header: string, tag: string): boolean {
  if (header.trim() === "*") return true;
  return header.split(",").some((value) =>
    value.trim().replace(/^W\//, "") === tag
  );
}

/**
 * Reads a single `bytes=` range. A multi-range or malformed header is
 * ignored (the whole file is sent, as RFC 9110 allows).
 */
function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*$/i.exec(header.trim());
  if (match === null) return undefined;
  const [, first, last] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Infinity : Number(last);
  if (end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}
