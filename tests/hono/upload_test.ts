/**
 * `PUT` on an upload URL: what it stores, and every request it refuses
 * without storing anything.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  memoryStorage,
  type Storage,
  StorageFullError,
} from "../../src/hono/mod.ts";
import {
  assertNothingStored,
  assertStorageUntouched,
  bytes,
  create,
  errorOf,
  HELLO,
  makeApp,
  put,
  SECRET,
} from "../_route.ts";
import { heldStream } from "../_data.ts";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < parts.length) controller.enqueue(bytes(parts[i++]));
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

describe("PUT on an upload URL", () => {
  test("stores exactly the declared bytes and answers 201", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const res = await put(t.app, upload_url, "hello");
    assert.equal(res.status, 201);
    const json = await res.json();
    assert.equal(json.id, id);
    assert.equal(json.name, "hello.txt");
    assert.equal(json.size, 5);
    assert.equal(json.mime_type, "text/plain");
    assert.ok(!Number.isNaN(Date.parse(json.uploaded_at)));
    assert.match(res.headers.get("etag") ?? "", /^"[^"]+"$/);
    const stored = await t.storage.stat(id);
    assert.equal(stored?.size, 5);
    assert.equal(stored?.name, "hello.txt");
    assert.equal(stored?.type, "text/plain");
    assert.equal(t.uploaded.length, 1);
    assert.equal(t.uploaded[0].key, id);
  });

  test("stores a zero-byte file", async () => {
    const t = makeApp();
    const { upload_url, download_url } = await create(t.app, {
      ...HELLO,
      size: 0,
    });
    const res = await t.app.request(upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "content-length": "0" },
    });
    assert.equal(res.status, 201);
    const got = await t.app.request(download_url);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-length"), "0");
    assert.equal((await got.arrayBuffer()).byteLength, 0);
  });

  test("streams a multi-chunk body", async () => {
    const t = makeApp();
    const size = 3 * 65536 + 7;
    const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) % 251);
    const { upload_url, download_url } = await create(t.app, {
      ...HELLO,
      size,
      name: "blob.bin",
      mime_type: "application/octet-stream",
    });
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= size) return controller.close();
        controller.enqueue(data.slice(offset, offset + 10_000));
        offset += 10_000;
      },
    });
    const res = await put(t.app, upload_url, stream, {
      "content-type": "application/octet-stream",
      "content-length": String(size),
    });
    assert.equal(res.status, 201);
    const got = new Uint8Array(
      await (await t.app.request(download_url)).arrayBuffer(),
    );
    assert.deepEqual(got, data);
  });

  test("answers 403 for a missing, tampered or foreign signature, and stores nothing", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const other = await create(t.app);
    const url = new URL(upload_url);
    const variants: [string, (u: URL) => void][] = [
      ["no sig", (u) => u.searchParams.delete("sig")],
      ["no kid", (u) => u.searchParams.delete("kid")],
      ["no exp", (u) => u.searchParams.delete("exp")],
      ["no size", (u) => u.searchParams.delete("size")],
      ["no query", (u) => (u.search = "")],
      ["flipped sig", (u) => {
        const sig = u.searchParams.get("sig")!;
        u.searchParams.set(
          "sig",
          (sig[0] === "A" ? "B" : "A") + sig.slice(1),
        );
      }],
      ["short sig", (u) => u.searchParams.set("sig", "abc")],
      [
        "padded sig",
        (u) => u.searchParams.set("sig", u.searchParams.get("sig") + "="),
      ],
      ["unknown kid", (u) => u.searchParams.set("kid", "AAAAAAAA")],
      ["other name", (u) => u.searchParams.set("name", "hello.html")],
      ["other type", (u) => u.searchParams.set("type", "text/html")],
      ["other size", (u) => u.searchParams.set("size", "6")],
      ["size 05", (u) => u.searchParams.set("size", "05")],
      ["later exp", (u) =>
        u.searchParams.set(
          "exp",
          String(Number(u.searchParams.get("exp")) + 1),
        )],
      ["other file", (u) => (u.pathname = u.pathname.replace(id, other.id))],
    ];
    for (const [label, change] of variants) {
      const tampered = new URL(url);
      change(tampered);
      const [status, type] = await errorOf(
        await put(t.app, tampered.href, "hello"),
      );
      assert.deepEqual([status, type], [403, "permission_denied"], label);
    }
    await assertNothingStored(t, id);
    await assertNothingStored(t, other.id);
  });

  test("answers 403 for a URL signed with another secret", async () => {
    const t = makeApp();
    const stranger = makeApp({
      secret: "another secret of at least 32 bytes!",
    });
    const { upload_url, id } = await create(stranger.app);
    const [status, type] = await errorOf(await put(t.app, upload_url, "hello"));
    assert.deepEqual([status, type], [403, "permission_denied"]);
    await assertNothingStored(t, id);
  });

  test("answers 403 when a download URL is used to PUT", async () => {
    const t = makeApp();
    const { download_url, id } = await create(t.app);
    const [status, type] = await errorOf(
      await put(t.app, download_url, "hello"),
    );
    assert.deepEqual([status, type], [403, "permission_denied"]);
    // Even with the upload fields added to the query.
    const url = new URL(download_url);
    url.pathname = url.pathname.slice(0, url.pathname.lastIndexOf("/"));
    for (
      const [key, value] of Object.entries({
        name: "hello.txt",
        size: "5",
        type: "text/plain",
      })
    ) {
      url.searchParams.set(key, value);
    }
    assert.equal((await put(t.app, url.href, "hello")).status, 403);
    await assertNothingStored(t, id);
  });

  test("answers 403 once the upload URL expired", async () => {
    let now = Date.UTC(2030, 0, 1);
    const t = makeApp({ now: () => now, uploadTtl: 60 });
    const { upload_url, id } = await create(t.app);
    now += 60_000;
    const [status, type, message] = await errorOf(
      await put(t.app, upload_url, "hello"),
    );
    assert.deepEqual([status, type], [403, "permission_denied"]);
    assert.match(message, /expired at 2030-01-01T00:01:00.000Z/);
    await assertNothingStored(t, id);
    now -= 1000;
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
  });

  test("verifies URLs signed with an older secret after rotation", async () => {
    const storage = memoryStorage();
    const old = makeApp({ storage });
    const { upload_url } = await create(old.app);
    const rotated = makeApp({
      storage,
      secret: ["a brand new secret of 32+ bytes!!", SECRET],
    });
    assert.equal((await put(rotated.app, upload_url, "hello")).status, 201);
    const fresh = await create(rotated.app);
    assert.notEqual(
      new URL(fresh.upload_url).searchParams.get("kid"),
      new URL(upload_url).searchParams.get("kid"),
    );
    const dropped = makeApp({
      storage,
      secret: "a brand new secret of 32+ bytes!!",
    });
    const again = await create(old.app);
    assert.equal(
      (await put(dropped.app, again.upload_url, "hello")).status,
      403,
    );
  });

  test("answers 411 for Transfer-Encoding: chunked or no Content-Length", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const chunked = await put(t.app, upload_url, "hello", {
      "transfer-encoding": "chunked",
    });
    assert.deepEqual((await errorOf(chunked)).slice(0, 2), [
      411,
      "length_required",
    ]);
    const stream = new Blob(["hello"]).stream();
    const missing = await put(t.app, upload_url, stream);
    assert.deepEqual((await errorOf(missing)).slice(0, 2), [
      411,
      "length_required",
    ]);
    await assertNothingStored(t, id);
  });

  test("answers 400 for a Content-Length that is not a canonical decimal", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    for (
      const length of ["abc", "-1", "1e3", "+5", "1, 1", "05", "5.0", "0x5"]
    ) {
      const [status, type, message] = await errorOf(
        await put(t.app, upload_url, "hello", { "content-length": length }),
      );
      assert.deepEqual([status, type], [400, "invalid_request"], length);
      assert.match(message, /is not a decimal number/);
    }
    await assertNothingStored(t, id);
  });

  test("answers 400 for a smaller and 413 for a larger Content-Length", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const smaller = await put(t.app, upload_url, "hell");
    assert.deepEqual((await errorOf(smaller)).slice(0, 2), [
      400,
      "invalid_request",
    ]);
    const larger = await put(t.app, upload_url, "hello!");
    assert.deepEqual((await errorOf(larger)).slice(0, 2), [413, "too_large"]);
    await assertNothingStored(t, id);
  });

  test("answers 415 for a different or missing Content-Type", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    for (
      const type of ["text/html", "text/plainx", "application/octet-stream"]
    ) {
      const [status, kind] = await errorOf(
        await put(t.app, upload_url, "hello", { "content-type": type }),
      );
      assert.deepEqual([status, kind], [415, "unsupported_media_type"], type);
    }
    const none = await t.app.request(upload_url, {
      method: "PUT",
      headers: { "content-length": "5" },
      body: bytes("hello"),
    });
    assert.equal(none.status, 415);
    await assertNothingStored(t, id);
  });

  test("compares Content-Type by type/subtype, ignoring case and parameters", async () => {
    const t = makeApp();
    const { upload_url } = await create(t.app, {
      ...HELLO,
      mime_type: "text/plain; charset=utf-8",
    });
    const res = await put(t.app, upload_url, "hello", {
      "content-type": "Text/PLAIN;charset=latin1",
    });
    assert.equal(res.status, 201);
  });

  test("answers 409 for a second PUT and keeps the first bytes", async () => {
    const t = makeApp();
    const { upload_url, download_url } = await create(t.app);
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
    const [status, type] = await errorOf(await put(t.app, upload_url, "world"));
    assert.deepEqual([status, type], [409, "conflict"]);
    assert.equal(await (await t.app.request(download_url)).text(), "hello");
    assert.equal(t.uploaded.length, 1);
  });

  test("answers one 201 and one 409 for two concurrent PUTs", async () => {
    const t = makeApp();
    const { upload_url, download_url } = await create(t.app);
    const { stream: slow, release } = heldStream();
    const first = put(t.app, upload_url, slow, { "content-length": "5" });
    // Let the first PUT reach the storage before the second one starts.
    while (t.storage.calls.filter((c) => c.startsWith("put")).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const second = await put(t.app, upload_url, "world");
    release();
    assert.deepEqual((await errorOf(second)).slice(0, 2), [409, "conflict"]);
    assert.equal((await first).status, 201);
    assert.equal(await (await t.app.request(download_url)).text(), "hello");
    assert.equal(t.uploaded.length, 1);
  });

  test("stores nothing when the body ends early, and the URL stays usable", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const short = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes("hel"));
        controller.close();
      },
    });
    const [status, type, message] = await errorOf(
      await put(t.app, upload_url, short, { "content-length": "5" }),
    );
    assert.deepEqual([status, type], [400, "invalid_request"]);
    assert.match(message, /the body ended after 3 of 5 bytes/);
    await assertNothingStored(t, id);
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
  });

  test("stores nothing when the client goes away mid-body", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes("he"));
        controller.error(new Error("connection reset"));
      },
    });
    const res = await put(t.app, upload_url, broken, { "content-length": "5" });
    assert.equal(res.status, 400);
    await assertNothingStored(t, id);
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
  });

  test("answers 500, not 400, when the storage fails while the body is whole", async () => {
    const inner = memoryStorage();
    let failing = true;
    const broken: Storage = {
      ...inner,
      async put(key, body, info) {
        if (!failing) return await inner.put(key, body, info);
        const reader = body.getReader();
        await reader.read();
        reader.releaseLock();
        await body.cancel();
        throw new Error("Cannot write: the disk is on fire");
      },
    };
    const t = makeApp({ storage: broken });
    const { upload_url, id } = await create(t.app);
    const logged = console.error;
    console.error = () => {};
    let res: Response;
    try {
      res = await put(t.app, upload_url, streamOf("he", "llo"), {
        "content-length": "5",
      });
    } finally {
      console.error = logged;
    }
    const [status, type] = await errorOf(res);
    assert.deepEqual([status, type], [500, "internal_error"]);
    await assertNothingStored(t, id);
    failing = false;
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
  });

  test("answers 507 when the storage is full, and the URL works again once it is not", async () => {
    const inner = memoryStorage();
    let full = true;
    const storage: Storage = {
      ...inner,
      async put(key, body, info) {
        if (!full) return await inner.put(key, body, info);
        const reader = body.getReader();
        await reader.read();
        reader.releaseLock();
        await body.cancel();
        throw new StorageFullError(key);
      },
    };
    const t = makeApp({ storage });
    const { upload_url, id } = await create(t.app);
    const res = await put(t.app, upload_url, streamOf("he", "llo"), {
      "content-length": "5",
    });
    assert.deepEqual(await errorOf(res), [
      507,
      "insufficient_storage",
      'Cannot upload "hello.txt": the storage is full',
    ]);
    await assertNothingStored(t, id);
    full = false;
    assert.equal((await put(t.app, upload_url, "hello")).status, 201);
  });

  test("stores nothing when the body runs past its Content-Length", async () => {
    const t = makeApp();
    const { upload_url, id } = await create(t.app);
    const long = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes("hello, world"));
        controller.close();
      },
    });
    const [status, type] = await errorOf(
      await put(t.app, upload_url, long, { "content-length": "5" }),
    );
    assert.deepEqual([status, type], [413, "too_large"]);
    await assertNothingStored(t, id);
  });

  test("answers 404 for encoded path tricks without touching storage", async () => {
    const t = makeApp();
    const { upload_url } = await create(t.app);
    const url = new URL(upload_url);
    const id = url.pathname.split("/")[3];
    const paths = [
      `/v1/files/%2F..%2F..%2Fetc%2Fpasswd`,
      `/v1/files/${id.slice(0, 21)}%2F`,
      `/v1/files/${id.slice(0, 21)}%5C`,
      `/v1/files/${id.slice(0, 21)}%00`,
      `/v1/files/..%2F${id}`,
      `/v1/files/%2E%2E`,
      `/v1/files/${id}%2F..`,
      `/v1/files/${id}/x/y`,
      `/v1/files/${id}/..`,
      `/v1/files/${id}/%2E%2E`,
      `/v1/files/${id}/..%2F..%2Fetc%2Fpasswd`,
      `/v1/files/${id}/a%5Cb`,
      `/v1/files/${id}/a%00b`,
      `/v1/files/${id}/%E0%A4%A`,
      `/v1/files/${id}x`,
      `/v1/files//${id}`,
    ];
    for (const path of paths) {
      const res = await put(
        t.app,
        `http://localhost${path}${url.search}`,
        "hello",
      );
      assert.equal(res.status, 404, path);
      const got = await t.app.request(`http://localhost${path}${url.search}`);
      assert.equal(got.status, 404, path);
    }
    assertStorageUntouched(t);
  });

  test("keeps the upload and answers 201 when onUploaded throws", async () => {
    let calls = 0;
    const t = makeApp({
      onUploaded: () => {
        calls++;
        throw new Error("hook failed");
      },
    });
    const { upload_url, download_url } = await create(t.app);
    const original = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      assert.equal((await put(t.app, upload_url, "hello")).status, 201);
    } finally {
      console.error = original;
    }
    assert.equal(calls, 1);
    assert.equal(logged.length, 1);
    assert.equal(await (await t.app.request(download_url)).text(), "hello");
  });
});
