/**
 * Media types: the one module that knows where the extension table comes
 * from. The table is generated from the `mime` package's standard types (the
 * IANA types with an extension) by `media-types-build.ts` into
 * `_media_types.ts`, as one string this module decodes the first time
 * {@linkcode typeByName} needs it: `mime` itself is not imported, and its
 * table weighed a third more in a gzipped browser bundle. Switching to
 * `@std/media-types` stays a change to this one module: its import and the
 * lookup in {@linkcode typeByName}.
 *
 * @module
 */
import { MEDIA_TYPES } from "./_media_types.ts";

let byExtension: Map<string, string> | undefined;

/** Extension to type, decoded from {@linkcode MEDIA_TYPES} once. */
function extensionTable(): Map<string, string> {
  return byExtension ??= decodeMediaTypes(MEDIA_TYPES);
}

/**
 * Decodes a table that `media-types-build.ts` encoded: entries separated by
 * `;`, each a subtype and its extensions separated by spaces; the first
 * entry of a top-level type is prefixed with that type and `/`; an entry with
 * no extension stands for the subtype up to any `+` suffix; an extension
 * that starts with an upper-case letter starts with as many characters of
 * the subtype (`A` 1, …, `Z` 26).
 *
 * @param encoded The encoded table, e.g. `"image/png;svg+xml C Cz"`.
 * @returns Extension to media type, e.g. `svgz` → `image/svg+xml`.
 *
 * @example
 * ```ts
 * import { decodeMediaTypes } from "./_media_type.ts";
 * decodeMediaTypes("image/png;svg+xml C Cz").get("svgz"); // "image/svg+xml"
 * ```
 */
export function decodeMediaTypes(encoded: string): Map<string, string> {
  const table = new Map<string, string>();
  let top = "";
  for (let entry of encoded.split(";")) {
    const slash = entry.indexOf("/");
    if (slash !== -1) {
      top = entry.slice(0, slash + 1);
      entry = entry.slice(slash + 1);
    }
    const [subtype, ...extensions] = entry.split(" ");
    if (extensions.length === 0) extensions.push(subtype.split("+")[0]);
    for (const extension of extensions) {
      const shared = extension.charCodeAt(0) - 64; // "A" is 1, "Z" 26
      table.set(
        shared >= 1 && shared <= 26
          ? subtype.slice(0, shared) + extension.slice(1)
          : extension,
        top + subtype,
      );
    }
  }
  return table;
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
