/**
 * `PUT` on an upload URL: exactly the declared bytes, with the declared type,
 * go to storage all or nothing.
 *
 * @module
 */

import type { Context } from "hono";
import type { FileObject } from "../api.ts";
import { essence } from "../_media_type.ts";
import {
  type FileInfo,
  type Storage,
  StorageConflictError,
  StorageFullError,
  type StoredFile,
} from "../storage/mod.ts";
import { type CountedBody, exactSize } from "../storage/_common.ts";
import { GuardedBody, refuseWhenStopping } from "./_body.ts";
import { RouteError } from "./_errors.ts";
import { fileObject } from "./_file_object.ts";
import { verifyUrl } from "./_signed_url.ts";
import type { Config } from "./options.ts";

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Handles `PUT` on an upload URL.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns `201` with the stored file's `FileObject`.
 * @throws {RouteError} 404 for a path that is no upload URL; 403 for a bad or
 * expired signature; 411 without an exact `Content-Length`; 400 for a smaller
 * length or a body that ends early; 413 for a larger one; 415 for another
 * type; 409 if the file is stored, being stored or deleted; 408 for a body
 * that stalls; 503 once the route shuts down; 507 if the storage is full.
 */
export async function upload(c: Context, config: Config): Promise<Response> {
  const grant = await verifyUrl(c.req.url, config, "upload");
  const { id, size, type } = grant;
  const action = `Cannot upload ${JSON.stringify(grant.name)}`;
  checkHeaders(c.req.raw.headers, grant.size, grant.type, action);
  refuseWhenStopping(config, action);
  const storage = config.storage as Storage;
  if (await storage.stat(id) !== undefined) {
    throw new RouteError(409, `${action}: the file is already uploaded`);
  }
  const info: FileInfo = {
    name: grant.name,
    size,
    type,
    ...(grant.resource === undefined ? {} : { resource: grant.resource }),
    ...(grant.fexp === null ? {} : { expiresAt: new Date(grant.fexp * 1000) }),
  };

  // Count what arrives, so that even a storage that does not check sizes
  // never gets more or less than declared.
  const guard = new GuardedBody(c.req.raw.body, config);
  const counter = exactSize(guard.stream, size, action);
  const body = counter.stream;
  let file: StoredFile;
  try {
    file = await storage.put(id, body, info);
  } catch (error) {
    if (error instanceof StorageConflictError) {
      throw new RouteError(
        409,
        `${action}: the file is already being uploaded, or was deleted`,
      );
    }
    throw storeFailure(error, guard, counter, size, action) ?? error;
  }
  await notifyUploaded(config, file);
  const answer: FileObject = fileObject(file);
  return Response.json(answer, {
    status: 201,
    headers: { etag: etag(file), "cache-control": "no-store" },
  });
}

/**
 * The 409 for a part or completion held up by another request: by the
 * route's `bodyTimeout` that request has ended, or been cut if its client
 * went away unseen; one that died with its process is over when the
 * storage says (`retryAfter`). `Retry-After` tells the wait.
 *
 * @param config The route's settings.
 * @param error What the storage threw.
 * @param message What was held up, and by what.
 * @returns The answer.
 */
export function busyConflict(
  config: Config,
  error: StorageConflictError,
  message: string,
): RouteError {
  const wait = Math.max(
    Math.ceil(config.bodyTimeout / 1000),
    error.retryAfter ?? 0,
  );
  return new RouteError(409, `${message}; try again in ${wait} s`, {
    "retry-after": String(wait),
  });
}

/**
 * The answer to give when a storage refused a body, if the body or a full
 * storage explains it: 408 or 503 if the guard cut the body, 507 for a full
 * storage, 413 or 400 for a body longer or shorter than declared (counted as
 * it arrived from the request).
 *
 * @param error What the storage threw.
 * @param guard The request's body, guarded.
 * @param counter The body's exact size check.
 * @param size The declared size.
 * @param action What was being done, for messages.
 * @returns The answer, or `undefined` for another failure (a 500).
 */
export function storeFailure(
  error: unknown,
  guard: GuardedBody,
  counter: CountedBody,
  size: number,
  action: string,
): RouteError | undefined {
  const cut = guard.failure(action);
  if (cut !== undefined) return cut;
  if (error instanceof StorageFullError) {
    return new RouteError(507, `${action}: the storage is full`);
  }
  if (counter.received > size) {
    return new RouteError(
      413,
      `${action}: the body is longer than ${size} bytes`,
    );
  }
  // Only a body that the client ended or broke off is the client's fault;
  // a storage that stopped reading is not.
  if (
    (guard.ended && guard.received < size) || error instanceof RangeError
  ) {
    return new RouteError(
      400,
      `${action}: the body ended after ${guard.received} of ${size} bytes`,
    );
  }
  return undefined;
}

/** Refuses a body that is chunked, of another length, or of another type. */
function checkHeaders(
  headers: Headers,
  size: number,
  type: string,
  action: string,
): void {
  checkLength(headers, size, action);
  const contentType = headers.get("content-type");
  if (contentType === null || essence(contentType) !== essence(type)) {
    throw new RouteError(
      415,
      `${action}: Content-Type ${
        JSON.stringify(contentType ?? "")
      } is not the declared ${JSON.stringify(type)}`,
    );
  }
}

/**
 * Refuses a body that is chunked or of another length than `size`.
 *
 * @param headers The request's headers.
 * @param size The exact size the body must have.
 * @param action What is being done, for messages.
 * @throws {RouteError} 411 without `Content-Length` or with
 * `Transfer-Encoding`; 400 for a malformed or smaller length; 413 for a
 * larger one.
 */
export function checkLength(
  headers: Headers,
  size: number,
  action: string,
): void {
  if (headers.has("transfer-encoding")) {
    throw new RouteError(
      411,
      `${action}: send the body with a Content-Length, not Transfer-Encoding`,
    );
  }
  const lengthHeader = headers.get("content-length");
  if (lengthHeader === null) {
    throw new RouteError(411, `${action}: Content-Length is missing`);
  }
  if (!DECIMAL.test(lengthHeader) || !Number.isSafeInteger(+lengthHeader)) {
    throw new RouteError(
      400,
      `${action}: Content-Length ${
        JSON.stringify(lengthHeader)
      } is not a decimal number`,
    );
  }
  const length = Number(lengthHeader);
  if (length < size) {
    throw new RouteError(
      400,
      `${action}: Content-Length ${length} is less than the declared ${size} bytes`,
    );
  }
  if (length > size) {
    throw new RouteError(
      413,
      `${action}: Content-Length ${length} is more than the declared ${size} bytes`,
    );
  }
}

/**
 * Calls `onUploaded` for a file just stored. An error it throws is logged,
 * and the upload stands.
 *
 * @param config The route's options.
 * @param file The stored file.
 */
export async function notifyUploaded(
  config: Config,
  file: StoredFile,
): Promise<void> {
  if (config.onUploaded === undefined) return;
  try {
    await config.onUploaded(file);
  } catch (error) {
    console.error(`fileurls: onUploaded failed for "${file.key}":`, error);
  }
}

/**
 * The strong ETag of a stored file: its key and when it was stored.
 *
 * @param file The file.
 * @returns E.g. `"abc.lq3x9k2"` with the quotes.
 */
export function etag(file: StoredFile): string {
  return `"${file.key}.${file.uploadedAt.getTime().toString(36)}"`;
}
