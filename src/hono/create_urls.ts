/**
 * `POST /files/urls`: checks the caller and the file's description, then
 * answers a signed upload URL and download URL (the route's own, or a
 * presigned storage's).
 *
 * @module
 */

import type { Context } from "hono";
import type { CreateFileUrlsParams, FileUrls } from "../api.ts";
import { checkCreateParams } from "../_params.ts";
import { essence } from "../_media_type.ts";
import { fileId } from "../_encoding.ts";
import type { FileInfo, PresignedStorage } from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import { downloadExpiry, newFileExpiry, nowSeconds } from "./_file_object.ts";
import {
  signCompleteUrl,
  signDownloadUrl,
  signUploadUrl,
} from "./_signed_url.ts";
import type { Config } from "./options.ts";

const ACTION = "Cannot create file URLs";

/**
 * Handles `POST /files/urls`, after the API key check and the body limit
 * (`jsonBody` in `_body.ts`, which read the body).
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `201 {id, upload_url, download_url, expires_at}`, and
 * `complete_url` with a presigned storage that confirms uploads.
 * @throws {RouteError} 400 for a malformed body or a `lifetime` over
 * `maxLifetime`, 413 above `maxSize` or the store's limit, 415 outside
 * `allowedTypes`, 403 when `authorize` says no.
 */
export async function createUrls(
  c: Context,
  config: Config,
): Promise<Response> {
  const params = await readParams(c, config, ACTION, checkCreateParams);
  const fexp = newFileExpiry(config, params.lifetime, ACTION);
  const grant: Grant = {
    id: fileId(config.now()),
    base: baseUrl(c, config, "/files/urls"),
    // Not past the file's own end: a file that expired is not taken.
    uploadExp: fexp === null
      ? nowSeconds(config) + config.uploadTtl
      : Math.min(nowSeconds(config) + config.uploadTtl, fexp),
    downloadExp: downloadExpiry(config, fexp),
    fexp,
  };
  const urls = config.presigned
    ? await presign(config, params, grant)
    : await sign(config, params, grant);
  // What the URLs were made for, so that whoever uploads to them (with
  // `uploadTo()`, no API key) sends the type they require.
  const { id, ...rest } = urls;
  const answer: Answer = {
    id,
    name: params.name,
    size: params.size,
    mime_type: params.mime_type,
    ...rest,
  };
  return Response.json(answer, {
    status: 201,
    headers: { "cache-control": "no-store" },
  });
}

/**
 * Reads the JSON body of a request that describes a file, checks it by the
 * API's rules (`check`), then by the route's own limits, then asks
 * `authorize`.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @param action What is being done, for messages.
 * @param check The API's rules for this body.
 * @returns The fields.
 * @throws {RouteError} 400 for a malformed body, 413 above `maxSize`, 415
 * outside `allowedTypes`, 403 when `authorize` says no.
 */
export async function readParams<
  T extends Omit<CreateFileUrlsParams, "size"> & { size: number | null },
>(
  c: Context,
  config: Config,
  action: string,
  check: (params: Record<string, unknown>, action: string) => T,
): Promise<T> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new RouteError(400, `${action}: the body is not valid JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RouteError(400, `${action}: the body must be a JSON object`);
  }
  let params: T;
  try {
    params = check(body as Record<string, unknown>, action);
  } catch (error) {
    throw new RouteError(400, (error as Error).message);
  }
  if (!config.resources.includes(params.resource)) {
    throw new RouteError(
      400,
      `${action}: resource ${JSON.stringify(params.resource)} is not one of ${
        config.resources.map((value) => JSON.stringify(value)).join(", ")
      }`,
    );
  }
  if (params.size !== null && params.size > config.maxSize) {
    throw new RouteError(
      413,
      `${action}: size ${params.size} is over the limit of ${config.maxSize} bytes`,
    );
  }
  if (
    config.allowedTypes !== undefined &&
    !isAllowedType(config.allowedTypes, params.mime_type)
  ) {
    throw new RouteError(
      415,
      `${action}: mime_type ${JSON.stringify(params.mime_type)} is not allowed`,
    );
  }
  // An upload of unknown size is described by the most it may hold.
  const described = { ...params, size: params.size ?? config.maxSize };
  if (
    config.authorize !== undefined && !await config.authorize(c, described)
  ) {
    throw new RouteError(403, `${action}: not allowed`);
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

/**
 * The mount point's external URL: `publicUrl`, or the request URL without
 * the endpoint's own path.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @param path The endpoint's path after the mount point, as requested.
 * @returns The URL, without a trailing slash.
 */
export function baseUrl(c: Context, config: Config, path: string): string {
  const url = new URL(c.req.url);
  return config.publicUrl ?? url.origin + url.pathname.slice(0, -path.length);
}

/** The new file's id, where its URLs go, and when each expires. */
interface Grant {
  id: string;
  base: string;
  /** Seconds since the epoch, as every `exp`. */
  uploadExp: number;
  downloadExp: number;
  /** When the stored file expires; `null`: never. */
  fexp: number | null;
}

type Answer = FileUrls & { id: string; expires_at: string };

/** The route's own URLs, under `publicUrl` or the request's mount point. */
async function sign(
  config: Config,
  params: CreateFileUrlsParams,
  grant: Grant,
): Promise<Answer> {
  const { id, base, uploadExp, downloadExp, fexp } = grant;
  const signer = await config.signer;
  const { name, size, mime_type: type, resource } = params;
  return {
    id,
    upload_url: await signUploadUrl(signer, base, {
      id,
      name,
      size,
      type,
      resource,
      fexp,
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

/**
 * A presigned storage's URLs, the upload URL's real expiry, and the
 * route's completion URL when the storage confirms uploads.
 */
async function presign(
  config: Config,
  params: CreateFileUrlsParams,
  grant: Grant,
): Promise<Answer> {
  const { id, base, uploadExp, downloadExp, fexp } = grant;
  const storage = config.storage as PresignedStorage;
  const { name, size, mime_type: type, resource } = params;
  const info: FileInfo = {
    name,
    size,
    type,
    resource,
    ...(fexp === null ? {} : { expiresAt: new Date(fexp * 1000) }),
  };
  try {
    const urls = await storage.presign(info, {
      uploadExpiresAt: new Date(uploadExp * 1000),
      downloadExpiresAt: new Date(downloadExp * 1000),
      key: id,
    });
    const expiresAt = urls.uploadExpiresAt ?? new Date(uploadExp * 1000);
    // The client confirms after its PUT, which may end as the upload URL
    // expires: the completion URL works one uploadTtl longer.
    const completeExp = Math.floor(expiresAt.getTime() / 1000) +
      config.uploadTtl;
    return {
      id,
      upload_url: urls.upload_url,
      download_url: urls.download_url,
      expires_at: expiresAt.toISOString(),
      ...(storage.confirm === undefined ? {} : {
        complete_url: await signCompleteUrl(await config.signer, base, {
          id,
          name,
          size,
          type,
          resource,
          fexp,
          exp: completeExp,
        }),
      }),
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
