/** `filesRoute()` options: what it refuses to start with. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { filesRoute, memoryStorage } from "../../src/hono/mod.ts";
import { SECRET } from "../_route.ts";

describe("filesRoute() options", () => {
  test("rejects a secret shorter than 32 bytes, also inside an array", () => {
    const storage = memoryStorage();
    for (const secret of ["x".repeat(31), [SECRET, "short"], []]) {
      assert.throws(
        () => filesRoute({ storage, secret, public: true }),
        TypeError,
      );
    }
    // 11 three-byte characters are 33 bytes.
    filesRoute({ storage, secret: "€".repeat(11), public: true });
  });

  test("refuses to create URLs for anyone unless public is set", () => {
    const storage = memoryStorage();
    assert.throws(
      () => filesRoute({ storage, secret: SECRET }),
      /give apiKeys or authorize, or set public: true/,
    );
    assert.throws(
      () => filesRoute({ storage, secret: SECRET, apiKeys: [] }),
      TypeError,
    );
    assert.throws(
      () =>
        filesRoute({ storage, secret: SECRET, apiKeys: ["k"], public: true }),
      TypeError,
    );
  });

  test("rejects malformed publicUrl, allowedTypes, cors and limits", () => {
    const base = { storage: memoryStorage(), secret: SECRET, public: true };
    assert.throws(() => filesRoute({ ...base, publicUrl: "nope" }), TypeError);
    assert.throws(
      () => filesRoute({ ...base, publicUrl: "ftp://x.example/v1" }),
      TypeError,
    );
    assert.throws(
      () => filesRoute({ ...base, allowedTypes: ["image"] }),
      TypeError,
    );
    assert.throws(
      () => filesRoute({ ...base, cors: ["https://a.example/"] }),
      TypeError,
    );
    // No resource at all would refuse every upload.
    for (const resources of [[], [""]]) {
      assert.throws(
        () => filesRoute({ ...base, resources }),
        /resources must name at least one resource/,
      );
    }
    assert.throws(() => filesRoute({ ...base, maxSize: 0 }), RangeError);
    assert.throws(() => filesRoute({ ...base, uploadTtl: 1.5 }), RangeError);
  });

  test("rejects a bodyTimeout that is not a positive whole number of ms, and a signal that is no AbortSignal", () => {
    const base = { storage: memoryStorage(), secret: SECRET, public: true };
    for (const bodyTimeout of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(
        () => filesRoute({ ...base, bodyTimeout }),
        RangeError,
        String(bodyTimeout),
      );
    }
    filesRoute({ ...base, bodyTimeout: 1 });
    assert.throws(
      () => filesRoute({ ...base, signal: {} as AbortSignal }),
      /signal must be an AbortSignal/,
    );
    filesRoute({ ...base, signal: new AbortController().signal });
  });
});
