/**
 * The check every URL the client sends to or hands on passes first: an
 * upload's URLs, a multipart upload's capability and part URLs, and a
 * download URL, whether the API answered them or the caller gave them. Only
 * an absolute `http:` or `https:` URL passes; a relative one, `file:`,
 * `data:`, `javascript:` and the like are refused before anything is sent.
 *
 * @module
 */
import { describe } from "./_describe.ts";
import { FileUrlsError } from "./errors.ts";

/**
 * Refuses a URL that is not absolute `http:` or `https:`.
 *
 * @param url The URL, as the API answered it or the caller gave it.
 * @param what Names it in the message: `upload_url`, `download_url`, …
 * @param action What is being done, e.g. `Cannot upload "a.png"`.
 * @throws {FileUrlsError} For anything else: not a string, relative or
 * malformed, or of another scheme.
 */
export function checkUrl(url: unknown, what: string, action: string): void {
  if (typeof url !== "string") {
    throw new FileUrlsError(
      `${action}: ${what} is not a URL: got ${describe(url)}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Without its query, which may hold a signature.
    const shown = url.replace(/[?#][^]*$/, "").slice(0, 100);
    throw new FileUrlsError(
      `${action}: ${what} is not an absolute URL: ${JSON.stringify(shown)}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new FileUrlsError(
      `${action}: ${what} is a ${parsed.protocol} URL, not http: or https:`,
    );
  }
}

/**
 * Refuses the URLs of a single upload unless both are absolute `http:` or
 * `https:`.
 *
 * @param urls The `upload_url` and `download_url`.
 * @param action What is being done, e.g. `Cannot upload "a.png"`.
 * @throws {FileUrlsError} If either is not.
 */
export function checkFileUrls(
  urls: { upload_url: unknown; download_url: unknown },
  action: string,
): void {
  checkUrl(urls.upload_url, "upload_url", action);
  checkUrl(urls.download_url, "download_url", action);
}
