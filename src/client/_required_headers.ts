/**
 * The request headers that an upload or part URL requires beyond the ones
 * the client sends anyway (`Content-Type`, `Content-Length`) or is told to
 * send: those a presigned S3 URL names in `X-Amz-SignedHeaders` and whose
 * value is fixed, so that the URL alone tells it.
 *
 * @module
 */

/** Signed headers whose value never varies, by their name in the URL. */
const FIXED: Readonly<Record<string, string>> = {
  // S3 conditional writes: store the object only if the key holds none.
  "if-none-match": "*",
};

/**
 * The extra headers a `PUT` to `url` must carry: for a presigned S3 URL
 * whose `X-Amz-SignedHeaders` lists `if-none-match`, `If-None-Match: *`
 * (the bucket refuses the request, 403, without it). Any other URL requires
 * none.
 *
 * @param url An upload or part URL, as the API gave it.
 * @returns The headers by lowercase name; empty if none is required or the
 * URL does not parse.
 *
 * @example
 * ```ts
 * import { requiredHeaders } from "./_required_headers.ts";
 *
 * const url = "https://my-uploads.s3.eu-west-1.amazonaws.com/abc" +
 *   "?X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match";
 * console.log(requiredHeaders(url)); // { "if-none-match": "*" }
 * ```
 */
export function requiredHeaders(url: string): Record<string, string> {
  let signed: string | null;
  try {
    signed = new URL(url).searchParams.get("X-Amz-SignedHeaders");
  } catch {
    return {};
  }
  const headers: Record<string, string> = {};
  for (const name of signed?.toLowerCase().split(";") ?? []) {
    if (Object.hasOwn(FIXED, name)) headers[name] = FIXED[name];
  }
  return headers;
}
