/**
 * The last segment of a path or `file:` URL: the file's own name, used by the
 * client and the command line alike.
 *
 * @module
 */

/**
 * The last segment of a path (`/` or `\` separated, trailing separators
 * ignored) or of a `file:` URL (percent-decoded).
 *
 * @param path A path, e.g. `"./photos/cat.png"`, or a `file:` URL.
 * @returns The name, e.g. `"cat.png"`.
 * @throws {TypeError} If the URL is not a `file:` URL.
 */
export function basename(path: string | URL): string {
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `Cannot upload "${path.href}": only file: URLs are paths; fetch other URLs and upload the Blob`,
      );
    }
    return decodeURIComponent(
      path.pathname.slice(path.pathname.lastIndexOf("/") + 1),
    );
  }
  const trimmed = path.replace(/[\\/]+$/, "");
  return trimmed.slice(
    Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1,
  );
}
