/**
 * `POST` on a completion URL: with a presigned storage the bytes went to
 * the store, and this is how the route learns that they arrived. The
 * storage checks the object against what the upload URL was signed for and
 * keeps the file's metadata with it; the first confirmation calls
 * `onUploaded`.
 *
 * @module
 */

import type { Context } from "hono";
import type { FileObject } from "../api.ts";
import {
  type FileInfo,
  type PresignedStorage,
  StorageMismatchError,
  StorageNotFoundError,
} from "../storage/mod.ts";
import { refuseWhenStopping } from "./_body.ts";
import { RouteError } from "./_errors.ts";
import { fileObject, isExpired } from "./_file_object.ts";
import { verifyUrl } from "./_signed_url.ts";
import type { Config } from "./options.ts";
import { notifyUploaded } from "./upload.ts";

/**
 * Handles `POST {base}/files/{id}/complete?name&size&type&res&fexp&exp&kid&sig`.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200` with the file's {@linkcode FileObject}, also when it was
 * confirmed before.
 * @throws {RouteError} 403 for a bad or expired signature; 404 when nothing
 * was uploaded to the key, or it was deleted or has expired; 400 when the
 * object has another size or type (the storage removed it); 501 if the
 * storage cannot confirm; 503 once the route shuts down.
 */
export async function confirmUpload(
  c: Context,
  config: Config,
): Promise<Response> {
  const grant = await verifyUrl(c.req.url, config, "complete");
  const action = `Cannot confirm the upload of ${JSON.stringify(grant.name)}`;
  refuseWhenStopping(config, action);
  const storage = config.storage as PresignedStorage;
  if (storage.confirm === undefined) {
    throw new RouteError(501, `${action}: the storage cannot confirm uploads`);
  }
  const info: FileInfo = {
    name: grant.name,
    size: grant.size,
    type: grant.type,
    ...(grant.resource === undefined ? {} : { resource: grant.resource }),
    ...(grant.fexp === null ? {} : { expiresAt: new Date(grant.fexp * 1000) }),
  };
  let result: Awaited<ReturnType<NonNullable<PresignedStorage["confirm"]>>>;
  try {
    result = await storage.confirm(grant.id, info);
  } catch (error) {
    if (error instanceof StorageNotFoundError) {
      throw new RouteError(
        404,
        `${action}: nothing was uploaded, or the file was deleted`,
      );
    }
    if (error instanceof StorageMismatchError) {
      // The storage's message names the key; say what differs.
      const detail = error.message.replace(/^Cannot confirm "[^"]*": /, "");
      throw new RouteError(
        400,
        `${action}: the stored object differs (${detail}); it was removed`,
      );
    }
    throw error;
  }
  const { file, confirmed } = result;
  if (isExpired(file, config)) {
    throw new RouteError(404, `${action}: the file has expired`);
  }
  if (confirmed) await notifyUploaded(config, file);
  const answer: FileObject = fileObject(file);
  return Response.json(answer, {
    status: 200,
    headers: { "cache-control": "no-store" },
  });
}
