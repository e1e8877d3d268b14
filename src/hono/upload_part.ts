/**
 * `PUT` on a part URL: exactly the signed number of bytes, with exactly the
 * signed SHA-256, go to storage as one part of a multipart upload, all or
 * nothing.
 *
 * @module
 */

import type { Context } from "hono";
import type { UploadedPart } from "../api.ts";
import { ChecksumError, Sha256CheckStream } from "../_sha256.ts";
import {
  type Storage,
  StorageConflictError,
  type StorageMultipart,
  StorageNotFoundError,
} from "../storage/mod.ts";
import { ExactSizeStream } from "../storage/_common.ts";
import { RouteError } from "./_errors.ts";
import { verifyPartUrl } from "./_multipart_url.ts";
import type { Config } from "./options.ts";
import { checkLength } from "./upload.ts";

/**
 * Handles `PUT` on a part URL.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200 {number, size, sha256}`.
 * @throws {RouteError} 404 for a path that is no part URL or an upload that
 * is gone; 403 for a bad or expired signature; 411, 400 or 413 for a body
 * of another length; 400 for another SHA-256; 409 if the upload is complete
 * or the same part is being written.
 */
export async function uploadPart(
  c: Context,
  config: Config,
): Promise<Response> {
  const grant = await verifyPartUrl(c.req.url, config);
  const action = `Cannot upload part ${grant.number}`;
  const store = config.multipart as StorageMultipart | undefined;
  if (config.presigned || store === undefined) {
    throw new RouteError(404, `${action}: this API takes no parts itself`);
  }
  checkLength(c.req.raw.headers, grant.size, action);
  const counter = new ExactSizeStream(grant.size, action);
  const body = (c.req.raw.body ?? new Blob([]).stream())
    .pipeThrough(counter)
    .pipeThrough(new Sha256CheckStream(grant.sha256, action));
  const part = { number: grant.number, size: grant.size, sha256: grant.sha256 };
  try {
    await store.put(grant.id, grant.uploadId, part, body);
  } catch (error) {
    if (error instanceof ChecksumError) {
      throw new RouteError(400, error.message);
    }
    if (error instanceof StorageConflictError) {
      throw new RouteError(
        409,
        `${action}: the upload is being completed, or this part is being uploaded`,
      );
    }
    if (error instanceof StorageNotFoundError) {
      if (await (config.storage as Storage).stat(grant.id) !== undefined) {
        throw new RouteError(409, `${action}: the upload is already complete`);
      }
      throw new RouteError(404, `${action}: the upload was aborted or is gone`);
    }
    if (counter.received > grant.size) {
      throw new RouteError(
        413,
        `${action}: the body is longer than ${grant.size} bytes`,
      );
    }
    if (counter.received < grant.size || error instanceof RangeError) {
      throw new RouteError(
        400,
        `${action}: the body ended after ${counter.received} of ${grant.size} bytes`,
      );
    }
    throw error;
  }
  const answer: UploadedPart = part;
  return Response.json(answer, {
    status: 200,
    headers: { "cache-control": "no-store" },
  });
}
