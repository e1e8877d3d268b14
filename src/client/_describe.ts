/**
 * What the sources of an upload say of their content: its media type, and
 * a value's kind for messages.
 *
 * @module
 */
import { isMediaType, typeByName } from "../_media_type.ts";
import type { UploadOptions } from "./types.ts";

const FALLBACK_TYPE = "application/octet-stream";

/**
 * The media type to declare: `mimeType`, else a well-formed `Blob.type`,
 * else the name's extension's, else `application/octet-stream`.
 *
 * @param name The file name.
 * @param options The upload's options.
 * @param blobType A Blob's own type.
 * @returns The media type.
 */
export function typeOf(
  name: string,
  options: UploadOptions,
  blobType?: string,
): string {
  return options.mimeType ||
    (blobType && isMediaType(blobType) ? blobType : undefined) ||
    typeByName(name) || FALLBACK_TYPE;
}

/**
 * Names a value's kind for messages: `"text"` for a string, `DataView`,
 * `number`, `null`.
 *
 * @param value Anything.
 * @returns Its kind.
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    return value.constructor?.name ?? "object";
  }
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}
