/**
 * The options of `s3Storage`, checked once: the endpoint, bucket, region,
 * credentials, key prefix and URL style, made into the {@linkcode S3Config}
 * every request uses.
 *
 * @module
 */

import type { S3StorageOptions } from "./s3.ts";
import type { S3Config } from "./_s3_request.ts";

function fail(detail: string): never {
  throw new TypeError(`Cannot create S3 storage: ${detail}`);
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") {
    fail(`${name} must be a non-empty string`);
  }
  return value;
}

/**
 * Checks the options of `s3Storage`.
 *
 * @param options The options as given.
 * @returns The configuration every request uses.
 * @throws {TypeError} If an option is missing or malformed.
 */
export function validate(options: S3StorageOptions): S3Config {
  if (typeof options !== "object" || options === null) {
    fail("options must be an object");
  }
  let endpoint: URL;
  try {
    endpoint = new URL(options.endpoint);
  } catch {
    fail(`endpoint is not a URL: "${String(options.endpoint)}"`);
  }
  if (endpoint.protocol !== "https:" && endpoint.protocol !== "http:") {
    fail(`endpoint must be an http: or https: URL, got "${endpoint.href}"`);
  }
  if (endpoint.search || endpoint.hash || endpoint.username) {
    fail(
      `endpoint must not carry a query, a fragment or credentials: "${endpoint.href}"`,
    );
  }
  const bucket = requireString(options.bucket, "bucket");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    fail(
      `bucket must be 3 to 63 characters of a-z, 0-9, "." and "-", got "${bucket}"`,
    );
  }
  const host = endpoint.hostname.toLowerCase();
  const region = options.region === undefined
    ? undefined
    : requireString(options.region, "region");
  const accessKeyId = requireString(options.accessKeyId, "accessKeyId");
  const secretAccessKey = requireString(
    options.secretAccessKey,
    "secretAccessKey",
  );
  const sessionToken = options.sessionToken === undefined
    ? undefined
    : requireString(options.sessionToken, "sessionToken");
  const sessionExpiresAt = options.sessionExpiresAt;
  if (
    sessionExpiresAt !== undefined &&
    !(sessionExpiresAt instanceof Date && !isNaN(sessionExpiresAt.getTime()))
  ) {
    fail("sessionExpiresAt must be a valid Date");
  }
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string") fail("prefix must be a string");
  if (
    !/^[A-Za-z0-9/_.-]*$/.test(prefix) || prefix.startsWith("/") ||
    prefix.split("/").slice(0, -1).some((s) =>
      s === "" || s === "." || s === ".."
    )
  ) {
    fail(
      `prefix must be letters, digits, "/", "_", "." and "-" without a leading "/" or an empty, "." or ".." segment, got "${prefix}"`,
    );
  }
  const pathStyle = options.forcePathStyle ?? !host.endsWith(".amazonaws.com");
  if (typeof pathStyle !== "boolean") fail("forcePathStyle must be a boolean");
  const conditionalWrites = options.conditionalWrites ?? true;
  if (typeof conditionalWrites !== "boolean") {
    fail("conditionalWrites must be a boolean");
  }
  const path = endpoint.pathname.replace(/\/+$/, "");
  const base = pathStyle
    ? `${endpoint.origin}${path}/${bucket}`
    : `${endpoint.protocol}//${bucket}.${endpoint.host}${path}`;
  return {
    base,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    sessionToken,
    sessionExpiresAt,
    prefix,
    conditionalWrites,
    cache: new Map(),
  };
}
