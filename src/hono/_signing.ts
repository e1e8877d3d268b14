/**
 * URL signatures: HMAC-SHA-256 over a canonical list of fields, made and
 * checked with Web Crypto only, so the route runs on every runtime with
 * `crypto.subtle`.
 *
 * Every secret becomes one key with a short key id (`kid`) that travels in the
 * URL. The first key signs; every key verifies, so a new secret can be put in
 * front of the old one without breaking URLs that are still live.
 *
 * @module
 */

import { decodeBase64url, encodeBase64url } from "../_encoding.ts";

const encoder = new TextEncoder();

/** The shortest secret accepted, in UTF-8 bytes. */
export const MIN_SECRET_BYTES = 32;

/**
 * What a signature covers: a list of values whose first is the URL's
 * purpose (`"upload"`, `"download"`, …), so that no URL serves another
 * purpose, and whose order and length each purpose fixes.
 */
export type SignedFields = readonly [string, ...(string | number | null)[]];

/** A signature and the id of the key that made it. */
export interface Signature {
  /** The key id. */
  kid: string;
  /** The HMAC, base64url without padding. */
  sig: string;
}

/** Signs and verifies with a ring of keys. */
export interface Signer {
  /**
   * Signs with the first key.
   *
   * @param fields What the signature covers.
   * @returns The signature and key id.
   */
  sign(fields: SignedFields): Promise<Signature>;
  /**
   * Verifies a signature in constant time.
   *
   * @param fields What the signature should cover.
   * @param signature The key id and signature from the URL.
   * @returns `true` only if a known key made exactly this signature.
   */
  verify(fields: SignedFields, signature: Signature): Promise<boolean>;
}

interface Key {
  kid: string;
  key: CryptoKey;
}

/**
 * Checks the secrets synchronously, so that a bad option fails when the route
 * is made rather than on the first request.
 *
 * @param secret One secret or several, newest first.
 * @returns The secrets as a non-empty list.
 * @throws {TypeError} If there is no secret or one is shorter than 32 bytes.
 */
export function checkSecrets(secret: string | string[]): string[] {
  const secrets = typeof secret === "string" ? [secret] : secret;
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError(
      "Cannot create the files route: secret must be a string or a non-empty array of strings",
    );
  }
  for (const [index, value] of secrets.entries()) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot create the files route: secret ${index} is not a string`,
      );
    }
    const bytes = encoder.encode(value).byteLength;
    if (bytes < MIN_SECRET_BYTES) {
      throw new TypeError(
        `Cannot create the files route: secret ${index} has ${bytes} bytes, at least ${MIN_SECRET_BYTES} are needed`,
      );
    }
  }
  return secrets;
}

/**
 * Makes a signer from secrets that {@linkcode checkSecrets} accepted.
 *
 * @param secrets The secrets, newest first.
 * @returns The signer.
 */
export async function createSigner(secrets: string[]): Promise<Signer> {
  const keys: Key[] = [];
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    // The key id is itself an HMAC, so it tells nothing about the secret.
    const mac = await crypto.subtle.sign(
      "HMAC",
      key,
      encoder.encode("fileurls key id"),
    );
    keys.push({ kid: encodeBase64url(new Uint8Array(mac, 0, 6)), key });
  }
  const signing = keys[0];
  return {
    async sign(fields) {
      const mac = await crypto.subtle.sign(
        "HMAC",
        signing.key,
        canonical(fields, signing.kid),
      );
      return { kid: signing.kid, sig: encodeBase64url(new Uint8Array(mac)) };
    },
    async verify(fields, { kid, sig }) {
      const found = keys.find((key) => key.kid === kid);
      const mac = decodeBase64url(sig);
      if (found === undefined || mac === undefined || mac.byteLength !== 32) {
        return false;
      }
      return await crypto.subtle.verify(
        "HMAC",
        found.key,
        mac,
        canonical(fields, kid),
      );
    },
  };
}

/**
 * The bytes that get signed: a JSON array, so no field can bleed into the
 * next, with the format's version first and the key id last.
 */
function canonical(fields: SignedFields, kid: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify(["fileurls/1", ...fields, kid]));
}
