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

import type {
  FileInfo,
  ListOptions,
  PresignedStorage,
  PresignedUrls,
  PresignOptions,
  StoredFile,
  StoredFileList,
} from "./mod.ts";
import { validate } from "./_s3_config.ts";
import { listFiles } from "./_s3_list.ts";
import {
  confirmFile,
  deleteFile,
  presign,
  presignDownload,
  statFile,
} from "./_s3_manage.ts";
import { s3Multipart } from "./_s3_multipart.ts";

// The storage contract the functions below answer with, so that this entry
// point documents itself alone.
export type {
  FileInfo,
  ListOptions,
  MultipartInfo,
  MultipartLimits,
  MultipartStore,
  PresignedMultipart,
  PresignedStorage,
  PresignedUrls,
  PresignOptions,
  SignedRequest,
  StoredFile,
  StoredFileList,
  StoredPart,
} from "./mod.ts";

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
 * Keys are the route's file ids (`PresignOptions.key`), else 128 random bits
 * (base64url), under `prefix`; the original name never reaches the key and
 * travels only in the download URL and the object's metadata.
 *
 * Its `multipart` serves `POST /files/uploads` with S3's multipart upload
 * (parts of 5 MiB to 5 GiB, at most 10,000), under `prefix` and the route's
 * file id:
 *
 * - `CreateMultipartUpload` with the declared `Content-Type`, the checksum
 *   algorithm SHA-256, and the file's metadata (below), so that the
 *   completed object is a stored file at once.
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
 * The stored files are managed through the object and its metadata:
 *
 * - **Metadata.** Each object keeps `x-amz-meta-name` and
 *   `x-amz-meta-resource` (percent-encoded: S3 metadata is ASCII) and
 *   `x-amz-meta-expires-at` (ISO 8601; absent when the file never expires).
 *   An object without `x-amz-meta-name` is an upload not yet confirmed:
 *   `stat()` answers `undefined` for it and `list()` skips it.
 * - **Confirmation.** A presigned `PUT` carries no metadata. `confirm()`
 *   (the route's `complete_url`) sends `HeadObject`; no object, or a deleted
 *   key, rejects with `StorageNotFoundError`; another size or type than
 *   declared removes the object and rejects with `StorageMismatchError`;
 *   an object already confirmed answers `confirmed: false`. Otherwise it
 *   copies the object onto itself (`CopyObject` with
 *   `x-amz-metadata-directive: REPLACE`, and `x-amz-copy-source-if-match`
 *   set to the ETag it checked, so that it never confirms an object that
 *   replaced the one it checked) with the declared type and the metadata.
 *   The copy sends no `If-None-Match` (the object exists: it is the
 *   source), and drops what a `PUT` may have added unsigned
 *   (`Cache-Control`, `Content-Disposition`, …). A copy takes at most 5 GiB,
 *   as a `PUT` does.
 * - **Listing.** `list()` sends one `ListObjectsV2` (`start-after` the
 *   cursor, at most 2 × `limit` + 1 keys) and then one `HeadObject` per
 *   file id listed, 8 at a time, since a listing shows no metadata: a page
 *   of 100 files costs about 101 requests. Only keys that are file ids
 *   (22 characters of `A-Z a-z 0-9 _ -`) are files; keep the prefix for
 *   fileurls alone, as other keys cost listing requests too (and after ten
 *   listings in a row without a file id, `list()` gives up with an `Error`).
 *   The cursor is a file id; any other cursor is a `TypeError`.
 * - **Deletion.** `delete()` first writes a marker object
 *   `{prefix}{key}.deleted` (0 bytes), then deletes the object, so that a
 *   failure in between never leaves a key that can be confirmed again.
 *   The marker makes `confirm()` reject with `StorageNotFoundError` and the
 *   multipart `complete()` with `StorageConflictError`, for good; `list()`
 *   skips it and the key. The storage never removes a marker.
 * - **Expiry** is the bucket's lifecycle rule: the storage removes nothing
 *   itself. S3 counts the days from the object's creation (for a file
 *   uploaded with one `PUT`, its confirmation) and removes it some time
 *   after they have passed; meanwhile the route answers 404 for a file past
 *   its `expiresAt`, and no download URL outlives it. With a route
 *   `lifetime` of 30 days, for a bucket whose prefix is `uploads/`
 *   (`aws s3api put-bucket-lifecycle-configuration --bucket uploads
 *   --lifecycle-configuration file://lifecycle.json`):
 *
 *   ```json
 *   {
 *     "Rules": [{
 *       "ID": "fileurls",
 *       "Status": "Enabled",
 *       "Filter": { "Prefix": "uploads/" },
 *       "Expiration": { "Days": 31 },
 *       "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 }
 *     }]
 *   }
 *   ```
 *
 *   Such a rule removes the delete markers too, after the same days: no
 *   harm once they outlive every upload URL (at most 7 days) and every
 *   incomplete upload (aborted by the rule). To keep markers for good, give
 *   `Expiration` a rule of its own whose filter adds
 *   `"ObjectSizeGreaterThan": 0` (which keeps empty files too).
 *
 * The route's credentials need `s3:PutObject`, `s3:GetObject`,
 * `s3:DeleteObject`, `s3:ListBucket` (without it, S3 answers 403 for a
 * missing object) and `s3:AbortMultipartUpload`. Every error answer of S3
 * becomes an `Error` naming the action, S3's status, code and message.
 *
 * @param options The endpoint, bucket, credentials and key prefix.
 * @returns The storage, to pass as `filesRoute({ storage })`.
 * @throws {TypeError} If an option is missing or malformed. Its `presign()`
 * rejects with a `RangeError` for a size above 5 GiB, and with an `Error` once
 * `sessionExpiresAt` has passed; its `confirm()` with `StorageNotFoundError`
 * or `StorageMismatchError` as above; its `list()` with a `TypeError` for a
 * cursor that is not a file id; every call with an `Error` for an error
 * answer of S3.
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
    confirm(
      key: string,
      info: FileInfo,
    ): Promise<{ file: StoredFile; confirmed: boolean }> {
      return confirmFile(config, key, info);
    },
    stat(key: string): Promise<StoredFile | undefined> {
      return statFile(config, key);
    },
    presignDownload(
      key: string,
      info: Pick<FileInfo, "name" | "type">,
      expiresAt: Date,
    ): Promise<string> {
      return presignDownload(config, key, info, expiresAt);
    },
    delete(key: string): Promise<void> {
      return deleteFile(config, key);
    },
    list(options: ListOptions): Promise<StoredFileList> {
      return listFiles(config, options);
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
