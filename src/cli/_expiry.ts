/**
 * When a download URL stops working, as far as the URL itself tells: the
 * APIs answer only the upload URL's `expires_at`.
 *
 * @module
 */

/**
 * When a download URL expires, read from its query: `exp` (whole seconds
 * since the epoch, as the fileurls route signs it), or `X-Amz-Date` plus
 * `X-Amz-Expires` (a presigned S3 URL, as `--storage s3` hands out).
 *
 * @param url The download URL.
 * @returns The expiry, or `undefined` for a URL that tells none.
 */
export function downloadExpiry(url: string): Date | undefined {
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const exp = query.get("exp");
  if (exp !== null && /^[0-9]{1,12}$/.test(exp)) {
    return new Date(Number(exp) * 1000);
  }
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    query.get("X-Amz-Date") ?? "",
  );
  const expires = query.get("X-Amz-Expires");
  if (date !== null && expires !== null && /^[0-9]{1,9}$/.test(expires)) {
    const [, y, mo, d, h, mi, s] = date.map(Number);
    return new Date(Date.UTC(y, mo - 1, d, h, mi, s) + Number(expires) * 1000);
  }
  return undefined;
}
