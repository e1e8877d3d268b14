/**
 * Media types: the one module that knows where the extension table comes
 * from (the `mime` package's standard types: the IANA types with an
 * extension). Switching to `@std/media-types` changes only the import below
 * and the lookup in {@linkcode typeByName}.
 *
 * The table is read directly rather than through `mime`'s `Mime` class, which
 * would add 1.7 KB of methods the client never calls to a browser bundle.
 *
 * @module
 */
import standardTypes from "mime/types/standard.js";

let byExtension: Map<string, string> | undefined;

/** Extension to type, as `mime` builds it: a `*` marks a non-default pair. */
function extensionTable(): Map<string, string> {
  if (byExtension) return byExtension;
  byExtension = new Map();
  for (const [type, extensions] of Object.entries(standardTypes)) {
    for (const extension of extensions as string[]) {
      if (extension[0] !== "*") byExtension.set(extension, type);
    }
  }
  return byExtension;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f]|\\\\[\\t\\x20-\\x7e])*"))*$`,
);

/**
 * Looks up the media type of a file name by its extension, case-insensitively.
 *
 * @param name A file name or path, e.g. `"report.PDF"`.
 * @returns The media type, e.g. `"application/pdf"`, or `undefined` if the
 * name has no known extension.
 *
 * @example
 * ```ts
 * import { typeByName } from "./_media_type.ts";
 * typeByName("photo.PNG"); // "image/png"
 * ```
 */
export function typeByName(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return undefined;
  return extensionTable().get(name.slice(dot + 1).toLowerCase());
}

/**
 * Tells whether a string is a well-formed media type (RFC 9110 §8.3.1):
 * `type/subtype` made of token characters, with optional parameters.
 *
 * @param value The string to check.
 * @returns `true` for e.g. `"text/plain; charset=utf-8"`.
 */
export function isMediaType(value: string): boolean {
  return value.length <= 255 && MEDIA_TYPE.test(value);
}

/**
 * The essence of a media type: `type/subtype` in lower case, without
 * parameters or white space.
 *
 * @param value A media type, e.g. `"Text/Plain; charset=UTF-8"`.
 * @returns The essence, e.g. `"text/plain"`.
 */
export function essence(value: string): string {
  const semi = value.indexOf(";");
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}
