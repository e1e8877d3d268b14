/**
 * Multipart uploads of `s3Storage`, through S3's own multipart API: the
 * route starts, lists, completes and aborts uploads with signed requests of
 * its own, and hands the client one presigned `UploadPart` URL per part,
 * signed for the part's exact size and SHA-256.
 *
 * @module
 */

import { isSha256Base64 } from "../_sha256.ts";
import { checkKey } from "./_common.ts";
import { StorageConflictError, StorageNotFoundError } from "./mod.ts";
import type { MultipartLimits } from "./mod.ts";
import type { PresignedMultipart, SignedRequest } from "./mod.ts";
import type { StoredFile, StoredPart } from "./mod.ts";
import {
  checkInfo,
  checkMetadata,
  isDeleted,
  metadataHeaders,
  presignDownload,
  statFile,
} from "./_s3_manage.ts";
import * as s3 from "./_s3_request.ts";
import { escapeXml, xmlElements, xmlText } from "../_xml.ts";

/** What S3 allows of a multipart upload. */
const S3_LIMITS: MultipartLimits = {
  minPartSize: 5 * 1024 ** 2,
  maxPartSize: 5 * 1024 ** 3,
  maxParts: 10_000,
};

/** A part as `ListParts` shows it: with the ETag that completion names. */
interface ListedPart extends StoredPart {
  etag: string;
}

/**
 * Makes the multipart calls of an S3 storage.
 *
 * @param config The checked options.
 * @returns The calls.
 */
export function s3Multipart(config: s3.S3Config): PresignedMultipart {
  const name = (key: string) => `"${config.prefix}${key}"`;
  return {
    limits: { ...S3_LIMITS },

    async create(key, info) {
      checkKey(key, "start an upload of");
      const action = `Cannot start the S3 upload of ${name(key)}`;
      checkInfo(info, action);
      const metadata = {
        name: info.name,
        resource: info.resource,
        expiresAt: info.fileExpiresAt,
      };
      checkMetadata(metadata, action);
      const url = s3.objectUrl(config, key);
      url.search = "uploads";
      const answer = await s3.s3Request(config, action, "POST", url, {
        "content-type": info.type,
        "x-amz-checksum-algorithm": "SHA256",
        // The completed object keeps them: it is a stored file at once.
        ...metadataHeaders(metadata),
      });
      if (answer.error) throw s3.s3Failure(action, answer);
      const uploadId = xmlText(answer.text, "UploadId");
      if (!uploadId) throw new Error(`${action}: S3 answered no UploadId`);
      return uploadId;
    },

    async presignPart(key, uploadId, part, expiresAt) {
      checkKey(key, "sign a part of");
      const action = `Cannot sign part ${part?.number} of the S3 upload of ${
        name(key)
      }`;
      checkUploadId(uploadId, action);
      checkPart(part, action);
      const { signedAt, datetime } = s3.signingTime();
      const seconds = s3.lifetime(config, signedAt, expiresAt);
      if (seconds < 1) throw s3.sessionExpired(config, action);
      const url = s3.objectUrl(config, key);
      url.searchParams.set("partNumber", String(part.number));
      url.searchParams.set("uploadId", uploadId);
      url.searchParams.set("X-Amz-Expires", String(seconds));
      // Both signed: the bucket refuses another size or checksum, and then
      // checks the body against the checksum.
      const headers = {
        "content-length": String(part.size),
        "x-amz-checksum-sha256": part.sha256,
      };
      const signed: SignedRequest = {
        url: await s3.presignUrl(config, "PUT", url, datetime, headers),
        headers,
      };
      return signed;
    },

    async list(key, uploadId) {
      checkKey(key, "list the parts of");
      const action = `Cannot list the parts of the S3 upload of ${name(key)}`;
      checkUploadId(uploadId, action);
      const parts = await listParts(config, key, uploadId, action);
      return parts?.map(({ number, size, sha256 }) => ({
        number,
        size,
        sha256,
      }));
    },

    async complete(key, uploadId, parts, info) {
      checkKey(key, "complete");
      const action = `Cannot complete the S3 upload of ${name(key)}`;
      checkUploadId(uploadId, action);
      // A deleted key is never stored again.
      if (await isDeleted(config, key, action)) {
        throw new StorageConflictError(key);
      }
      // ListParts has the ETags that CompleteMultipartUpload must name.
      const listed = await listParts(config, key, uploadId, action);
      if (listed === undefined) throw new StorageNotFoundError(key, uploadId);
      const stored = new Map(listed.map((part) => [part.number, part]));
      let size = 0;
      const elements = parts.map((part) => {
        const found = stored.get(part.number);
        if (found?.sha256 !== part.sha256 || found.size !== part.size) {
          throw new RangeError(
            `${action}: part ${part.number} is not stored as listed`,
          );
        }
        size += found.size;
        return `<Part><PartNumber>${found.number}</PartNumber><ETag>${
          escapeXml(found.etag)
        }</ETag><ChecksumSHA256>${found.sha256}</ChecksumSHA256></Part>`;
      });
      if (size !== info.size) {
        throw new RangeError(
          `${action}: the parts hold ${size} bytes, not ${info.size}`,
        );
      }
      const answer = await s3.s3Request(
        config,
        action,
        "POST",
        uploadUrl(config, key, uploadId),
        {
          "content-type": "application/xml",
          // Never replace an object: S3 answers 412 if one exists.
          ...(config.conditionalWrites ? { "if-none-match": "*" } : {}),
        },
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
          '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          elements.join("") + "</CompleteMultipartUpload>",
      );
      if (answer.error?.code === "NoSuchUpload") {
        throw new StorageNotFoundError(key, uploadId);
      }
      if (
        answer.status === 412 || answer.error?.code === "PreconditionFailed" ||
        answer.error?.code === "ConditionalRequestConflict"
      ) {
        throw new StorageConflictError(key, {
          cause: s3.s3Failure(action, answer),
        });
      }
      if (answer.error) throw s3.s3Failure(action, answer);
      const file: StoredFile = {
        key,
        name: info.name,
        size: info.size,
        type: info.type,
        uploadedAt: new Date(),
        sha256: info.sha256,
      };
      if (info.resource !== undefined) file.resource = info.resource;
      if (info.fileExpiresAt !== undefined) {
        file.expiresAt = info.fileExpiresAt;
      }
      return file;
    },

    async abort(key, uploadId) {
      checkKey(key, "abort");
      const action = `Cannot abort the S3 upload of ${name(key)}`;
      checkUploadId(uploadId, action);
      const url = uploadUrl(config, key, uploadId);
      const answer = await s3.s3Request(config, action, "DELETE", url);
      if (answer.error && answer.error.code !== "NoSuchUpload") {
        throw s3.s3Failure(action, answer);
      }
    },

    stat(key) {
      return statFile(config, key);
    },

    presignDownload(key, info, expiresAt) {
      return presignDownload(config, key, info, expiresAt);
    },
  };
}

function uploadUrl(config: s3.S3Config, key: string, uploadId: string): URL {
  const url = s3.objectUrl(config, key);
  url.searchParams.set("uploadId", uploadId);
  return url;
}

/**
 * Every part of an upload, following `ListParts` from page to page.
 *
 * @returns The parts by number, or `undefined` on `NoSuchUpload`.
 */
async function listParts(
  config: s3.S3Config,
  key: string,
  uploadId: string,
  action: string,
): Promise<ListedPart[] | undefined> {
  const parts: ListedPart[] = [];
  let marker: string | undefined;
  while (true) {
    const url = uploadUrl(config, key, uploadId);
    if (marker !== undefined) {
      url.searchParams.set("part-number-marker", marker);
    }
    const answer = await s3.s3Request(config, action, "GET", url);
    if (answer.error?.code === "NoSuchUpload") return undefined;
    if (answer.error) throw s3.s3Failure(action, answer);
    for (const element of xmlElements(answer.text, "Part")) {
      const number = Number(xmlText(element, "PartNumber"));
      const size = Number(xmlText(element, "Size"));
      const sha256 = xmlText(element, "ChecksumSHA256");
      if (!Number.isSafeInteger(number) || !Number.isSafeInteger(size)) {
        throw new Error(
          `${action}: S3 listed a part without PartNumber or Size`,
        );
      }
      // A part sent without a SHA-256 (not through a URL of presignPart)
      // cannot be checked against what the client declares: leave it out,
      // so that it counts as missing and is sent again.
      if (sha256 === undefined || !isSha256Base64(sha256)) continue;
      parts.push({
        number,
        size,
        sha256,
        etag: xmlText(element, "ETag") ?? "",
      });
    }
    if (xmlText(answer.text, "IsTruncated") !== "true") break;
    const next = xmlText(answer.text, "NextPartNumberMarker");
    if (next === undefined || next === marker) {
      throw new Error(
        `${action}: S3 answered a truncated list without a new NextPartNumberMarker`,
      );
    }
    marker = next;
  }
  return parts.sort((a, b) => a.number - b.number);
}

function checkUploadId(uploadId: string, action: string): void {
  if (typeof uploadId !== "string" || uploadId === "") {
    throw new TypeError(`${action}: the upload id must be a non-empty string`);
  }
}

function checkPart(part: StoredPart, action: string): void {
  const { number, size, sha256 } = part ?? {};
  if (!Number.isSafeInteger(number) || number < 1 || number > 10_000) {
    throw new RangeError(
      `${action}: the part number must be a whole number from 1 to 10000`,
    );
  }
  if (
    !Number.isSafeInteger(size) || size < 1 || size > S3_LIMITS.maxPartSize
  ) {
    throw new RangeError(
      `${action}: a part has 1 to ${S3_LIMITS.maxPartSize} bytes, got ${size}`,
    );
  }
  if (typeof sha256 !== "string" || !isSha256Base64(sha256)) {
    throw new TypeError(`${action}: sha256 must be a SHA-256 digest in base64`);
  }
}
