/**
 * `Content-Disposition` for downloads (RFC 6266, with RFC 8187/5987
 * `filename*` for names outside ASCII), and the short list of types that may
 * be shown inline.
 *
 * @module
 */

import { essence } from "./_media_type.ts";

/**
 * Types a browser may show in place. Never HTML, SVG, XML or anything else
 * that can run script in the download's origin.
 */
const INLINE_TYPES = new Set([
  "application/pdf",
  "image/avif",
  "image/gif",
  "image/jpeg",
  "image/png",
  "image/webp",
  "text/plain",
]);

/**
 * Tells whether a declared type is safe to show inline.
 *
 * @param type A media type, parameters allowed.
 * @returns `true` for the short safe list, `audio/*` and `video/*`.
 */
export function isInlineType(type: string): boolean {
  const value = essence(type);
  return INLINE_TYPES.has(value) || value.startsWith("audio/") ||
    value.startsWith("video/");
}

/**
 * Builds a `Content-Disposition` value with both an ASCII `filename` for old
 * clients and an exact UTF-8 `filename*`.
 *
 * @param name The original file name.
 * @param inline `inline` instead of `attachment`.
 * @returns The header value, e.g.
 * `attachment; filename="_t_.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt`.
 */
export function contentDisposition(name: string, inline: boolean): string {
  // Printable ASCII except the quote and backslash, which old parsers trip on,
  // and `%`, which some decode.
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/gu, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${
    inline ? "inline" : "attachment"
  }; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
