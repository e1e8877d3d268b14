/**
 * How a download is served: the type it is sent with (never one a browser
 * would run as a script or apply as a style), `Content-Disposition` (RFC
 * 6266, with RFC 8187/5987 `filename*` for names outside ASCII), and the
 * short list of types that may be shown inline.
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
 * Types a browser runs or applies when a page points at them: every
 * JavaScript MIME type of the WHATWG MIME Sniffing standard (`<script>`,
 * workers, modules), `text/css` (`<link rel=stylesheet>`, CSS modules),
 * WebAssembly (`WebAssembly.instantiateStreaming`) and XSLT (an XML page's
 * `<?xml-stylesheet?>`). With `nosniff`, a browser refuses to run or apply a
 * response of any other type.
 */
const ACTIVE_TYPES = new Set([
  "application/ecmascript",
  "application/javascript",
  "application/x-ecmascript",
  "application/x-javascript",
  "text/ecmascript",
  "text/javascript",
  "text/javascript1.0",
  "text/javascript1.1",
  "text/javascript1.2",
  "text/javascript1.3",
  "text/javascript1.4",
  "text/javascript1.5",
  "text/jscript",
  "text/livescript",
  "text/x-ecmascript",
  "text/x-javascript",
  "text/css",
  "application/wasm",
  "application/xslt+xml",
  "text/xsl",
]);

/** The type a script, style or other active file is served with instead. */
const INERT_TYPE = "application/octet-stream";

/**
 * The type to serve a download with: the declared type, unless a browser
 * would run or apply it from a page (a script, a style, WebAssembly, XSLT),
 * which is served as `application/octet-stream` instead. Otherwise a page on
 * the download's origin that allows its own scripts (`script-src 'self'`)
 * would run an uploaded one.
 *
 * @param type The declared media type, parameters allowed.
 * @returns The type to send as `Content-Type`.
 *
 * @example
 * ```ts
 * import { servedType } from "./_content_disposition.ts";
 * servedType("text/javascript; charset=utf-8"); // "application/octet-stream"
 * servedType("image/png"); // "image/png"
 * ```
 */
export function servedType(type: string): string {
  return ACTIVE_TYPES.has(essence(type)) ? INERT_TYPE : type;
}

/** Options of {@linkcode isInlineType}. */
export interface InlineOptions {
  /**
   * Whether the download is served with `Content-Security-Policy: sandbox`.
   * No browser shows a PDF in a sandboxed page (Chromium and Safari show a
   * blank or blocked page), so a sandboxed PDF is better downloaded.
   *
   * @default {false}
   */
  sandboxed?: boolean;
}

/**
 * Tells whether a declared type is safe to show inline.
 *
 * @param type A media type, parameters allowed.
 * @param options Whether the download is sandboxed.
 * @returns `true` for the short safe list, `audio/*` and `video/*`; a PDF
 * only when not sandboxed.
 *
 * @example
 * ```ts
 * import { isInlineType } from "./_content_disposition.ts";
 * isInlineType("image/png"); // true
 * isInlineType("text/html"); // false
 * isInlineType("application/pdf", { sandboxed: true }); // false
 * ```
 */
export function isInlineType(
  type: string,
  options: InlineOptions = {},
): boolean {
  const value = essence(type);
  if (options.sandboxed && value === "application/pdf") return false;
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
 *
 * @example
 * ```ts
 * import { contentDisposition } from "./_content_disposition.ts";
 * contentDisposition("été.txt", false);
 * // `attachment; filename="_t_.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt`
 * ```
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
