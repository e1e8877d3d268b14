/**
 * S3-compatible storage for `filesRoute`: the route only signs, and
 * the bytes go straight from the client to the bucket (AWS S3, Cloudflare R2,
 * MinIO, …) and back, through presigned URLs.
 *
 * Large files go up in parts through S3's own multipart upload: the route
 * starts, lists, completes and aborts it with signed requests of its own,
 * and the client sends each part to a presigned URL.
 *
 * Only this module (with its private helpers) imports the SigV4 signer
 * (`aws4fetch`, built on `fetch` and Web Crypto), so it runs on Deno, Bun,
 * Node and workerd, and a program that does not use S3 does not load it.
 *
 * @example Serve the route with an R2 bucket
 * ```ts ignore
 * import { Hono } from "hono";
 * import { filesRoute } from "@fileurls/fileurls/hono";
 * import { s3Storage } from "@fileurls/fileurls/s3";
 *
 * const storage = s3Storage({
 *   endpoint: "https://0123456789abcdef.r2.cloudflarestorage.com",
 *   bucket: "uploads",
 *   accessKeyId: Deno.env.get("AWS_ACCESS_KEY_ID")!,
 *   secretAccessKey: Deno.env.get("AWS_SECRET_ACCESS_KEY")!,
 * });
 * const app = new Hono().route(
 *   "/v1",
 *   filesRoute({ storage, secret: Deno.env.get("FILEURLS_SECRET")!, apiKeys: ["key"] }),
 * );
 * Deno.serve(app.fetch);
 * ```
 *
 * @module
 */

import { randomId } from "../_encoding.ts";
import type {
  FileInfo,
  PresignedStorage,
  PresignedUrls,
  PresignOptions,
} from "./mod.ts";
import { validate } from "./_s3_config.ts";
import { s3Multipart } from "./_s3_multipart.ts";
import {
  lifetime,
  objectUrl,
  presignGet,
  presignUrl,
  type S3Config,
  sessionExpired,
  signingTime,
} from "./_s3_request.ts";

// The storage contract the functions below answer with, so that this entry
// point documents itself alone.
export type {
  FileInfo,
  MultipartInfo,
  MultipartLimits,
  MultipartStore,
  PresignedMultipart,
  PresignedStorage,
  PresignedUrls,
  PresignOptions,
  SignedRequest,
  StoredFile,
  StoredPart,
} from "./mod.ts";

/** The largest object S3 takes in one `PUT`: 5 GiB. */
const MAX_PUT_SIZE = 5 * 1024 ** 3;

/** Options of {@linkcode s3Storage}. */
export interface S3StorageOptions {
  /**
   * The S3 endpoint, without the bucket: `https://s3.eu-west-1.amazonaws.com`
   * (AWS), `https://<account>.r2.cloudflarestorage.com` (Cloudflare R2),
   * `http://127.0.0.1:9000` (MinIO). A path is kept as a prefix of every URL.
   */
  endpoint: string | URL;
  /** The bucket name (3 to 63 characters: `a-z`, `0-9`, `.`, `-`). */
  bucket: string;
  /**
   * The signing region.
   *
   * @default {the region of an AWS endpoint (`s3.<region>.amazonaws.com`), `"auto"` for R2, else `"us-east-1"`}
   */
  region?: string;
  /** The access key id (`AWS_ACCESS_KEY_ID`). */
  accessKeyId: string;
  /** The secret access key (`AWS_SECRET_ACCESS_KEY`). */
  secretAccessKey: string;
  /**
   * The session token of temporary credentials (`AWS_SESSION_TOKEN`).
   *
   * @default {undefined}
   */
  sessionToken?: string;
  /**
   * When temporary credentials expire. No URL is signed to outlive them: S3
   * refuses a presigned URL once its credentials have expired anyway.
   *
   * @default {undefined}
   */
  sessionExpiresAt?: Date;
  /**
   * Put before every key, e.g. `"uploads/"`. Letters, digits, `/`, `_`, `.`
   * and `-`; no leading `/`, no empty, `.` or `..` segment.
   *
   * @default {""}
   */
  prefix?: string;
  /**
   * `true` for path-style URLs (`https://endpoint/bucket/key`), which MinIO,
   * R2 and most S3-compatible servers expect; `false` for virtual-hosted-style
   * URLs (`https://bucket.endpoint/key`), which AWS recommends.
   *
   * @default {`false` for an `amazonaws.com` endpoint, else `true`}
   */
  forcePathStyle?: boolean;
  /**
   * Whether uploads are write-once through S3 conditional writes: every
   * upload URL signs `If-None-Match: *`, so the client must send that header
   * and the bucket refuses (412) a `PUT` to a key that holds an object, and
   * the route completes multipart uploads with `If-None-Match: *` too.
   * `false` for a store without conditional writes, which would refuse or
   * ignore the header; then an upload URL can replace its object until it
   * expires.
   *
   * @default {true}
   */
  conditionalWrites?: boolean;
}

/**
 * A storage that hands out presigned S3 URLs. `filesRoute` answers
 * `POST /files/urls` with them and never sees the bytes.
 *
 * - `upload_url` is a presigned `PUT` whose signed headers are `host`,
 *   `content-length` and `content-type` with the declared values, and
 *   `if-none-match` with `*` (unless `conditionalWrites` is `false`), so the
 *   bucket itself rejects a body of another size or type, a chunked body
 *   (which has no `Content-Length`), and a request without
 *   `If-None-Match: *`; and, where the store honours conditional writes, a
 *   second `PUT` once the object exists (412): the URL writes once. It
 *   expires when the route asks, clamped to 1 second … 7 days and to
 *   `sessionExpiresAt`.
 * - `download_url` is a presigned `GET` with `response-content-type` (the
 *   declared type), `response-content-disposition` (the original name per
 *   RFC 6266; `attachment`, or `inline` for a short list of safe types),
 *   `response-content-encoding` (`identity`) and `response-cache-control`
 *   (`private`, for the URL's lifetime), so that headers a `PUT` added
 *   unsigned and the bucket kept with the object do not reach the download.
 *
 * A signature pins only the headers it names: S3 keeps with the object some
 * headers a `PUT` adds unsigned (`Content-Encoding`, `Cache-Control`,
 * `Content-Disposition`, `Expires`, `Content-Language`). The download URL
 * overrides `Content-Encoding`, `Cache-Control` (whose `max-age` outranks
 * `Expires`) and `Content-Disposition`; `Content-Language` is served as sent.
 * AWS S3 refuses a presigned request with an unsigned `x-amz-*` header;
 * check that your store does too.
 *
 * One `PUT` carries at most 5 GiB (an S3 limit): keep the route's `maxSize`
 * at or below that.
 *
 * Keys are 128 random bits (base64url) under `prefix`; the original name never
 * reaches the key and travels only in the download URL.
 *
 * Its `multipart` serves `POST /files/uploads` with S3's multipart upload
 * (parts of 5 MiB to 5 GiB, at most 10,000), under `prefix` and the route's
 * file id:
 *
 * - `CreateMultipartUpload` with the declared `Content-Type`, the checksum
 *   algorithm SHA-256, and the original name, percent-encoded, as the
 *   metadata `x-amz-meta-name`.
 * - Each part URL is a presigned `UploadPart` whose signed headers are
 *   `host`, `content-length` and `x-amz-checksum-sha256`: the bucket rejects
 *   another size or checksum, and a body whose SHA-256 is not the declared
 *   one. A browser needs the bucket's CORS rules to allow the
 *   `x-amz-checksum-sha256` request header.
 * - `CompleteMultipartUpload` names every part's ETag and SHA-256 and sends
 *   `If-None-Match: *` (unless `conditionalWrites` is `false`), so that an
 *   existing object is never replaced (AWS S3 honours it; make sure an
 *   S3-compatible server does too).
 * - Parts stay in the bucket, and are billed, until the upload is completed
 *   or aborted: add a lifecycle rule that aborts incomplete multipart
 *   uploads after a day or so.
 *
 * Every error answer of S3 becomes an `Error` naming the action, S3's status,
 * code and message.
 *
 * @param options The endpoint, bucket, credentials and key prefix.
 * @returns The storage, to pass as `filesRoute({ storage })`.
 * @throws {TypeError} If an option is missing or malformed. Its `presign()`
 * rejects with a `RangeError` for a size above 5 GiB, and with an `Error` once
 * `sessionExpiresAt` has passed; its `multipart` calls reject with an `Error`
 * for an error answer of S3.
 *
 * @example
 * ```ts
 * import { s3Storage } from "@fileurls/fileurls/s3";
 *
 * const storage = s3Storage({
 *   endpoint: "http://127.0.0.1:9000",
 *   bucket: "uploads",
 *   accessKeyId: "minioadmin",
 *   secretAccessKey: "minioadmin",
 * });
 * const urls = await storage.presign(
 *   { name: "report.pdf", size: 1234, type: "application/pdf" },
 *   {
 *     uploadExpiresAt: new Date(Date.now() + 3600_000),
 *     downloadExpiresAt: new Date(Date.now() + 86400_000),
 *   },
 * );
 * console.log(urls.upload_url.startsWith("http://127.0.0.1:9000/uploads/"));
 * ```
 */
export function s3Storage(options: S3StorageOptions): PresignedStorage {
  const config = validate(options);
  return {
    presign(info: FileInfo, times: PresignOptions): Promise<PresignedUrls> {
      return presign(config, info, times);
    },
    multipart: s3Multipart(config),
  };
}

/**
 * Makes an {@linkcode s3Storage} from environment variables, as
 * `fileurls serve --storage s3` does:
 *
 * | Variable | Option |
 * | --- | --- |
 * | `FILEURLS_S3_ENDPOINT` (required) | `endpoint` |
 * | `FILEURLS_S3_BUCKET` (required) | `bucket` |
 * | `FILEURLS_S3_REGION` | `region` |
 * | `FILEURLS_S3_PREFIX` | `prefix` |
 * | `FILEURLS_S3_FORCE_PATH_STYLE` (`true` or `false`) | `forcePathStyle` |
 * | `FILEURLS_S3_CONDITIONAL_WRITES` (`true` or `false`) | `conditionalWrites` |
 * | `AWS_ACCESS_KEY_ID` (required) | `accessKeyId` |
 * | `AWS_SECRET_ACCESS_KEY` (required) | `secretAccessKey` |
 * | `AWS_SESSION_TOKEN` | `sessionToken` |
 * | `AWS_CREDENTIAL_EXPIRATION` (ISO 8601) | `sessionExpiresAt` |
 *
 * An empty variable counts as unset.
 *
 * @param env The variables, e.g. `Deno.env.toObject()` or `process.env`.
 * @returns The storage.
 * @throws {TypeError} Naming every missing required variable, or a malformed one.
 *
 * @example
 * ```ts
 * import { s3StorageFromEnv } from "@fileurls/fileurls/s3";
 *
 * const storage = s3StorageFromEnv({
 *   FILEURLS_S3_ENDPOINT: "https://s3.eu-west-1.amazonaws.com",
 *   FILEURLS_S3_BUCKET: "my-uploads",
 *   AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
 *   AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 * });
 * ```
 */
export function s3StorageFromEnv(
  env: Record<string, string | undefined>,
): PresignedStorage {
  const get = (name: string): string | undefined => env[name] || undefined;
  const required = [
    "FILEURLS_S3_ENDPOINT",
    "FILEURLS_S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
  ];
  const missing = required.filter((name) => get(name) === undefined);
  if (missing.length > 0) {
    throw new TypeError(
      `Cannot configure S3 storage from the environment: missing ${
        missing.join(", ")
      }`,
    );
  }
  const flag = (name: string): boolean | undefined => {
    const value = get(name);
    if (value !== undefined && value !== "true" && value !== "false") {
      throw new TypeError(
        `Cannot configure S3 storage from the environment: ${name} must be "true" or "false", got "${value}"`,
      );
    }
    return value === undefined ? undefined : value === "true";
  };
  const forcePathStyle = flag("FILEURLS_S3_FORCE_PATH_STYLE");
  const conditionalWrites = flag("FILEURLS_S3_CONDITIONAL_WRITES");
  const expiration = get("AWS_CREDENTIAL_EXPIRATION");
  const sessionExpiresAt = expiration === undefined
    ? undefined
    : new Date(expiration);
  if (sessionExpiresAt !== undefined && isNaN(sessionExpiresAt.getTime())) {
    throw new TypeError(
      `Cannot configure S3 storage from the environment: AWS_CREDENTIAL_EXPIRATION is not a date: "${expiration}"`,
    );
  }
  return s3Storage({
    endpoint: get("FILEURLS_S3_ENDPOINT")!,
    bucket: get("FILEURLS_S3_BUCKET")!,
    region: get("FILEURLS_S3_REGION"),
    prefix: get("FILEURLS_S3_PREFIX"),
    forcePathStyle,
    conditionalWrites,
    accessKeyId: get("AWS_ACCESS_KEY_ID")!,
    secretAccessKey: get("AWS_SECRET_ACCESS_KEY")!,
    sessionToken: get("AWS_SESSION_TOKEN"),
    sessionExpiresAt,
  });
}

async function presign(
  config: S3Config,
  info: FileInfo,
  times: PresignOptions,
): Promise<PresignedUrls> {
  const { name, size, type } = info;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      "Cannot presign a file: name must be a non-empty string",
    );
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `Cannot presign "${name}": size must be a non-negative safe integer, got ${size}`,
    );
  }
  if (size > MAX_PUT_SIZE) {
    throw new RangeError(
      `Cannot presign "${name}": S3 takes at most 5 GiB in one PUT, got ${size} bytes`,
    );
  }
  if (typeof type !== "string" || type === "" || /[^\x20-\x7e]/.test(type)) {
    throw new TypeError(
      `Cannot presign "${name}": type must be a non-empty ASCII string`,
    );
  }
  const { signedAt, datetime } = signingTime();
  const uploadSeconds = lifetime(config, signedAt, times.uploadExpiresAt);
  const downloadSeconds = lifetime(config, signedAt, times.downloadExpiresAt);
  if (uploadSeconds < 1 || downloadSeconds < 1) {
    throw sessionExpired(config, `Cannot presign "${name}"`);
  }
  const url = objectUrl(config, randomId());
  const upload = new URL(url);
  upload.searchParams.set("X-Amz-Expires", String(uploadSeconds));
  const [uploadUrl, downloadUrl] = await Promise.all([
    presignUrl(config, "PUT", upload, datetime, {
      "content-length": String(size),
      "content-type": type,
      // Write-once: the bucket refuses a PUT to a key that holds an object.
      ...(config.conditionalWrites ? { "if-none-match": "*" } : {}),
    }),
    presignGet(config, url, { name, type }, downloadSeconds, datetime),
  ]);
  return {
    upload_url: uploadUrl,
    download_url: downloadUrl,
    uploadExpiresAt: new Date(signedAt + uploadSeconds * 1000),
  };
}
