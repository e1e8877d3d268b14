/**
 * SHA-256 as multipart uploads use it: digests in base64 (as S3's
 * `x-amz-checksum-sha256`), S3's composite checksum of a file's parts, and a
 * stream that checks a body against its digest before it ends.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./_encoding.ts";
import { builtinModule } from "./_runtime.ts";
import { sha256Js } from "./_sha256_js.ts";

interface NodeCrypto {
  createHash(algorithm: string): NodeHash;
}

/**
 * The SHA-256 of some bytes, base64: with `node:crypto` where the runtime
 * has it (Deno, Bun, Node), which reads the bytes where they are, else with
 * Web Crypto, which copies them first, else in plain JavaScript.
 *
 * @param bytes The bytes.
 * @returns 44 characters of base64.
 */
export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  const hash = builtinModule<NodeCrypto>("node:crypto")?.createHash("sha256");
  if (hash !== undefined) {
    hash.update(bytes);
    return hash.digest("base64");
  }
  // A page that is no secure context (plain http: from another machine)
  // has no Web Crypto.
  if (globalThis.crypto?.subtle === undefined) {
    return encodeBase64(sha256Js(bytes));
  }
  return encodeBase64(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
    ),
  );
}

/**
 * S3's composite checksum of a file uploaded in parts: the SHA-256 of the
 * parts' digests one after the other, base64, then `-` and the number of
 * parts.
 *
 * @param parts The parts' SHA-256 digests, base64, in order.
 * @returns E.g. `"3c1u…Bw=-3"`.
 */
export async function compositeSha256(parts: string[]): Promise<string> {
  const joined = new Uint8Array(parts.length * 32);
  parts.forEach((part, i) => joined.set(decodeBase64(part)!, i * 32));
  return `${await sha256Base64(joined)}-${parts.length}`;
}

/**
 * Tells whether a text is a SHA-256 digest in canonical base64.
 *
 * @param text The text.
 * @returns `true` for 43 base64 characters and one `=` that decode to 32
 * bytes.
 */
export function isSha256Base64(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text);
}

/** The SHA-256 of a body differs from the one it was declared with. */
export class ChecksumError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, naming the body.
   */
  constructor(message: string) {
    super(message);
    this.name = "ChecksumError";
  }
}

interface NodeHash {
  update(data: Uint8Array): void;
  digest(encoding: "base64"): string;
}

/** Checks bytes against a SHA-256 as they pass, where that can be done. */
export interface Sha256Checker {
  /**
   * Hashes the next bytes.
   *
   * @param chunk The bytes.
   */
  update(chunk: Uint8Array): void;
  /**
   * Ends the check.
   *
   * @throws {ChecksumError} If the bytes' SHA-256 is not the one expected.
   */
  end(): void;
}

/**
 * A checker that hashes bytes as they pass, with `node:crypto` (Deno, Bun,
 * Node, workerd with `nodejs_compat`).
 *
 * @param expected The SHA-256 the bytes must have, base64.
 * @param what Names the body in the message, e.g. `Cannot upload part 3`.
 * @returns The checker, or `undefined` where the runtime has no
 * `node:crypto` (Web Crypto needs the bytes whole: use
 * {@linkcode Sha256CheckStream}).
 */
export function sha256Checker(
  expected: string,
  what: string,
): Sha256Checker | undefined {
  const hash = builtinModule<NodeCrypto>("node:crypto")?.createHash("sha256");
  if (hash === undefined) return undefined;
  return {
    update: (chunk) => hash.update(chunk),
    end() {
      const actual = hash.digest("base64");
      if (actual !== expected) throw mismatch(what, actual, expected);
    },
  };
}

function mismatch(what: string, actual: string, expected: string) {
  return new ChecksumError(
    `${what}: its SHA-256 is ${actual}, not the declared ${expected}`,
  );
}

/**
 * Passes a body through unchanged while hashing it, and errors with a
 * {@linkcode ChecksumError} before the end if its SHA-256 is not `expected`,
 * so that whoever reads it to the end never takes a wrong body for whole.
 * Hashes as the bytes pass where the runtime has `node:crypto` (see
 * {@linkcode sha256Checker}); elsewhere it holds the body until its end,
 * which Web Crypto needs whole.
 */
export class Sha256CheckStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Makes the checker.
   *
   * @param expected The SHA-256 the body must have, base64.
   * @param what Names the body in the message, e.g. `Cannot upload part 3`.
   */
  constructor(expected: string, what: string) {
    const checker = sha256Checker(expected, what);
    const held: Uint8Array[] = [];
    super({
      transform(chunk, controller) {
        if (checker) {
          checker.update(chunk);
          controller.enqueue(chunk);
        } else {
          held.push(chunk.slice());
        }
      },
      async flush(controller) {
        if (checker) return checker.end();
        const actual = await sha256Base64(
          new Uint8Array(await new Blob(held as BlobPart[]).arrayBuffer()),
        );
        if (actual !== expected) throw mismatch(what, actual, expected);
        for (const chunk of held) controller.enqueue(chunk);
      },
    });
  }
}
