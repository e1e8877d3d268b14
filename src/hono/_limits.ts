/**
 * The checks of the route's time and size limits, each a positive safe
 * integer, and of the pairs that bound one another.
 *
 * @module
 */

/**
 * Checks one limit.
 *
 * @param value The option's value.
 * @param option Its name, for the message.
 * @returns The value.
 * @throws {RangeError} Unless it is a positive safe integer.
 */
export function positive(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot create the files route: ${option} must be a positive safe integer, got ${value}`,
    );
  }
  return value;
}

/**
 * `downloadTtl` (default one day, or `maxDownloadTtl` if shorter) and
 * `maxDownloadTtl` (default seven days, or `downloadTtl` if longer).
 *
 * @param options The route's options.
 * @returns Both, in seconds.
 * @throws {RangeError} For a limit that is no positive safe integer, or
 * `maxDownloadTtl` below `downloadTtl`.
 */
export function downloadTtls(
  options: { downloadTtl?: number; maxDownloadTtl?: number },
): { downloadTtl: number; maxDownloadTtl: number } {
  const max = options.maxDownloadTtl;
  const downloadTtl = positive(
    options.downloadTtl ?? Math.min(86400, max ?? 86400),
    "downloadTtl",
  );
  const maxDownloadTtl = positive(
    max ?? Math.max(604800, downloadTtl),
    "maxDownloadTtl",
  );
  if (maxDownloadTtl < downloadTtl) {
    throw new RangeError(
      `Cannot create the files route: maxDownloadTtl ${maxDownloadTtl} is less than downloadTtl ${downloadTtl}`,
    );
  }
  return { downloadTtl, maxDownloadTtl };
}

/**
 * `lifetime` (default: never expire) and `maxLifetime` (default:
 * `lifetime`, or no cap).
 *
 * @param options The route's options.
 * @returns Both, in seconds, or `undefined`.
 * @throws {RangeError} For a limit that is no positive safe integer, or
 * `maxLifetime` below `lifetime`.
 */
export function lifetimes(
  options: { lifetime?: number; maxLifetime?: number },
): { lifetime?: number; maxLifetime?: number } {
  const lifetime = options.lifetime === undefined
    ? undefined
    : positive(options.lifetime, "lifetime");
  const maxLifetime = options.maxLifetime === undefined
    ? lifetime
    : positive(options.maxLifetime, "maxLifetime");
  if (
    lifetime !== undefined && maxLifetime !== undefined &&
    maxLifetime < lifetime
  ) {
    throw new RangeError(
      `Cannot create the files route: maxLifetime ${maxLifetime} is less than lifetime ${lifetime}`,
    );
  }
  return { lifetime, maxLifetime };
}
