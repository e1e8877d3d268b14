/**
 * SHA-256 in plain JavaScript, for pages without Web Crypto: the same
 * digests as `node:crypto`, at every length around a block's edges.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Js } from "../src/_sha256_js.ts";
import { bytes } from "./_data.ts";

test("sha256Js() gives node:crypto's digest for every length around a block's edges", () => {
  const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129];
  for (const length of [...lengths, 1000, 4096, 1024 * 1024 + 7]) {
    const data = bytes(length, length);
    assert.equal(
      Buffer.from(sha256Js(data)).toString("hex"),
      createHash("sha256").update(data).digest("hex"),
      `${length} bytes`,
    );
  }
  // Bytes that are a view into a larger buffer.
  const large = bytes(300, 9);
  const view = large.subarray(17, 250);
  assert.equal(
    Buffer.from(sha256Js(view)).toString("hex"),
    createHash("sha256").update(view).digest("hex"),
  );
});
