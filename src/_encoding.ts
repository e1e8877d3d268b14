/**
 * base64url (RFC 4648 §5, without padding) and random ids: the one home of
 * both, for signatures, file ids, storage keys and generated secrets.
 *
 * @module
 */

/**
 * Encodes bytes as base64url without padding.
 *
 * @param bytes The bytes.
 * @returns The text, e.g. `"AQID"` for `[1, 2, 3]`.
 */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
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
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return encodeBase64url(bytes) === text ? bytes : undefined;
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
