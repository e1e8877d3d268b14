/**
 * What every S3 call of `s3Storage` shares: the checked options,
 * presigned URLs (SigV4 in the query, for the client), signed requests
 * (SigV4 in headers, made by the route itself), and S3's error answers.
 * Built on `aws4fetch`, `fetch` and Web Crypto only, so it runs on workerd.
 *
 * @module
 */

import { AwsV4Signer } from "aws4fetch";
import {
  contentDisposition,
  isInlineType,
  servedType,
} from "../_content_disposition.ts";
import type { FileInfo } from "./mod.ts";
import { xmlRoot, xmlText } from "../_xml.ts";

/** The longest lifetime S3 allows for a presigned URL: 7 days, in seconds. */
const MAX_EXPIRES_SECONDS = 604_800;

/** The checked options of `s3Storage`. */
export interface S3Config {
  /** Origin and base path, without a trailing slash, bucket included. */
  base: string;
  /** The bucket name, for `x-amz-copy-source`. */
  bucket: string;
  /** `undefined` lets aws4fetch take it from the URL (AWS, R2), else us-east-1. */
  region: string | undefined;
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token of temporary credentials. */
  sessionToken: string | undefined;
  /** When temporary credentials expire. */
  sessionExpiresAt: Date | undefined;
  /** Put before every key. */
  prefix: string;
  /** Whether writes carry `If-None-Match: *`. */
  conditionalWrites: boolean;
  /** aws4fetch's cache of signing keys, one per day. */
  cache: Map<string, ArrayBuffer>;
}

/** An answer of S3, read whole. */
export interface S3Answer {
  /** The HTTP status. */
  status: number;
  /** The headers. */
  headers: Headers;
  /** The body, `""` for none. */
  text: string;
  /**
   * S3's `<Error>`, for a status other than 2xx or a 200 whose body is an
   * `<Error>` (as `CompleteMultipartUpload` may answer).
   */
  error?: { code: string; message: string };
}

/**
 * The URL of an object.
 *
 * @param config The options.
 * @param key The storage key, without the prefix.
 * @returns `{base}/{prefix}{key}`.
 */
export function objectUrl(config: S3Config, key: string): URL {
  return new URL(`${config.base}/${config.prefix}${key}`);
}

/**
 * The time to sign at: the start of the current second, as `X-Amz-Date` has
 * whole seconds.
 *
 * @returns The time in milliseconds, and as `X-Amz-Date`.
 */
export function signingTime(): { signedAt: number; datetime: string } {
  const signedAt = Math.floor(Date.now() / 1000) * 1000;
  const datetime = new Date(signedAt).toISOString().replace(
    /[:-]|\.\d{3}/g,
    "",
  );
  return { signedAt, datetime };
}

/**
 * Seconds from `signedAt` to `until`, clamped to 1 second … 7 days and to
 * the session's end.
 *
 * @param config The options.
 * @param signedAt When the URL is signed, in milliseconds.
 * @param until When the URL should stop working.
 * @returns The lifetime in seconds: below 1 once the session has ended.
 */
export function lifetime(
  config: S3Config,
  signedAt: number,
  until: Date,
): number {
  const wanted = Math.floor((until.getTime() - signedAt) / 1000);
  let seconds = Math.min(Math.max(wanted, 1), MAX_EXPIRES_SECONDS);
  if (config.sessionExpiresAt !== undefined) {
    const left = Math.floor(
      (config.sessionExpiresAt.getTime() - signedAt) / 1000,
    );
    seconds = Math.min(seconds, left);
  }
  return seconds;
}

/**
 * The error for a URL asked for once the session credentials have expired.
 *
 * @param config The options.
 * @param action What failed, e.g. `Cannot presign "a.png"`.
 * @returns The error, to throw.
 */
export function sessionExpired(config: S3Config, action: string): Error {
  return new Error(
    `${action}: the S3 session credentials expire at ${config.sessionExpiresAt?.toISOString()}`,
  );
}

/**
 * Presigns a URL: SigV4 in the query, `X-Amz-Expires` taken from `url`.
 *
 * @param config The options.
 * @param method The method the URL is for.
 * @param url The URL, with `X-Amz-Expires` and any other query set.
 * @param datetime `X-Amz-Date`.
 * @param headers Headers the request must carry, all of them signed.
 * @returns The presigned URL.
 */
export async function presignUrl(
  config: S3Config,
  method: "GET" | "PUT",
  url: URL,
  datetime: string,
  headers: Record<string, string>,
): Promise<string> {
  const signed = await signer(config, method, url, headers, {
    datetime,
    signQuery: true,
  }).sign();
  return signed.url.href;
}

/**
 * A SigV4 signer for one request, with the storage's credentials, signing
 * every header given (aws4fetch leaves out Content-Length and Content-Type
 * unless asked).
 */
function signer(
  config: S3Config,
  method: string,
  url: URL,
  headers: Record<string, string>,
  more: { datetime?: string; signQuery?: boolean; body?: string },
): AwsV4Signer {
  return new AwsV4Signer({
    method,
    url: url.href,
    headers,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    sessionToken: config.sessionToken,
    service: "s3",
    region: config.region,
    cache: config.cache,
    allHeaders: true,
    ...more,
  });
}

/**
 * Presigns the `GET` of an object, to be served with the declared type and
 * with the original name in `Content-Disposition`, and with the headers that
 * an upload may have set unsigned (`Content-Encoding`, `Cache-Control` and,
 * through its `max-age`, `Expires`) overridden.
 *
 * @param config The options.
 * @param url The object's URL.
 * @param info The name and type to serve it with.
 * @param seconds The URL's lifetime, from {@linkcode lifetime}.
 * @param datetime `X-Amz-Date`.
 * @returns The presigned URL.
 */
export function presignGet(
  config: S3Config,
  url: URL,
  info: Pick<FileInfo, "name" | "type">,
  seconds: number,
  datetime: string,
): Promise<string> {
  const download = new URL(url);
  // A PUT may carry headers that no signature pins, and S3 keeps some of them
  // with the object: serve it as the bytes stored, for this URL's lifetime.
  download.searchParams.set("response-content-encoding", "identity");
  download.searchParams.set(
    "response-cache-control",
    `private, max-age=${seconds}`,
  );
  download.searchParams.set(
    "response-content-disposition",
    contentDisposition(info.name, isInlineType(info.type)),
  );
  download.searchParams.set("response-content-type", servedType(info.type));
  download.searchParams.set("X-Amz-Expires", String(seconds));
  return presignUrl(config, "GET", download, datetime, {});
}

/**
 * Sends one request to S3, signed in its headers, and reads the answer
 * whole. An error answer is returned, not thrown: see
 * {@linkcode s3Failure}.
 *
 * @param config The options.
 * @param action What is being done, for the message of a network error.
 * @param method The method.
 * @param url The URL, query included.
 * @param headers Headers to send and sign.
 * @param body The body, if any.
 * @returns The answer, with S3's error code and message if it is one.
 * @throws {Error} If S3 cannot be reached or the answer breaks off.
 */
export async function s3Request(
  config: S3Config,
  action: string,
  method: "GET" | "HEAD" | "POST" | "PUT" | "DELETE",
  url: URL,
  headers: Record<string, string> = {},
  body?: string,
): Promise<S3Answer> {
  const signed = await signer(config, method, url, headers, { body }).sign();
  let response: Response;
  let text: string;
  try {
    response = await fetch(signed.url, {
      method,
      headers: signed.headers,
      body,
    });
    text = await response.text();
  } catch (error) {
    throw new Error(
      `${action}: no answer from S3: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
  const answer: S3Answer = {
    status: response.status,
    headers: response.headers,
    text,
  };
  if (!response.ok || xmlRoot(text) === "Error") {
    answer.error = {
      code: xmlText(text, "Code") ??
        response.headers.get("x-amz-error-code") ?? "",
      message: xmlText(text, "Message") ??
        response.headers.get("x-amz-error-message") ?? "",
    };
  }
  return answer;
}

/**
 * The error for an error answer of S3, naming the action, the status, and
 * S3's code and message.
 *
 * @param action What failed, e.g. `Cannot complete the S3 upload of "abc"`.
 * @param answer The answer.
 * @returns E.g. `Cannot complete …: S3 answered 400 InvalidPart: One or more …`.
 */
export function s3Failure(action: string, answer: S3Answer): Error {
  const code = answer.error?.code ? ` ${answer.error.code}` : "";
  const message = answer.error?.message ? `: ${answer.error.message}` : "";
  return new Error(`${action}: S3 answered ${answer.status}${code}${message}`);
}
