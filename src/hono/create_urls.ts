/**
 * `POST /files/urls`: checks the caller and the file's description, then
 * answers a signed upload URL and download URL (the route's own, or a
 * presigned storage's).
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  checkCreateParams,
  type CreateFileUrlsParams,
  type FileUrls,
} from "../api.ts";
import { essence } from "../_media_type.ts";
import { randomId } from "../_encoding.ts";
import type { PresignedStorage } from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import { signDownloadUrl, signUploadUrl } from "./_signed_url.ts";
import type { Config } from "./options.ts";

/** The largest JSON body accepted, in bytes. */
export const MAX_JSON_BYTES = 64 * 1024;

const ACTION = "Cannot create file URLs";

/**
 * Hono's `bodyLimit`, answering 413 with the JSON envelope.
 *
 * @returns The middleware.
 */
export function jsonBodyLimit(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_JSON_BYTES,
    onError: () => {
      throw new RouteError(
        413,
        `${ACTION}: the body is over ${MAX_JSON_BYTES} bytes`,
      );
    },
  });
}

/**
 * Handles `POST /files/urls`, after the API key check and body limit.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `201 {upload_url, download_url, expires_at}`.
 * @throws {RouteError} 400 for a malformed body, 413 above `maxSize` or the
 * store's limit, 415 outside `allowedTypes`, 403 when `authorize` says no.
 */
export async function createUrls(
  c: Context,
  config: Config,
): Promise<Response> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new RouteError(400, `${ACTION}: the body is not valid JSON`);
  }
  const params = checkParams(body, config);
  if (config.authorize !== undefined && !await config.authorize(c, params)) {
    throw new RouteError(403, `${ACTION}: not allowed`);
  }

  const nowSeconds = Math.floor(config.now() / 1000);
  const uploadExp = nowSeconds + config.uploadTtl;
  const downloadExp = nowSeconds + config.downloadTtl;
  const answer = config.presigned
    ? await presign(config, params, uploadExp, downloadExp)
    : await sign(c, config, params, uploadExp, downloadExp);
  return Response.json(answer, {
    status: 201,
    headers: { "cache-control": "no-store" },
  });
}

/** Checks the body by the API's rules, then by the route's limits. */
function checkParams(body: unknown, config: Config): CreateFileUrlsParams {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RouteError(400, `${ACTION}: the body must be a JSON object`);
  }
  let params: CreateFileUrlsParams;
  try {
    params = checkCreateParams(body as Record<string, unknown>, ACTION);
  } catch (error) {
    throw new RouteError(400, (error as Error).message);
  }
  if (!config.resources.includes(params.resource)) {
    throw new RouteError(
      400,
      `${ACTION}: resource ${JSON.stringify(params.resource)} is not one of ${
        config.resources.map((value) => JSON.stringify(value)).join(", ")
      }`,
    );
  }
  if (params.size > config.maxSize) {
    throw new RouteError(
      413,
      `${ACTION}: size ${params.size} is over the limit of ${config.maxSize} bytes`,
    );
  }
  if (
    config.allowedTypes !== undefined &&
    !isAllowedType(config.allowedTypes, params.mime_type)
  ) {
    throw new RouteError(
      415,
      `${ACTION}: mime_type ${JSON.stringify(params.mime_type)} is not allowed`,
    );
  }
  return params;
}

function isAllowedType(allowed: string[], type: string): boolean {
  const value = essence(type);
  return allowed.some((pattern) =>
    pattern === "*/*" || pattern === value ||
    (pattern.endsWith("/*") && value.startsWith(pattern.slice(0, -1)))
  );
}

/** The route's own URLs, under `publicUrl` or the request's mount point. */
async function sign(
  c: Context,
  config: Config,
  params: CreateFileUrlsParams,
  uploadExp: number,
  downloadExp: number,
): Promise<FileUrls & { expires_at: string }> {
  const url = new URL(c.req.url);
  const base = config.publicUrl ??
    url.origin + url.pathname.slice(0, -"/files/urls".length);
  const id = randomId();
  const signer = await config.signer;
  const { name, size, mime_type: type } = params;
  return {
    upload_url: await signUploadUrl(signer, base, {
      id,
      name,
      size,
      type,
      exp: uploadExp,
    }),
    download_url: await signDownloadUrl(signer, base, {
      id,
      name,
      exp: downloadExp,
    }),
    expires_at: new Date(uploadExp * 1000).toISOString(),
  };
}

/** A presigned storage's URLs, and the upload URL's real expiry. */
async function presign(
  config: Config,
  params: CreateFileUrlsParams,
  uploadExp: number,
  downloadExp: number,
): Promise<FileUrls & { expires_at: string }> {
  const storage = config.storage as PresignedStorage;
  const info = { name: params.name, size: params.size, type: params.mime_type };
  try {
    const urls = await storage.presign(info, {
      uploadExpiresAt: new Date(uploadExp * 1000),
      downloadExpiresAt: new Date(downloadExp * 1000),
    });
    return {
      upload_url: urls.upload_url,
      download_url: urls.download_url,
      expires_at: (urls.uploadExpiresAt ?? new Date(uploadExp * 1000))
        .toISOString(),
    };
  } catch (error) {
    // The size is valid by now: a RangeError says the store cannot take
    // a file this large (S3 takes at most 5 GiB in one PUT).
    if (error instanceof RangeError) {
      throw new RouteError(413, `${ACTION}: ${error.message}`);
    }
    throw error;
  }
}
