import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { fileId } from "../../src/_encoding.ts";
import { s3Storage, type S3StorageOptions } from "../../src/storage/s3.ts";
import type { StoredFile } from "../../src/storage/mod.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";
import { serveApp } from "../_serve.ts";

let s3: S3rver;
let admin: AwsClient;
let prefixes = 0;

before(async () => {
  s3 = await startS3rver();
  admin = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: "us-east-1",
    retries: 0,
  });
});

after(async () => {
  await s3?.close();
});

/** A storage on the test bucket with a prefix of its own. */
function storage(options: Partial<S3StorageOptions> = {}) {
  const prefix = `m${++prefixes}/`;
  const store = s3Storage({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    prefix,
    ...options,
  });
  return { prefix, store, multipart: store.multipart! };
}

type Store = ReturnType<typeof storage>["store"];

function inMinutes(minutes = 10): Date {
  return new Date(Date.now() + minutes * 60_000);
}

/** Keys that sort in the order given: ids of times one second apart. */
function ids(count: number, start = Date.now()): string[] {
  return Array.from({ length: count }, (_, i) => fileId(start - i * 1000));
}

/** PUTs an object straight into the bucket, signed, with any headers. */
async function putDirect(
  key: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const response = await admin.fetch(`${s3.endpoint}/${s3.bucket}/${key}`, {
    method: "PUT",
    headers: { "content-type": "text/plain", ...headers },
    body,
  });
  assert.equal(response.status, 200, await response.text());
}

/** Uploads through a presigned URL, as a client would, without confirming. */
async function upload(
  store: Store,
  key: string,
  body: string,
  type = "text/plain",
  name = "a.txt",
): Promise<void> {
  const size = new TextEncoder().encode(body).byteLength;
  const urls = await store.presign({ name, size, type }, {
    uploadExpiresAt: inMinutes(),
    downloadExpiresAt: inMinutes(),
    key,
  });
  const put = await fetch(urls.upload_url, {
    method: "PUT",
    headers: { "content-type": type, "if-none-match": "*" },
    body,
  });
  assert.equal(put.status, 200, await put.text());
}

/** Uploads and confirms a file of 5 bytes. */
async function stored(
  store: Store,
  key: string,
  resource?: string,
): Promise<StoredFile> {
  await upload(store, key, "hello");
  const info = { name: `${key}.txt`, size: 5, type: "text/plain", resource };
  const { file, confirmed } = await store.confirm!(key, info);
  assert.equal(confirmed, true);
  return file;
}

/** Every page of list(), following the cursor; at most 50 pages. */
async function listAll(
  store: Store,
  options: { resource?: string; limit: number },
): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await store.list!({ ...options, cursor });
    assert.ok(page.files.length <= options.limit);
    keys.push(...page.files.map((file) => file.key));
    if (page.cursor === undefined) return keys;
    cursor = page.cursor;
  }
  throw new Error("list() did not end after 50 pages");
}

/** SHA-256 of bytes, base64. */
async function sha256Base64(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

describe("s3Storage() managing files against s3rver", () => {
  test("confirm() keeps the name, resource and expiry of a presigned upload, which stat() knows only then", async () => {
    const { prefix, store } = storage();
    const key = fileId();
    const expiresAt = new Date(Date.now() + 86_400_000);
    const info = {
      name: "résumé final ✓.txt",
      size: 5,
      type: "text/plain",
      resource: "pré diction/1",
      expiresAt,
    };
    const urls = await store.presign(info, {
      uploadExpiresAt: inMinutes(),
      downloadExpiresAt: inMinutes(),
      key,
    });
    assert.equal(
      new URL(urls.upload_url).pathname,
      `/${s3.bucket}/${prefix}${key}`,
    );
    // S3 tells times in whole seconds: the upload is no older than this.
    const before = Math.floor(Date.now() / 1000) * 1000;
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 200, await put.text());
    assert.equal(await store.stat!(key), undefined);
    assert.deepEqual(await store.list!({ limit: 10 }), {
      files: [],
      cursor: undefined,
    });

    const first = await store.confirm!(key, info);
    assert.equal(first.confirmed, true);
    const { uploadedAt, ...rest } = first.file;
    assert.deepEqual(rest, { key, ...info });
    assert.ok(uploadedAt.getTime() >= before);

    const stat = await store.stat!(key);
    assert.ok(stat);
    assert.deepEqual({ ...stat, uploadedAt: undefined }, {
      key,
      ...info,
      uploadedAt: undefined,
    });
    assert.ok(stat.uploadedAt.getTime() >= before);

    const again = await store.confirm!(key, info);
    assert.deepEqual(again, { file: stat, confirmed: false });
    assert.deepEqual(await store.list!({ limit: 10 }), {
      files: [stat],
      cursor: undefined,
    });
    assert.deepEqual(await s3.keys(prefix), [prefix + key]);

    const get = await fetch(
      await store.presignDownload!(key, info, inMinutes()),
    );
    assert.equal(get.status, 200);
    assert.equal(await get.text(), "hello");
    assert.equal(get.headers.get("content-type"), "text/plain");
  });

  test("a file confirmed without resource or expiry has neither", async () => {
    const { store } = storage();
    const key = fileId();
    await upload(store, key, "hi");
    const info = { name: "a.txt", size: 2, type: "text/plain" };
    const { file } = await store.confirm!(key, info);
    const stat = await store.stat!(key);
    assert.deepEqual(Object.keys(stat!).sort(), [
      "key",
      "name",
      "size",
      "type",
      "uploadedAt",
    ]);
    assert.deepEqual({ ...file, uploadedAt: 0 }, { ...stat, uploadedAt: 0 });
  });

  test("confirm() of a key nothing was uploaded to rejects with StorageNotFoundError", async () => {
    const { prefix, store } = storage();
    const key = fileId();
    await assert.rejects(
      store.confirm!(key, { name: "a.txt", size: 5, type: "text/plain" }),
      {
        name: "StorageNotFoundError",
        message: `Cannot confirm "${key}": nothing was uploaded`,
      },
    );
    assert.deepEqual(await s3.keys(prefix), []);
  });

  test("confirm() removes an object of another size or type and rejects with StorageMismatchError", async () => {
    const { prefix, store } = storage();
    const [short, png] = ids(2);
    await putDirect(prefix + short, "abc");
    await putDirect(prefix + png, "hello", { "content-type": "image/png" });
    const info = { name: "a.txt", size: 5, type: "text/plain" };
    await assert.rejects(store.confirm!(short, info), {
      name: "StorageMismatchError",
      message: `Cannot confirm "${short}": size 3 is not 5`,
    });
    await assert.rejects(store.confirm!(png, info), {
      name: "StorageMismatchError",
      message: `Cannot confirm "${png}": type "image/png" is not "text/plain"`,
    });
    assert.deepEqual(await s3.keys(prefix), []);
    assert.equal(await store.stat!(short), undefined);
  });

  test("multipart create() and complete() keep the name, resource and expiry", async () => {
    const { store, multipart } = storage();
    const key = fileId();
    const fileExpiresAt = new Date(Date.now() + 3_600_000);
    const info = {
      name: "données ✓.bin",
      type: "application/octet-stream",
      partSize: 5 * 1024 ** 2,
      resource: "é/1",
      fileExpiresAt,
    };
    const uploadId = await multipart.create(key, info);
    const body = new TextEncoder().encode("multipart body");
    const part = {
      number: 1,
      size: body.byteLength,
      sha256: await sha256Base64(body),
    };
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    const put = await fetch(signed.url, {
      method: "PUT",
      headers: signed.headers,
      body,
    });
    assert.equal(put.status, 200, await put.text());
    const joined = Uint8Array.from(atob(part.sha256), (c) => c.charCodeAt(0));
    const sha256 = `${await sha256Base64(joined)}-1`;
    const file = await multipart.complete(key, uploadId, [part], {
      ...info,
      size: body.byteLength,
      sha256,
    });
    const expected = {
      key,
      name: info.name,
      size: body.byteLength,
      type: info.type,
      resource: info.resource,
      expiresAt: fileExpiresAt,
      sha256,
    };
    assert.deepEqual({ ...file, uploadedAt: 0 }, {
      ...expected,
      uploadedAt: 0,
    });
    const stat = await store.stat!(key);
    assert.deepEqual({ ...stat, uploadedAt: 0 }, {
      ...expected,
      uploadedAt: 0,
    });
    assert.deepEqual(await multipart.stat(key), stat);
    assert.deepEqual(await store.confirm!(key, { ...expected }), {
      file: stat,
      confirmed: false,
    });
    assert.deepEqual((await store.list!({ limit: 5, resource: "é/1" })).files, [
      stat,
    ]);
  });

  test("list() pages newest first across inserts, by resource, skipping unconfirmed, deleted and foreign keys", async () => {
    const { prefix, store } = storage();
    // Ten keys, newest first; every other one of resource "even".
    const start = Date.now() - 60_000;
    const keys = ids(10, start);
    for (const [i, key] of keys.entries()) {
      if (i === 3) await upload(store, key, "never confirmed");
      else await stored(store, key, i % 2 === 0 ? "even" : "odd");
    }
    await store.delete!(keys[6]);
    await putDirect(`${prefix}notes.txt`, "not a file");
    await putDirect(`${prefix}sub/${keys[0]}`, "not a file either");
    await putDirect(`${prefix}${keys[1]}.thumb`, "nor this");
    await putDirect(`${prefix}~tilde`, "nor this");
    const visible = keys.filter((_, i) => i !== 3 && i !== 6);

    for (const limit of [1, 2, 3, 100]) {
      assert.deepEqual(
        await listAll(store, { limit }),
        visible,
        `limit ${limit}`,
      );
    }
    assert.deepEqual(
      await listAll(store, { limit: 2, resource: "even" }),
      [keys[0], keys[2], keys[4], keys[8]],
    );
    assert.deepEqual(await listAll(store, { limit: 2, resource: "none" }), []);

    // Pages follow their cursor whatever is added meanwhile: a newer file
    // stays out, an older one past the cursor comes in its place.
    const first = await store.list!({ limit: 2 });
    assert.deepEqual(first.files.map((f) => f.key), [keys[0], keys[1]]);
    assert.equal(first.cursor, keys[1]);
    const newer = fileId(Date.now());
    const between = fileId(start - 2500);
    await stored(store, newer, "odd");
    await stored(store, between, "odd");
    const rest: string[] = [];
    for (
      let cursor: string | undefined = first.cursor;
      cursor !== undefined;
    ) {
      const page = await store.list!({ limit: 2, cursor });
      rest.push(...page.files.map((f) => f.key));
      cursor = page.cursor;
    }
    assert.deepEqual(rest, [keys[2], between, ...visible.slice(3)]);
    assert.deepEqual(
      await store.list!({ limit: 1, cursor: keys.at(-1) }),
      { files: [], cursor: undefined },
    );
  });

  test("list() leaves out a file whose marker comes on the next S3 answer", async () => {
    const { prefix, store } = storage();
    const [a, x, b, c, d] = ids(5);
    await stored(store, a, "other");
    await stored(store, x, "other");
    await stored(store, b, "r");
    await stored(store, c, "r");
    await stored(store, d, "r");
    // As a delete() that stopped between its marker and DeleteObject.
    await putDirect(`${prefix}${b}.deleted`, "");
    // limit 1 asks S3 for 3 keys: a, x, b, then b.deleted, c, d.
    assert.deepEqual(await listAll(store, { limit: 1, resource: "r" }), [c, d]);
    assert.deepEqual(await listAll(store, { limit: 1 }), [a, x, c, d]);
    await assert.rejects(
      store.confirm!(b, { name: "a.txt", size: 5, type: "text/plain" }),
      { name: "StorageNotFoundError" },
    );
  });

  test("list() goes on past many keys that are no file ids", async () => {
    const { prefix, store } = storage();
    const [a, b] = ids(2);
    await stored(store, a);
    await stored(store, b);
    for (let i = 0; i < 12; i++) await putDirect(`${prefix}${a}.v${i}`, "x");
    for (let i = 0; i < 12; i++) await putDirect(`${prefix}${i}.txt`, "x");
    assert.deepEqual(await listAll(store, { limit: 1 }), [a, b]);
  });

  test("list() rejects a cursor that is not a file id with TypeError, and a limit below 1 with RangeError", async () => {
    const { store } = storage();
    const id = fileId();
    for (
      const cursor of [
        "",
        "abc",
        `${id}.deleted`,
        `../${id}`,
        id + "a",
        "ä".repeat(22),
      ]
    ) {
      await assert.rejects(
        store.list!({ limit: 1, cursor }),
        TypeError,
        cursor,
      );
    }
    for (const limit of [0, -1, 1.5, NaN]) {
      await assert.rejects(store.list!({ limit }), RangeError);
    }
  });

  test("delete() leaves the key deleted for good: stat(), confirm(), complete() and list() refuse it", async () => {
    const { prefix, store, multipart } = storage();
    const [key, kept] = ids(2);
    await stored(store, key, "r");
    await stored(store, kept, "r");
    const uploadId = await multipart.create(key, {
      name: "a.bin",
      type: "application/octet-stream",
      partSize: 5 * 1024 ** 2,
    });
    const body = new TextEncoder().encode("part");
    const part = { number: 1, size: 4, sha256: await sha256Base64(body) };
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    const put = await fetch(signed.url, {
      method: "PUT",
      headers: signed.headers,
      body,
    });
    assert.equal(put.status, 200, await put.text());

    await store.delete!(key);
    assert.deepEqual(await s3.keys(prefix), [
      `${prefix}${key}.deleted`,
      prefix + kept,
    ]);
    assert.equal(await store.stat!(key), undefined);
    assert.deepEqual(await listAll(store, { limit: 1 }), [kept]);
    await assert.rejects(
      store.confirm!(key, { name: "a.txt", size: 5, type: "text/plain" }),
      {
        name: "StorageNotFoundError",
        message: `Cannot confirm "${key}": nothing was uploaded`,
      },
    );
    await assert.rejects(
      multipart.complete(key, uploadId, [part], {
        name: "a.bin",
        type: "application/octet-stream",
        partSize: 5 * 1024 ** 2,
        size: 4,
        sha256: "x",
      }),
      { name: "StorageConflictError" },
    );
    assert.equal(await store.stat!(key), undefined);
    // Deleting again, or a key never stored, is no error.
    await store.delete!(key);
    const never = fileId();
    await store.delete!(never);
    // An upload URL still valid for a deleted key stores bytes that never
    // become a file.
    await upload(store, never, "hello");
    await assert.rejects(
      store.confirm!(never, { name: "a.txt", size: 5, type: "text/plain" }),
      {
        name: "StorageNotFoundError",
        message: `Cannot confirm "${never}": the file was deleted`,
      },
    );
    assert.equal(await store.stat!(never), undefined);
    assert.deepEqual(await listAll(store, { limit: 5 }), [kept]);
  });

  test("stat() names the action, S3's status and code for an error other than 404", async () => {
    const { prefix, store } = storage({ secretAccessKey: "wrong" });
    const key = fileId();
    await assert.rejects(store.stat!(key), {
      message: new RegExp(
        `^Cannot look up "${prefix}${key}" in S3: S3 answered 403`,
      ),
    });
    await assert.rejects(store.list!({ limit: 1 }), {
      message: new RegExp(
        `^Cannot list the files under "${prefix}" in S3: S3 answered 403 SignatureDoesNotMatch`,
      ),
    });
  });
});

describe("s3Storage() managing files against scripted S3 answers", () => {
  test("delete() writes the marker before it deletes the object, and stops if the marker fails", async () => {
    for (const markerStatus of [200, 500]) {
      const seen: string[] = [];
      const served = await serveApp({
        fetch(request) {
          const url = new URL(request.url);
          seen.push(`${request.method} ${url.pathname}`);
          if (request.method === "PUT" && markerStatus === 500) {
            return new Response(
              "<Error><Code>InternalError</Code><Message>Try again</Message></Error>",
              { status: 500 },
            );
          }
          return new Response(null, {
            status: request.method === "PUT" ? 200 : 204,
          });
        },
      });
      try {
        const store = s3Storage({
          endpoint: served.url,
          bucket: "bucket",
          accessKeyId: "AKID",
          secretAccessKey: "secret",
          prefix: "p/",
        });
        const key = fileId();
        const deleting = store.delete!(key);
        if (markerStatus === 200) {
          await deleting;
          assert.deepEqual(seen, [
            `PUT /bucket/p/${key}.deleted`,
            `DELETE /bucket/p/${key}`,
          ]);
        } else {
          await assert.rejects(deleting, {
            message:
              `Cannot delete "p/${key}" in S3: S3 answered 500 InternalError: Try again`,
          });
          assert.deepEqual(seen, [`PUT /bucket/p/${key}.deleted`]);
        }
      } finally {
        await served.close();
      }
    }
  });

  test("confirm() copies only the object it checked, with no If-None-Match, and starts over when it changed", async () => {
    const seen: { method: string; path: string; headers: Headers }[] = [];
    let copies = 0;
    const served = await serveApp({
      fetch(request) {
        const { pathname } = new URL(request.url);
        seen.push({
          method: request.method,
          path: pathname,
          headers: request.headers,
        });
        if (request.method === "HEAD") {
          if (pathname.endsWith(".deleted")) {
            return new Response(null, { status: 404 });
          }
          return new Response(null, {
            headers: {
              "content-length": "5",
              "content-type": "text/plain",
              etag: `"e${copies}"`,
              "last-modified": "Sun, 29 Nov 2026 01:00:00 GMT",
            },
          });
        }
        if (copies++ === 0) {
          return new Response(
            "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>",
            { status: 412 },
          );
        }
        return new Response(
          "<CopyObjectResult><LastModified>2026-11-29T01:02:03.000Z</LastModified><ETag>&quot;e1&quot;</ETag></CopyObjectResult>",
        );
      },
    });
    try {
      const store = s3Storage({
        endpoint: served.url,
        bucket: "bucket",
        accessKeyId: "AKID",
        secretAccessKey: "secret",
        prefix: "p/",
      });
      const key = fileId();
      const expiresAt = new Date("2027-01-01T00:00:00.000Z");
      const result = await store.confirm!(key, {
        name: "ü.txt",
        size: 5,
        type: "text/plain",
        resource: "r",
        expiresAt,
      });
      assert.deepEqual(result, {
        file: {
          key,
          name: "ü.txt",
          size: 5,
          type: "text/plain",
          resource: "r",
          expiresAt,
          uploadedAt: new Date("2026-11-29T01:02:03.000Z"),
        },
        confirmed: true,
      });
      const copyRequests = seen.filter((r) => r.method === "PUT");
      assert.equal(copyRequests.length, 2);
      for (const [i, copy] of copyRequests.entries()) {
        assert.equal(copy.path, `/bucket/p/${key}`);
        const headers = copy.headers;
        assert.equal(headers.get("x-amz-copy-source"), `/bucket/p/${key}`);
        assert.equal(headers.get("x-amz-copy-source-if-match"), `"e${i}"`);
        assert.equal(headers.get("x-amz-metadata-directive"), "REPLACE");
        assert.equal(headers.get("content-type"), "text/plain");
        assert.equal(headers.get("x-amz-meta-name"), "%C3%BC.txt");
        assert.equal(headers.get("x-amz-meta-resource"), "r");
        assert.equal(
          headers.get("x-amz-meta-expires-at"),
          expiresAt.toISOString(),
        );
        assert.equal(headers.get("if-none-match"), null);
        assert.match(
          headers.get("authorization") ?? "",
          /SignedHeaders=[^,]*x-amz-copy-source-if-match;[^,]*x-amz-metadata-directive/,
        );
      }
      assert.deepEqual(seen.map((r) => r.method), [
        "HEAD",
        "HEAD",
        "PUT",
        "HEAD",
        "HEAD",
        "PUT",
      ]);
    } finally {
      await served.close();
    }
  });
});
