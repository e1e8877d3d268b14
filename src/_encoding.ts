/**
 * base64url (RFC 4648 §5, without padding) and random ids: the one home of
 * both, for signatures, file ids, storage keys and generated secrets.
 *
 * @module
 */

/**
 * Encodes bytes as base64, with padding.
 *
 * @param bytes The bytes.
 * @returns The text, e.g. `"AQID"` for `[1, 2, 3]`.
 */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes base64 or base64url, padded or not.
 *
 * @param text The text.
 * @returns The bytes, or `undefined` if the text is not base64.
 */
export function decodeBase64(
  text: string,
): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Encodes bytes as base64url without padding.
 *
 * @param bytes The bytes.
 * @returns The text, e.g. `"AQID"` for `[1, 2, 3]`.
 */
export function encodeBase64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Decodes strict base64url without padding: only the one canonical spelling
 * of some bytes is accepted.
 *
 * @param text The text.
 * @returns The bytes, or `undefined` if the text is not canonical base64url.
 */
export function decodeBase64url(
  text: string,
): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = decodeBase64(text);
  return bytes && encodeBase64url(bytes) === text ? bytes : undefined;
}

/**
 * Makes a random id: `bytes` random bytes from `crypto.getRandomValues`, as
 * base64url. 16 bytes (128 bits) make the 22 characters of a file id.
 *
 * @param bytes How many random bytes.
 * @returns The id.
 */
export function randomId(bytes = 16): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** 64 characters in ASCII order, so that ids sort as their numbers do. */
const SORTABLE =
  "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/**
 * Makes a file id: 22 characters of `A-Z a-z 0-9 _ -` that sort newest
 * first. The first 8 carry the time in milliseconds counted down from
 * 2^48 - 1 (so a newer id sorts before an older one, byte by byte); the
 * other 14 are 84 random bits.
 *
 * @param now The time, in milliseconds since the epoch.
 * @returns The id.
 */
export function fileId(now: number = Date.now()): string {
  let time = 2 ** 48 - 1 - Math.floor(now);
  let head = "";
  for (let i = 0; i < 8; i++) {
    head = SORTABLE[time % 64] + head;
    time = Math.floor(time / 64);
  }
  let tail = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(14))) {
    tail += SORTABLE[byte & 63];
  }
  return head + tail;
}

/**
 * Encodes bytes as lower-case hex.
 *
 * @param bytes The bytes.
 * @returns The text, e.g. `"0a0b"`.
 */
export function encodeHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}
