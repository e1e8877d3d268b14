/**
 * The API key check of `POST /files/urls`.
 *
 * Hono's `bearerAuth` is not used: it answers 400 to another scheme (such as
 * `Basic …`), where this API answers 401 to every missing or unusable key.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { RouteError } from "./_errors.ts";

const encoder = new TextEncoder();

/**
 * The SHA-256 digest of a text.
 *
 * @param text The text.
 * @returns The digest.
 */
export async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/**
 * Compares the digest of a key with every known digest, without stopping at
 * the first match or the first differing byte.
 */
async function isKnownKey(key: string, known: Uint8Array[]): Promise<boolean> {
  const given = await digest(key);
  let found = 0;
  for (const candidate of known) {
    let diff = 0;
    for (let i = 0; i < given.length; i++) diff |= given[i] ^ candidate[i];
    found |= diff === 0 ? 1 : 0;
  }
  return found === 1;
}

/**
 * Middleware that lets a request through only with
 * `Authorization: Bearer <key>` for one of the keys.
 *
 * @param keys SHA-256 digests of the accepted keys.
 * @param action What the request does, for messages.
 * @returns The middleware; it throws a 401 {@linkcode RouteError} with
 * `WWW-Authenticate: Bearer`.
 */
export function apiKeyAuth(
  keys: Promise<Uint8Array[]>,
  action: string,
): MiddlewareHandler {
  const challenge = { "www-authenticate": "Bearer" };
  return async (c, next) => {
    const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(
      c.req.header("authorization") ?? "",
    );
    if (match === null) {
      throw new RouteError(401, `${action}: no API key was given`, challenge);
    }
    if (!await isKnownKey(match[1], await keys)) {
      throw new RouteError(
        401,
        `${action}: the API key is not valid`,
        challenge,
      );
    }
    await next();
  };
}
