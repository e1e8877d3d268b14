/**
 * Stored files as the API speaks of them, and their expiry: the
 * `FileObject` JSON, when a new file expires, and how long a download URL
 * of it may work.
 *
 * @module
 */

import { DEFAULT_RESOURCE, type FileObject } from "../api.ts";
import type { StoredFile } from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import type { Config } from "./options.ts";

/**
 * The API's JSON of a stored file.
 *
 * @param file The stored file.
 * @returns `{id, name, size, mime_type, resource, uploaded_at, expires_at,
 * sha256?}`; a file stored before files kept a resource is a
 * `"prediction"`.
 */
export function fileObject(file: StoredFile): FileObject {
  return {
    id: file.key,
    name: file.name,
    size: file.size,
    mime_type: file.type,
    resource: file.resource ?? DEFAULT_RESOURCE,
    uploaded_at: file.uploadedAt.toISOString(),
    expires_at: file.expiresAt?.toISOString() ?? null,
    ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
  };
}

/**
 * Tells whether a stored file has expired by the route's clock.
 *
 * @param file The stored file.
 * @param config The route's clock.
 * @returns `true` once `expiresAt` has come.
 */
export function isExpired(
  file: StoredFile,
  config: Pick<Config, "now">,
): boolean {
  return file.expiresAt !== undefined &&
    file.expiresAt.getTime() <= config.now();
}

/**
 * When a file created now expires: `lifetime` seconds from now, as the
 * request asks or the route's default.
 *
 * @param config The route's options.
 * @param lifetime The request's `lifetime`, already a positive safe integer.
 * @param action What is being done, for the message.
 * @returns Seconds since the epoch, or `null` for never.
 * @throws {RouteError} 400 above the route's `maxLifetime`, or for an
 * expiry after the year 9999.
 */
export function newFileExpiry(
  config: Config,
  lifetime: number | undefined,
  action: string,
): number | null {
  if (
    lifetime !== undefined && config.maxLifetime !== undefined &&
    lifetime > config.maxLifetime
  ) {
    throw new RouteError(
      400,
      `${action}: lifetime ${lifetime} is over the limit of ${config.maxLifetime} seconds`,
    );
  }
  const seconds = lifetime ?? config.lifetime;
  if (seconds === undefined) return null;
  const expiry = nowSeconds(config) + seconds;
  if (expiry > LAST_EXPIRY) {
    throw new RouteError(
      400,
      `${action}: lifetime ${seconds} is too long: the file would expire after the year 9999`,
    );
  }
  return expiry;
}

/** The last second a file may expire at: the end of the year 9999. */
const LAST_EXPIRY = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

/**
 * The expiry of a download URL made now: `ttl` seconds from now, but never
 * past the file's own expiry.
 *
 * @param config The route's clock and `downloadTtl`.
 * @param fexp When the file expires, in seconds since the epoch, or `null`.
 * @param ttl How long the URL should work, in seconds.
 * @returns Seconds since the epoch.
 */
export function downloadExpiry(
  config: Pick<Config, "now" | "downloadTtl">,
  fexp: number | null | undefined,
  ttl: number = config.downloadTtl,
): number {
  const exp = nowSeconds(config) + ttl;
  return fexp === null || fexp === undefined ? exp : Math.min(exp, fexp);
}

/**
 * A stored file's expiry in seconds since the epoch, as URLs carry it.
 *
 * @param file The stored file.
 * @returns The seconds, rounded down, or `null` for never.
 */
export function fileExp(file: StoredFile): number | null {
  return file.expiresAt === undefined
    ? null
    : Math.floor(file.expiresAt.getTime() / 1000);
}

/**
 * The route's clock in whole seconds.
 *
 * @param config The route's clock.
 * @returns Seconds since the epoch, rounded down.
 */
export function nowSeconds(config: Pick<Config, "now">): number {
  return Math.floor(config.now() / 1000);
}
