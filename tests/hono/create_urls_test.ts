/**
 * `POST /files/urls`: authentication, validation and the URLs it hands out,
 * from the route's own signer and from a presigned storage.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type FileInfo,
  filesRoute,
  memoryStorage,
  type PresignedStorage,
  type PresignOptions,
} from "../../src/hono/mod.ts";
import { s3Storage } from "../../src/storage/s3.ts";
import {
  API_KEY,
  assertStorageUntouched,
  create,
  errorOf,
  HELLO,
  makeApp,
  postUrls,
  SECRET,
} from "../_route.ts";

describe("POST /files/urls", () => {
  test("answers 201 with absolute URLs under the mount prefix", async () => {
    const t = makeApp({ now: () => Date.UTC(2030, 0, 1) });
    const res = await postUrls(t.app, HELLO);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const json = await res.json();
    assert.deepEqual(Object.keys(json).sort(), [
      "download_url",
      "expires_at",
      "id",
      "mime_type",
      "name",
      "size",
      "upload_url",
    ]);
    // What the URLs were made for, as declared.
    assert.equal(json.name, "hello.txt");
    assert.equal(json.size, 5);
    assert.equal(json.mime_type, "text/plain");
    assert.equal(json.expires_at, "2030-01-01T01:00:00.000Z");
    const up = new URL(json.upload_url);
    assert.equal(up.origin, "http://localhost");
    assert.match(up.pathname, /^\/v1\/files\/[A-Za-z0-9_-]{22}$/);
    assert.equal(up.searchParams.get("name"), "hello.txt");
    assert.equal(up.searchParams.get("size"), "5");
    assert.equal(up.searchParams.get("type"), "text/plain");
    assert.equal(up.searchParams.get("res"), "prediction");
    assert.equal(up.searchParams.get("fexp"), null);
    assert.equal(up.pathname, `/v1/files/${json.id}`);
    assert.equal(
      up.searchParams.get("exp"),
      String(Date.UTC(2030, 0, 1) / 1000 + 3600),
    );
    const down = new URL(json.download_url);
    assert.equal(down.pathname, `${up.pathname}/hello.txt`);
    assert.equal(
      down.searchParams.get("exp"),
      String(Date.UTC(2030, 0, 1) / 1000 + 86400),
    );
    assertStorageUntouched(t);
  });

  test("gives every file a new random id, never derived from the name", async () => {
    const t = makeApp();
    const a = await create(t.app);
    const b = await create(t.app);
    assert.notEqual(a.id, b.id);
    assert.ok(!a.id.includes("hello"));
  });

  test("uses publicUrl for the URLs it hands out", async () => {
    const t = makeApp({ publicUrl: "https://files.example.com/api/v1/" });
    const { upload_url, download_url } = await create(t.app);
    assert.ok(upload_url.startsWith("https://files.example.com/api/v1/files/"));
    assert.ok(
      download_url.startsWith("https://files.example.com/api/v1/files/"),
    );
  });

  test("derives the prefix of a deeper mount point", async () => {
    const app = new Hono();
    app.route(
      "/api/v2",
      filesRoute({ storage: memoryStorage(), secret: SECRET, public: true }),
    );
    const res = await app.request(
      "http://example.test:8080/api/v2/files/urls",
      {
        method: "POST",
        body: JSON.stringify(HELLO),
      },
    );
    assert.equal(res.status, 201);
    const { upload_url } = await res.json();
    assert.match(
      upload_url,
      /^http:\/\/example\.test:8080\/api\/v2\/files\/[A-Za-z0-9_-]{22}\?/,
    );
  });

  test("encodes a non-ASCII name in the download URL", async () => {
    const t = makeApp();
    const { download_url } = await create(t.app, {
      ...HELLO,
      name: "été 100% #1?.txt",
    });
    assert.ok(
      new URL(download_url).pathname.endsWith(
        "/%C3%A9t%C3%A9%20100%25%20%231%3F.txt",
      ),
    );
  });

  test("answers 401 without an API key, with a wrong one, or a bad scheme", async () => {
    const t = makeApp();
    for (
      const authorization of [
        undefined,
        "Bearer wrong-key",
        `Basic ${API_KEY}`,
        `Bearer ${API_KEY}x`,
        "Bearer ",
      ]
    ) {
      const res = await t.app.request("http://localhost/v1/files/urls", {
        method: "POST",
        headers: authorization === undefined ? {} : { authorization },
        body: JSON.stringify(HELLO),
      });
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
      const [status, type] = await errorOf(res);
      assert.deepEqual([status, type], [401, "authentication_error"]);
    }
    assertStorageUntouched(t);
  });

  test("accepts any of several API keys", async () => {
    const t = makeApp({ apiKeys: ["first-key", API_KEY] });
    assert.equal((await postUrls(t.app, HELLO)).status, 201);
  });

  test("answers 403 when authorize says no, and passes it the params", async () => {
    const seen: unknown[] = [];
    const t = makeApp({
      apiKeys: undefined,
      authorize: (c, params) => {
        seen.push(params);
        return c.req.header("x-user") === "alice";
      },
    });
    const denied = await postUrls(t.app, HELLO, { authorization: "" });
    assert.deepEqual((await errorOf(denied)).slice(0, 2), [
      403,
      "permission_denied",
    ]);
    const allowed = await postUrls(t.app, HELLO, { "x-user": "alice" });
    assert.equal(allowed.status, 201);
    assert.deepEqual(seen, [HELLO, HELLO]);
    assertStorageUntouched(t);
  });

  test("awaits an async authorize and checks the API key first", async () => {
    let calls = 0;
    const t = makeApp({
      authorize: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        return false;
      },
    });
    const [status] = await errorOf(
      await postUrls(t.app, HELLO, { authorization: "Bearer nope" }),
    );
    assert.equal(status, 401);
    assert.equal(calls, 0);
    assert.equal(
      (await errorOf(await postUrls(t.app, HELLO)))[0],
      403,
    );
    assert.equal(calls, 1);
  });

  test("answers 500 as JSON, without a stack, when authorize throws", async () => {
    const t = makeApp({
      authorize: () => {
        throw new Error("database is down at /srv/secret/path");
      },
    });
    const original = console.error;
    console.error = () => {};
    try {
      const res = await postUrls(t.app, HELLO);
      const [status, type, message] = await errorOf(res);
      assert.deepEqual([status, type], [500, "internal_error"]);
      assert.ok(!message.includes("/srv/secret"));
    } finally {
      console.error = original;
    }
  });

  test("lets anyone create URLs when public is true", async () => {
    const t = makeApp({ apiKeys: undefined, public: true });
    const res = await postUrls(t.app, HELLO, { authorization: "" });
    assert.equal(res.status, 201);
  });

  test("answers 400 for invalid JSON and a body that is not an object", async () => {
    const t = makeApp();
    for (const body of ["{", "", "null", "[]", '"x"', "5"]) {
      const [status, type] = await errorOf(await postUrls(t.app, body));
      assert.deepEqual([status, type], [400, "invalid_request"], body);
    }
    assertStorageUntouched(t);
  });

  test("answers 400 for every missing or mistyped field", async () => {
    const t = makeApp();
    const cases: [Record<string, unknown>, RegExp][] = [];
    for (const field of Object.keys(HELLO)) {
      const missing: Record<string, unknown> = { ...HELLO };
      delete missing[field];
      cases.push([missing, new RegExp(`${field} is missing`)]);
    }
    cases.push(
      [{ ...HELLO, name: 5 }, /name must be a string/],
      [{ ...HELLO, size: "5" }, /size must be a number/],
      [{ ...HELLO, resource: null }, /resource must be a string/],
      [{ ...HELLO, mime_type: ["text/plain"] }, /mime_type must be a string/],
    );
    for (const [body, message] of cases) {
      const [status, type, text] = await errorOf(await postUrls(t.app, body));
      assert.deepEqual([status, type], [400, "invalid_request"]);
      assert.match(text, message);
      assert.match(text, /^Cannot create file URLs: /);
    }
    assertStorageUntouched(t);
  });

  test("answers 400 for a size that is not a non-negative safe integer", async () => {
    const t = makeApp();
    for (const size of [-1, 1.5, 2 ** 53, -0.5, 1e300]) {
      const [status, type, message] = await errorOf(
        await postUrls(t.app, { ...HELLO, size }),
      );
      assert.deepEqual([status, type], [400, "invalid_request"], String(size));
      assert.match(message, /non-negative safe integer/);
    }
    assertStorageUntouched(t);
  });

  test("answers 413 above maxSize and 201 at it", async () => {
    const t = makeApp({ maxSize: 100 });
    const [status, type] = await errorOf(
      await postUrls(t.app, { ...HELLO, size: 101 }),
    );
    assert.deepEqual([status, type], [413, "too_large"]);
    assert.equal((await postUrls(t.app, { ...HELLO, size: 100 })).status, 201);
    assertStorageUntouched(t);
  });

  test("limits maxSize to 1 GiB by default", async () => {
    const t = makeApp();
    assert.equal(
      (await postUrls(t.app, { ...HELLO, size: 1024 ** 3 + 1 })).status,
      413,
    );
    assert.equal(
      (await postUrls(t.app, { ...HELLO, size: 1024 ** 3 })).status,
      201,
    );
  });

  test("answers 400 for a malformed mime_type", async () => {
    const t = makeApp();
    for (
      const mime_type of ["", "png", "image/", "/png", "image/png;", "a b/c"]
    ) {
      const [status, type] = await errorOf(
        await postUrls(t.app, { ...HELLO, mime_type }),
      );
      assert.deepEqual([status, type], [400, "invalid_request"], mime_type);
    }
    assertStorageUntouched(t);
  });

  test("answers 415 for a type outside allowedTypes, matching wildcards and ignoring case", async () => {
    const t = makeApp({ allowedTypes: ["image/*", "application/pdf"] });
    for (const mime_type of ["text/html", "application/pdfx", "imagex/png"]) {
      const [status, type] = await errorOf(
        await postUrls(t.app, { ...HELLO, mime_type }),
      );
      assert.deepEqual([status, type], [415, "unsupported_media_type"]);
    }
    for (
      const mime_type of ["image/png", "IMAGE/SVG+XML", "application/PDF; x=1"]
    ) {
      assert.equal(
        (await postUrls(t.app, { ...HELLO, mime_type })).status,
        201,
        mime_type,
      );
    }
    assertStorageUntouched(t);
  });

  test("answers 400 for an unknown resource", async () => {
    const t = makeApp();
    const [status, type, message] = await errorOf(
      await postUrls(t.app, { ...HELLO, resource: "avatar" }),
    );
    assert.deepEqual([status, type], [400, "invalid_request"]);
    assert.match(message, /resource "avatar" is not one of "prediction"/);
    const custom = makeApp({ resources: ["avatar"] });
    assert.equal(
      (await postUrls(custom.app, { ...HELLO, resource: "avatar" })).status,
      201,
    );
    assertStorageUntouched(t);
  });

  test("answers 400 for every unsafe name", async () => {
    const t = makeApp();
    const names = [
      "",
      ".",
      "..",
      "a/b",
      "../etc/passwd",
      "a\\b",
      "a\0b",
      "a\nb",
      "a\x1fb",
      "a\x7fb",
      "a\x85b",
      "a\uD800b",
      "x".repeat(256),
      "é".repeat(128), // 256 bytes
    ];
    for (const name of names) {
      const [status, type, message] = await errorOf(
        await postUrls(t.app, { ...HELLO, name }),
      );
      assert.deepEqual([status, type], [400, "invalid_request"], name);
      assert.match(message, /^Cannot create file URLs: name /);
    }
    assertStorageUntouched(t);
  });

  test("accepts names of 255 UTF-8 bytes, dots and spaces", async () => {
    const t = makeApp();
    for (
      const name of ["é".repeat(127) + "x", "...", "..a", " a b ", "😀.png"]
    ) {
      assert.equal((await postUrls(t.app, { ...HELLO, name })).status, 201);
    }
  });

  test("answers 413 for a body over 64 KiB", async () => {
    const t = makeApp();
    const body = JSON.stringify({ ...HELLO, pad: "x".repeat(70_000) });
    const [status, type] = await errorOf(await postUrls(t.app, body));
    assert.deepEqual([status, type], [413, "too_large"]);
    assertStorageUntouched(t);
  });
});

describe("POST /files/urls with a presigned storage", () => {
  function presigned() {
    const calls: [FileInfo, PresignOptions][] = [];
    const storage: PresignedStorage = {
      presign(info, options) {
        calls.push([info, options]);
        return Promise.resolve({
          upload_url: "https://bucket.example/up?sig=1",
          download_url: "https://bucket.example/down?sig=2",
          uploadExpiresAt: new Date(Date.UTC(2030, 0, 1, 0, 30)),
        });
      },
    };
    const app = new Hono();
    app.route(
      "/v1",
      filesRoute({
        storage,
        secret: SECRET,
        apiKeys: [API_KEY],
        now: () => Date.UTC(2030, 0, 1),
        uploadTtl: 7200,
      }),
    );
    return { app, calls };
  }

  test("answers with the storage's URLs and its clamped expiry", async () => {
    const { app, calls } = presigned();
    const res = await postUrls(app, { ...HELLO, mime_type: "Text/Plain" });
    assert.equal(res.status, 201);
    const json = await res.json();
    assert.match(json.id, /^[A-Za-z0-9_-]{22}$/);
    // No complete_url: this storage has no confirm().
    assert.deepEqual(json, {
      id: json.id,
      name: "hello.txt",
      size: 5,
      mime_type: "Text/Plain",
      upload_url: "https://bucket.example/up?sig=1",
      download_url: "https://bucket.example/down?sig=2",
      expires_at: "2030-01-01T00:30:00.000Z",
    });
    assert.deepEqual(calls, [[
      {
        name: "hello.txt",
        size: 5,
        type: "Text/Plain",
        resource: "prediction",
      },
      {
        uploadExpiresAt: new Date(Date.UTC(2030, 0, 1, 2)),
        downloadExpiresAt: new Date(Date.UTC(2030, 0, 2)),
        key: json.id,
      },
    ]]);
  });

  test("validates and authenticates before presigning", async () => {
    const { app, calls } = presigned();
    assert.equal(
      (await postUrls(app, HELLO, { authorization: "Bearer x" })).status,
      401,
    );
    assert.equal((await postUrls(app, { ...HELLO, name: "a/b" })).status, 400);
    assert.equal((await postUrls(app, { ...HELLO, size: -1 })).status, 400);
    assert.deepEqual(calls, []);
  });

  test("answers 413 when the store cannot take the size", async () => {
    const app = new Hono().route(
      "/v1",
      filesRoute({
        // S3 takes at most 5 GiB in one PUT; presigning sends no request.
        storage: s3Storage({
          endpoint: "http://127.0.0.1:9",
          bucket: "files",
          accessKeyId: "AKIDEXAMPLE",
          secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        }),
        secret: SECRET,
        apiKeys: [API_KEY],
        maxSize: 6 * 1024 ** 3,
      }),
    );
    const res = await postUrls(app, { ...HELLO, size: 5 * 1024 ** 3 + 1 });
    assert.equal(res.status, 413);
    const { error } = await res.json();
    assert.equal(error.type, "too_large");
    assert.match(error.message, /S3 takes at most 5 GiB in one PUT/);
    assert.equal(
      (await postUrls(app, { ...HELLO, size: 5 * 1024 ** 3 })).status,
      201,
    );
  });

  test("serves no PUT or GET of its own", async () => {
    const { app } = presigned();
    const id = "A".repeat(22);
    const put = await app.request(`http://localhost/v1/files/${id}`, {
      method: "PUT",
    });
    // GET and DELETE there manage the stored file.
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD, DELETE");
    assert.equal(
      (await app.request(`http://localhost/v1/files/${id}/a.txt`)).status,
      404,
    );
  });
});
