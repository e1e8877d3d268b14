/**
 * `PUT` on a part URL: exactly the signed number of bytes, with exactly the
 * signed SHA-256, go to storage as one part of a multipart upload, all or
 * nothing.
 *
 * @module
 */

import type { Context } from "hono";
import type { UploadedPart } from "../api.ts";
import { ChecksumError, sha256Checker, Sha256CheckStream } from "../_sha256.ts";
import { pacedCollector } from "../_runtime.ts";
import {
  type Storage,
  StorageConflictError,
  type StorageMultipart,
  StorageNotFoundError,
} from "../storage/mod.ts";
import { exactSize } from "../storage/_common.ts";
import { GuardedBody, refuseWhenStopping } from "./_body.ts";
import { RouteError } from "./_errors.ts";
import { verifyPartUrl } from "./_multipart_url.ts";
import type { Config } from "./options.ts";
import { busyConflict, checkLength, storeFailure } from "./upload.ts";

/**
 * Parts received, counted for Bun's garbage collector (a collection every
 * 20 MiB, at most a tenth of the time): it frees request bodies late, and a
 * 1 GiB upload in 5 MiB parts grew the server by about 80 MiB without it,
 * 55 with it (`bench/server_memory.ts`).
 */
const collect = pacedCollector(20 * 1024 * 1024, 0.1);

/**
 * Handles `PUT` on a part URL.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `200 {number, size, sha256}`.
 * @throws {RouteError} 404 for a path that is no part URL or an upload that
 * is gone; 403 for a bad or expired signature; 411, 400 or 413 for a body
 * of another length; 400 for another SHA-256; 409 if the upload is complete,
 * or (with `Retry-After`: the route's `bodyTimeout`, or longer if the
 * storage says so) if the same part is being written; 408 for a body that
 * stalls; 503 once
 * the route shuts down; 507 if the storage is full.
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
  refuseWhenStopping(config, action);
  const guard = new GuardedBody(c.req.raw.body, config);
  // The checksum is checked in the counter's step where the runtime hashes
  // as bytes pass: each stream a chunk goes through costs throughput.
  const checker = sha256Checker(grant.sha256, action);
  const counter = exactSize(guard.stream, grant.size, action, checker);
  const body = checker !== undefined
    ? counter.stream
    : counter.stream.pipeThrough(new Sha256CheckStream(grant.sha256, action));
  const part = { number: grant.number, size: grant.size, sha256: grant.sha256 };
  try {
    await store.put(grant.id, grant.uploadId, part, body);
    collect(grant.size);
  } catch (error) {
    const cut = guard.failure(action);
    if (cut !== undefined) throw cut;
    if (error instanceof ChecksumError) {
      throw new RouteError(400, error.message);
    }
    if (error instanceof StorageConflictError) {
      throw busyConflict(
        config,
        error,
        `${action}: another request is writing this part, or completing the upload`,
      );
    }
    if (error instanceof StorageNotFoundError) {
      if (await (config.storage as Storage).stat(grant.id) !== undefined) {
        throw new RouteError(409, `${action}: the upload is already complete`);
      }
      throw new RouteError(404, `${action}: the upload was aborted or is gone`);
    }
    throw storeFailure(error, guard, counter, grant.size, action) ?? error;
  }
  const answer: UploadedPart = part;
  return Response.json(answer, {
    status: 200,
    headers: { "cache-control": "no-store" },
  });
}
