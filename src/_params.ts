/**
 * The rules of the files API that the client and the route both apply: what
 * a file name may be, and the checks of the bodies of `POST /files/urls` and
 * `POST /files/uploads`. The client refuses before any request what the
 * route would refuse, because both call {@linkcode checkCreateParams}.
 *
 * @module
 */

import type { CreateFileUrlsParams, CreateUploadParams } from "./api.ts";
import { isMediaType } from "./_media_type.ts";

/** The longest file name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/**
 * Tells what is wrong with a file name, by the rules of the API: 1 to 255
 * UTF-8 bytes, not `.` or `..`, no `/`, `\`, control character, invisible
 * format character (Unicode `Cf`: bidi controls, zero-width characters, the
 * soft hyphen…) or lone surrogate. Format characters are refused because
 * they make a name display as another: `"x\u202Egnp.exe"` shows as
 * `xexe.png`.
 *
 * @param name The name.
 * @returns What is wrong, e.g. `"contains a slash or backslash"`, or
 * `undefined` if nothing.
 *
 * @example
 * ```ts
 * import { nameProblem } from "./_params.ts";
 * nameProblem("a/b.png"); // "contains a slash or backslash"
 * nameProblem("x\u202Egnp.exe"); // "contains the format character U+202E"
 * nameProblem("a.png"); // undefined
 * ```
 */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name === "." || name === "..") return "is not a file name";
  if (/[/\\]/.test(name)) return "contains a slash or backslash";
  if (/\p{Cc}/u.test(name)) return "contains a control character";
  const format = /\p{Cf}/u.exec(name);
  if (format !== null) {
    return `contains the format character U+${hex(format[0].codePointAt(0)!)}`;
  }
  if (/\p{Cs}/u.test(name)) return "contains a lone surrogate";
  const bytes = encoder.encode(name).byteLength;
  if (bytes > MAX_NAME_BYTES) {
    return `has ${bytes} UTF-8 bytes, at most ${MAX_NAME_BYTES} are allowed`;
  }
  return undefined;
}

const FIELDS = [
  ["name", "string"],
  ["size", "number"],
  ["resource", "string"],
  ["mime_type", "string"],
] as const;

/**
 * Checks the fields of `POST /files/urls` by the API's rules, the same in the
 * client and the route. Which resources and sizes a route accepts is the
 * route's own business, checked after this.
 *
 * @param params The fields, e.g. a parsed JSON body.
 * @param action What is being done, for messages: `Cannot create file URLs`.
 * @returns The fields, typed.
 * @throws {TypeError} If a field is missing or mistyped, the name breaks a
 * rule, the resource is empty or the media type is malformed.
 * @throws {RangeError} If `size` is not a non-negative safe integer, or
 * `lifetime` (optional) not a positive one.
 *
 * @example
 * ```ts
 * import { checkCreateParams } from "./_params.ts";
 * checkCreateParams(
 *   { name: "a.png", size: 3, resource: "prediction", mime_type: "image/png" },
 *   "Cannot create URLs",
 * );
 * ```
 */
export function checkCreateParams(
  params: Record<string, unknown>,
  action: string,
): CreateFileUrlsParams {
  const fields = checkFields(params, action, false);
  return { ...fields, size: fields.size as number };
}

/**
 * Checks the fields of `POST /files/uploads` by the API's rules: those of
 * {@linkcode checkCreateParams}, with `size` optional, and `part_size` (like
 * `lifetime`) a positive safe integer if given.
 *
 * @param params The fields, e.g. a parsed JSON body.
 * @param action What is being done, for messages.
 * @returns The fields, typed, with `size` `null` when unknown.
 * @throws {TypeError} As {@linkcode checkCreateParams} does.
 * @throws {RangeError} If `size`, `part_size` or `lifetime` is out of range.
 *
 * @example
 * ```ts
 * import { checkUploadParams } from "./_params.ts";
 * checkUploadParams(
 *   { name: "a.mp4", resource: "prediction", mime_type: "video/mp4" },
 *   "Cannot start an upload",
 * ); // size: null
 * ```
 */
export function checkUploadParams(
  params: Record<string, unknown>,
  action: string,
): CreateUploadParams & { size: number | null } {
  const fields = checkFields(params, action, true);
  const partSize = positiveField(params, "part_size", action);
  return partSize === undefined ? fields : { ...fields, part_size: partSize };
}

/**
 * Reads an optional field that must be a positive safe integer.
 *
 * @returns The value, or `undefined` if absent (or `null`).
 */
function positiveField(
  params: Record<string, unknown>,
  field: string,
  action: string,
): number | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(`${action}: ${field} must be a number`);
  }
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `${action}: ${field} must be a positive safe integer, got ${value}`,
    );
  }
  return value;
}

function checkFields(
  params: Record<string, unknown>,
  action: string,
  sizeOptional: boolean,
): Omit<CreateFileUrlsParams, "size"> & { size: number | null } {
  for (const [field, type] of FIELDS) {
    const value = params[field];
    if (field === "size" && sizeOptional && (value ?? null) === null) continue;
    if (value === undefined) {
      throw new TypeError(`${action}: ${field} is missing`);
    }
    const actual = typeof value;
    if (actual !== type) {
      throw new TypeError(`${action}: ${field} must be a ${type}`);
    }
  }
  const { name, resource, mime_type } =
    params as unknown as CreateFileUrlsParams;
  const size = (params.size ?? null) as number | null;
  const problem = nameProblem(name);
  if (problem === "is empty") {
    throw new TypeError(`${action}: name must be a non-empty string`);
  }
  if (problem !== undefined) {
    throw new TypeError(`${action}: name ${quoteName(name)} ${problem}`);
  }
  if (size !== null && (!Number.isSafeInteger(size) || size < 0)) {
    throw new RangeError(
      `${action}: size must be a non-negative safe integer, got ${size}`,
    );
  }
  if (resource === "") {
    throw new TypeError(`${action}: resource must be a non-empty string`);
  }
  if (!isMediaType(mime_type)) {
    throw new TypeError(
      `${action}: mime_type must be a media type such as "image/png", got ${
        JSON.stringify(mime_type)
      }`,
    );
  }
  const lifetime = positiveField(params, "lifetime", action);
  return {
    name,
    size,
    resource,
    mime_type,
    ...(lifetime === undefined ? {} : { lifetime }),
  };
}

/**
 * Quotes a name for a message as JSON does, with format characters escaped
 * too, so that the message shows the name as it is, not as it displays.
 *
 * @param name The name.
 * @returns E.g. `"a\u202Egnp.exe"`.
 */
export function quoteName(name: string): string {
  return JSON.stringify(name).replace(
    /\p{Cf}/gu,
    (char) =>
      char.split("").map((unit) => `\\u${hex(unit.charCodeAt(0))}`).join(""),
  );
}

/** A code point or unit in upper-case hex, at least 4 digits: `202E`. */
function hex(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, "0");
}
