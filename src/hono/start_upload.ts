/**
 * `POST /files/uploads`: starts a multipart upload and answers its
 * capability URL, the part size, and the download URL.
 *
 * @module
 */

import type { Context } from "hono";
import type { CreateUploadParams, MultipartUpload } from "../api.ts";
import { checkUploadParams } from "../_params.ts";
import { fileId } from "../_encoding.ts";
import type { MultipartLimits, PresignedMultipart } from "../storage/mod.ts";
import { StorageConflictError, StorageFullError } from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import { downloadExpiry, newFileExpiry, nowSeconds } from "./_file_object.ts";
import { signSessionUrl } from "./_multipart_url.ts";
import { signDownloadUrl } from "./_signed_url.ts";
import { baseUrl, readParams } from "./create_urls.ts";
import type { Config } from "./options.ts";

/** The limits of a store that names none: S3's. */
const DEFAULT_LIMITS: MultipartLimits = {
  minPartSize: 1,
  maxPartSize: 5 * 1024 ** 3,
  maxParts: 10_000,
};

const ACTION = "Cannot start an upload";

/**
 * Handles `POST /files/uploads`, after the API key check and body limit.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `201 {id, name, size, mime_type, upload_url, download_url,
 * part_size, max_parts, expires_at}`.
 * @throws {RouteError} As `POST /files/urls` does; 413 if the file needs
 * more parts than the store takes; 404 if the storage has no multipart; 507
 * if the storage is full.
 */
export async function startUpload(
  c: Context,
  config: Config,
): Promise<Response> {
  const store = requireMultipart(config, ACTION);
  const params = await readParams(c, config, ACTION, checkUploadParams);
  if (params.size === 0) {
    throw new RouteError(
      400,
      `${ACTION}: an empty file has no parts; create its URLs with POST /files/urls`,
    );
  }
  const fexp = newFileExpiry(config, params.lifetime, ACTION);
  const limits = store.limits ?? DEFAULT_LIMITS;
  const partSize = choosePartSize(params, config, limits);

  const id = fileId(config.now());
  const { name, mime_type: type, resource } = params;
  // Not past the file's own end: a file that expired before it was whole
  // is not taken, and its parts go with the upload's expiry.
  const exp = fexp === null
    ? nowSeconds(config) + config.multipartTtl
    : Math.min(nowSeconds(config) + config.multipartTtl, fexp);
  let uploadId: string;
  try {
    uploadId = await store.create(id, {
      name,
      type,
      size: params.size ?? undefined,
      partSize,
      expiresAt: new Date(exp * 1000),
      resource,
      ...(fexp === null ? {} : { fileExpiresAt: new Date(fexp * 1000) }),
    });
  } catch (error) {
    // A fresh random id is never taken; a store that says so is broken.
    if (error instanceof StorageConflictError) throw new Error(error.message);
    if (error instanceof StorageFullError) {
      throw new RouteError(507, `${ACTION}: the storage is full`);
    }
    throw error;
  }
  const base = baseUrl(c, config, "/files/uploads");
  const signer = await config.signer;
  const answer: MultipartUpload = {
    id,
    name,
    size: params.size ?? null,
    mime_type: type,
    upload_url: await signSessionUrl(signer, base, {
      id,
      uploadId,
      name,
      size: params.size,
      type,
      partSize,
      fileResource: resource,
      fexp,
      exp,
    }),
    download_url: await downloadUrl(config, base, { id, name, type, fexp }),
    part_size: partSize,
    max_parts: Math.min(
      limits.maxParts,
      Math.ceil((params.size ?? config.maxSize) / partSize),
    ),
    expires_at: new Date(exp * 1000).toISOString(),
  };
  return Response.json(answer, {
    status: 201,
    headers: { "cache-control": "no-store" },
  });
}

/**
 * The storage's multipart calls.
 *
 * @param config The route's options.
 * @param action What is being done, for the message.
 * @returns The calls.
 * @throws {RouteError} 404 if the storage has none.
 */
export function requireMultipart(
  config: Config,
  action: string,
): NonNullable<Config["multipart"]> {
  if (config.multipart === undefined) {
    throw new RouteError(404, `${action}: this API has no multipart uploads`);
  }
  return config.multipart;
}

/**
 * A download URL for a file of a multipart upload: the route's own, or the
 * presigned storage's.
 *
 * @param config The route's options.
 * @param base The mount point's external URL.
 * @param file The file id, declared name and type, and when the file
 * expires (`null`: never).
 * @returns The URL, valid for `downloadTtl` from now, never past the file's
 * expiry.
 */
export async function downloadUrl(
  config: Config,
  base: string,
  file: { id: string; name: string; type: string; fexp: number | null },
): Promise<string> {
  const { id, name, type } = file;
  const exp = downloadExpiry(config, file.fexp);
  if (config.presigned) {
    return await (config.multipart as PresignedMultipart).presignDownload(
      id,
      { name, type },
      new Date(exp * 1000),
    );
  }
  return await signDownloadUrl(await config.signer, base, { id, name, exp });
}

/**
 * The part size: the one asked for (or the route's default), within the
 * route's and the store's bounds, large enough that the file (or, of
 * unknown size, `maxSize`) fits in the store's most parts, and, for a
 * file of unknown size, no larger than `maxSize` unless the store's
 * smallest part is.
 */
function choosePartSize(
  params: CreateUploadParams & { size: number | null },
  config: Config,
  limits: MultipartLimits,
): number {
  const min = Math.max(config.minPartSize, limits.minPartSize);
  const total = params.size ?? config.maxSize;
  const needed = Math.ceil(total / limits.maxParts);
  const size = Math.min(
    Math.max(params.part_size ?? config.partSize, min, needed),
    params.size === null ? Math.max(config.maxSize, min) : Infinity,
    limits.maxPartSize,
  );
  if (Math.ceil(total / size) > limits.maxParts) {
    throw new RouteError(
      413,
      `${ACTION}: ${total} bytes need more than ${limits.maxParts} parts of at most ${limits.maxPartSize} bytes`,
    );
  }
  return size;
}
