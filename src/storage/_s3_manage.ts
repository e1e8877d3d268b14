/**
 * The stored files of `s3Storage`: presigning an upload, confirming it (a
 * copy of the object onto itself that keeps the file's metadata), looking a
 * file up, signing its download, and deleting it for good with a marker
 * object.
 *
 * Metadata on every object: `x-amz-meta-name` and `x-amz-meta-resource`
 * (percent-encoded, as S3 metadata is ASCII) and `x-amz-meta-expires-at`
 * (ISO 8601; absent when the file never expires). An object without
 * `x-amz-meta-name` is an unconfirmed upload: it is not a stored file yet.
 *
 * @module
 */

import { randomId } from "../_encoding.ts";
import { checkKey } from "./_common.ts";
import { StorageMismatchError, StorageNotFoundError } from "./mod.ts";
import type { FileInfo, PresignedUrls, PresignOptions } from "./mod.ts";
import type { StoredFile } from "./mod.ts";
import * as s3 from "./_s3_request.ts";
import { xmlText } from "../_xml.ts";

/** The largest object S3 takes in one `PUT`: 5 GiB. */
const MAX_PUT_SIZE = 5 * 1024 ** 3;

/** Put after a key for the marker object that `delete()` leaves. */
export const DELETED_SUFFIX = ".deleted";

/** How often `confirm()` tries again when the object changes under it. */
const CONFIRM_ATTEMPTS = 3;

/** What a file keeps as S3 metadata. */
export interface FileMetadata {
  /** The original name. */
  name: string;
  /** What the file is for. */
  resource?: string;
  /** When the file expires. */
  expiresAt?: Date;
}

/**
 * The key as S3 knows it, quoted, for messages.
 *
 * @param config The options.
 * @param key The storage key.
 * @returns E.g. `"uploads/abc"`, with the quotes.
 */
export function quoted(config: s3.S3Config, key: string): string {
  return `"${config.prefix}${key}"`;
}

/**
 * Checks a name and a media type.
 *
 * @param info The name and type.
 * @param action What is being done, for the message.
 * @throws {TypeError} If the name is empty or the type is not ASCII.
 */
export function checkInfo(
  info: Pick<FileInfo, "name" | "type">,
  action: string,
): void {
  if (typeof info?.name !== "string" || info.name === "") {
    throw new TypeError(`${action}: name must be a non-empty string`);
  }
  const type = info.type;
  if (typeof type !== "string" || type === "" || /[^\x20-\x7e]/.test(type)) {
    throw new TypeError(`${action}: type must be a non-empty ASCII string`);
  }
}

/**
 * Checks the resource and expiry to keep with a file.
 *
 * @param metadata The resource and expiry, both optional.
 * @param action What is being done, for the message.
 * @throws {TypeError} If the resource is no string or the date is invalid.
 */
export function checkMetadata(
  metadata: Omit<FileMetadata, "name">,
  action: string,
): void {
  const { resource, expiresAt } = metadata;
  if (resource !== undefined && typeof resource !== "string") {
    throw new TypeError(`${action}: resource must be a string`);
  }
  if (
    expiresAt !== undefined &&
    !(expiresAt instanceof Date && !isNaN(expiresAt.getTime()))
  ) {
    throw new TypeError(`${action}: expiresAt must be a valid Date`);
  }
}

/**
 * The `x-amz-meta-*` headers that keep a file's metadata with its object.
 *
 * @param metadata The name, and the resource and expiry if any.
 * @returns The headers, to send and sign.
 */
export function metadataHeaders(
  metadata: FileMetadata,
): Record<string, string> {
  const headers: Record<string, string> = {
    "x-amz-meta-name": encodeURIComponent(metadata.name),
  };
  if (metadata.resource !== undefined) {
    headers["x-amz-meta-resource"] = encodeURIComponent(metadata.resource);
  }
  if (metadata.expiresAt !== undefined) {
    headers["x-amz-meta-expires-at"] = metadata.expiresAt.toISOString();
  }
  return headers;
}

/**
 * The stored file that a `HeadObject` answer describes.
 *
 * @param key The storage key.
 * @param headers The answer's headers.
 * @param action What is being done, for the message.
 * @returns The file, with the metadata the object carries.
 * @throws {Error} If S3 answered without a size or a date.
 */
export function fileOf(
  key: string,
  headers: Headers,
  action: string,
): StoredFile {
  const size = Number(headers.get("content-length") ?? NaN);
  const uploadedAt = new Date(headers.get("last-modified") ?? NaN);
  if (!Number.isSafeInteger(size) || isNaN(uploadedAt.getTime())) {
    throw new Error(
      `${action}: S3 answered without a valid Content-Length and Last-Modified`,
    );
  }
  const name = headers.get("x-amz-meta-name");
  const type = headers.get("content-type") ?? "application/octet-stream";
  const file: StoredFile = {
    key,
    name: name === null ? key : decode(name),
    size,
    type,
    uploadedAt,
  };
  const resource = headers.get("x-amz-meta-resource");
  if (resource !== null) file.resource = decode(resource);
  const expiresAt = new Date(headers.get("x-amz-meta-expires-at") ?? NaN);
  if (!isNaN(expiresAt.getTime())) file.expiresAt = expiresAt;
  const sha256 = headers.get("x-amz-checksum-sha256");
  if (sha256 !== null && /^[A-Za-z0-9+/]{43}=-[1-9][0-9]*$/.test(sha256)) {
    file.sha256 = sha256;
  }
  return file;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `HeadObject`: the headers, or `undefined` for 404. */
async function head(
  config: s3.S3Config,
  key: string,
  action: string,
): Promise<Headers | undefined> {
  const url = s3.objectUrl(config, key);
  const answer = await s3.s3Request(config, action, "HEAD", url, {
    // Asks for the composite SHA-256 of an object made of parts.
    "x-amz-checksum-mode": "ENABLED",
  });
  if (answer.status === 404) return undefined;
  if (answer.error) throw s3.s3Failure(action, answer);
  return answer.headers;
}

/**
 * Makes the upload and download URLs of one file: see `s3Storage`.
 *
 * @param config The options.
 * @param info What the upload must match.
 * @param times When each URL expires, and the key if the route chose it.
 * @returns The URLs.
 */
export async function presign(
  config: s3.S3Config,
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
  if (times.key !== undefined) checkKey(times.key, "presign");
  const { signedAt, datetime } = s3.signingTime();
  const uploadSeconds = s3.lifetime(config, signedAt, times.uploadExpiresAt);
  const downloadSeconds = s3.lifetime(
    config,
    signedAt,
    times.downloadExpiresAt,
  );
  if (uploadSeconds < 1 || downloadSeconds < 1) {
    throw s3.sessionExpired(config, `Cannot presign "${name}"`);
  }
  const url = s3.objectUrl(config, times.key ?? randomId());
  const upload = new URL(url);
  upload.searchParams.set("X-Amz-Expires", String(uploadSeconds));
  const [uploadUrl, downloadUrl] = await Promise.all([
    s3.presignUrl(config, "PUT", upload, datetime, {
      "content-length": String(size),
      "content-type": type,
      // Write-once: the bucket refuses a PUT to a key that holds an object.
      ...(config.conditionalWrites ? { "if-none-match": "*" } : {}),
    }),
    s3.presignGet(config, url, { name, type }, downloadSeconds, datetime),
  ]);
  return {
    upload_url: uploadUrl,
    download_url: downloadUrl,
    uploadExpiresAt: new Date(signedAt + uploadSeconds * 1000),
  };
}

/**
 * Looks up a stored file: a confirmed object, or one made by a multipart
 * upload.
 *
 * @param config The options.
 * @param key The storage key.
 * @returns The file, or `undefined` if the object is missing or unconfirmed.
 * @throws {Error} For an error answer of S3 other than 404.
 */
export async function statFile(
  config: s3.S3Config,
  key: string,
): Promise<StoredFile | undefined> {
  checkKey(key, "look up");
  const action = `Cannot look up ${quoted(config, key)} in S3`;
  const headers = await head(config, key, action);
  if (headers === undefined || !headers.has("x-amz-meta-name")) {
    return undefined;
  }
  return fileOf(key, headers, action);
}

/**
 * Signs a download URL of a stored file.
 *
 * @param config The options.
 * @param key The storage key.
 * @param info The name and type to serve it with.
 * @param expiresAt When the URL stops working.
 * @returns The URL.
 */
export async function presignDownload(
  config: s3.S3Config,
  key: string,
  info: Pick<FileInfo, "name" | "type">,
  expiresAt: Date,
): Promise<string> {
  checkKey(key, "sign a download of");
  const action = `Cannot sign a download of ${quoted(config, key)}`;
  checkInfo(info, action);
  const { signedAt, datetime } = s3.signingTime();
  const seconds = s3.lifetime(config, signedAt, expiresAt);
  if (seconds < 1) throw s3.sessionExpired(config, action);
  const url = s3.objectUrl(config, key);
  return await s3.presignGet(config, url, info, seconds, datetime);
}

/**
 * Whether `delete()` has marked the key deleted.
 *
 * @param config The options.
 * @param key The storage key.
 * @param action What is being done, for the message.
 * @returns `true` if the marker object exists.
 * @throws {Error} For an error answer of S3 other than 404.
 */
export async function isDeleted(
  config: s3.S3Config,
  key: string,
  action: string,
): Promise<boolean> {
  const url = s3.objectUrl(config, key + DELETED_SUFFIX);
  const answer = await s3.s3Request(config, action, "HEAD", url);
  if (answer.status === 404) return false;
  if (answer.error) throw s3.s3Failure(action, answer);
  return true;
}

/**
 * Confirms a presigned upload: checks the object against what the URL was
 * signed for and copies it onto itself with the file's metadata.
 *
 * @param config The options.
 * @param key The storage key.
 * @param info What the upload URL was signed for, and what to keep.
 * @returns The file, and whether this call confirmed it.
 * @throws {StorageNotFoundError} If there is no object, or the key was deleted.
 * @throws {StorageMismatchError} If the object has another size or type; it
 * is removed.
 */
export async function confirmFile(
  config: s3.S3Config,
  key: string,
  info: FileInfo,
): Promise<{ file: StoredFile; confirmed: boolean }> {
  checkKey(key, "confirm");
  const action = `Cannot confirm ${quoted(config, key)} in S3`;
  checkInfo(info, action);
  if (!Number.isSafeInteger(info.size) || info.size < 0) {
    throw new RangeError(
      `${action}: size must be a non-negative safe integer, got ${info.size}`,
    );
  }
  checkMetadata(info, action);
  for (let attempt = 1;; attempt++) {
    const [headers, deleted] = await Promise.all([
      head(config, key, action),
      isDeleted(config, key, action),
    ]);
    if (headers === undefined) throw notFound(key, "nothing was uploaded");
    if (deleted) throw notFound(key, "the file was deleted");
    const size = Number(headers.get("content-length"));
    const type = headers.get("content-type");
    const mismatch = size !== info.size
      ? `size ${size} is not ${info.size}`
      : type !== info.type
      ? `type "${type}" is not "${info.type}"`
      : undefined;
    if (mismatch !== undefined) {
      await removeObject(config, key, action);
      throw new StorageMismatchError(key, mismatch);
    }
    if (headers.has("x-amz-meta-name")) {
      return { file: fileOf(key, headers, action), confirmed: false };
    }
    const etag = headers.get("etag");
    if (!etag) throw new Error(`${action}: S3 answered without an ETag`);
    const answer = await s3.s3Request(
      config,
      action,
      "PUT",
      s3.objectUrl(config, key),
      {
        "x-amz-copy-source": `/${config.bucket}/${config.prefix}${key}`,
        // Only the object just checked: not one that replaced it meanwhile.
        "x-amz-copy-source-if-match": etag,
        "x-amz-metadata-directive": "REPLACE",
        "content-type": info.type,
        ...metadataHeaders(info),
      },
    );
    const code = answer.error?.code;
    if (answer.status === 404 || code === "NoSuchKey") {
      throw notFound(key, "the object is gone");
    }
    if (answer.status === 412 || code === "PreconditionFailed") {
      if (attempt < CONFIRM_ATTEMPTS) continue;
      throw s3.s3Failure(action, answer);
    }
    if (answer.error) throw s3.s3Failure(action, answer);
    const copied = new Date(xmlText(answer.text, "LastModified") ?? NaN);
    const file: StoredFile = {
      key,
      name: info.name,
      size,
      type: info.type,
      uploadedAt: isNaN(copied.getTime()) ? new Date() : copied,
    };
    if (info.resource !== undefined) file.resource = info.resource;
    if (info.expiresAt !== undefined) file.expiresAt = info.expiresAt;
    return { file, confirmed: true };
  }
}

/** The `StorageNotFoundError` of `confirm()`, with a message of its own. */
function notFound(key: string, detail: string): StorageNotFoundError {
  const error = new StorageNotFoundError(key, "");
  error.message = `Cannot confirm "${key}": ${detail}`;
  return error;
}

/**
 * Deletes a file for good: first the marker `{prefix}{key}.deleted`, so
 * that a crash in between leaves a key that `confirm()` and multipart
 * `complete()` refuse, then the object.
 *
 * @param config The options.
 * @param key The storage key.
 * @throws {Error} For an error answer of S3.
 */
export async function deleteFile(
  config: s3.S3Config,
  key: string,
): Promise<void> {
  checkKey(key, "delete");
  const action = `Cannot delete ${quoted(config, key)} in S3`;
  const marker = await s3.s3Request(
    config,
    action,
    "PUT",
    s3.objectUrl(config, key + DELETED_SUFFIX),
    { "content-type": "application/octet-stream" },
    "",
  );
  if (marker.error) throw s3.s3Failure(action, marker);
  await removeObject(config, key, action);
}

/** `DeleteObject`; a missing object is no error. */
async function removeObject(
  config: s3.S3Config,
  key: string,
  action: string,
): Promise<void> {
  const url = s3.objectUrl(config, key);
  const answer = await s3.s3Request(config, action, "DELETE", url);
  if (answer.error && answer.status !== 404) {
    throw s3.s3Failure(action, answer);
  }
}
