import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Client } from "../../mod.ts";
import { filesRoute } from "../../src/hono/mod.ts";
import { s3Storage, type S3StorageOptions } from "../../src/storage/s3.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";
import { serveApp, type Served } from "../_serve.ts";
import { bytes, sha256 } from "../_data.ts";

const MiB = 1024 ** 2;
/** The smallest part but the last that S3 takes. */
const PART = 5 * MiB;
const API_KEY = "test-api-key-0123456789";
const SECRET = "multipart-test-secret-0123456789abcdef";
/** Long enough for a few 5 MiB uploads on a slow machine. */
const SLOW = { timeout: 60_000 };

let s3: S3rver;
let prefixes = 0;

before(async () => {
  s3 = await startS3rver();
});

after(async () => {
  await s3?.close();
});

/** The multipart calls of a storage on the test bucket, under a prefix of its own. */
function storage(options: Partial<S3StorageOptions> = {}) {
  const prefix = `mp${++prefixes}/`;
  const store = s3Storage({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    prefix,
    ...options,
  });
  assert.ok(store.multipart);
  return { prefix, store, multipart: store.multipart };
}

type Multipart = ReturnType<typeof storage>["multipart"];

/** A fresh storage key, as the route makes them. */
function newKey(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

function inMinutes(minutes = 10): Date {
  return new Date(Date.now() + minutes * 60_000);
}

/** SHA-256, base64, as `x-amz-checksum-sha256` carries it. */
async function sha256Base64(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as BufferSource),
  );
  return btoa(String.fromCharCode(...digest));
}

/** S3's composite checksum: SHA-256 of the parts' digests, base64, `-N`. */
async function composite(sums: string[]): Promise<string> {
  const joined = new Uint8Array(sums.length * 32);
  sums.forEach((sum, i) =>
    joined.set(Uint8Array.from(atob(sum), (c) => c.charCodeAt(0)), i * 32)
  );
  return `${await sha256Base64(joined)}-${sums.length}`;
}

/** A file of `size` bytes cut into parts of `partSize`, with their digests. */
async function partsOf(size: number, seed: number, partSize = PART) {
  const data = bytes(size, seed);
  const parts: { number: number; size: number; sha256: string }[] = [];
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (let start = 0; start < size; start += partSize) {
    const chunk = data.slice(start, start + partSize);
    chunks.push(chunk);
    parts.push({
      number: parts.length + 1,
      size: chunk.byteLength,
      sha256: await sha256Base64(chunk),
    });
  }
  return { data, parts, chunks };
}

/** Presigns one part and sends it as the URL says: `PUT` with its headers. */
async function putPart(
  multipart: Multipart,
  key: string,
  uploadId: string,
  part: { number: number; size: number; sha256: string },
  body: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const signed = await multipart.presignPart(key, uploadId, part, inMinutes());
  return await fetch(signed.url, {
    method: "PUT",
    headers: signed.headers,
    body,
  });
}

/**
 * A new upload with one part of `size` bytes, not sent yet, and the file
 * info that completes it.
 */
async function onePart(seed: number, size = 100) {
  const { prefix, multipart } = storage();
  const key = newKey();
  const uploadId = await multipart.create(key, { ...FILE, partSize: PART });
  const body = bytes(size, seed);
  const part = { number: 1, size, sha256: await sha256Base64(body) };
  const info = {
    ...FILE,
    partSize: PART,
    size,
    sha256: await composite([part.sha256]),
  };
  return { prefix, multipart, key, uploadId, body, part, info };
}

/** Asserts an S3 error answer: its status and `<Code>`. */
async function assertS3Error(response: Response, status: number, code: string) {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(text, new RegExp(`<Code>${code}</Code>`));
}

const FILE = { name: "data.bin", type: "application/octet-stream" };

describe("s3Storage().multipart against s3rver", () => {
  test("limits are S3's: parts of 5 MiB to 5 GiB, at most 10,000", () => {
    const { multipart } = storage();
    assert.deepEqual(multipart.limits, {
      minPartSize: 5 * MiB,
      maxPartSize: 5 * 1024 ** 3,
      maxParts: 10_000,
    });
  });

  test(
    "create, part URLs, PUT, list and complete store the file whole, and only then",
    SLOW,
    async () => {
      const { prefix, multipart } = storage();
      const key = newKey();
      const { data, parts, chunks } = await partsOf(2 * PART + 1000, 7);
      const uploadId = await multipart.create(key, { ...FILE, partSize: PART });
      assert.deepEqual(await multipart.list(key, uploadId), []);

      for (const [i, part] of parts.entries()) {
        const put = await putPart(multipart, key, uploadId, part, chunks[i]);
        assert.equal(put.status, 200, await put.text());
      }
      assert.deepEqual(await multipart.list(key, uploadId), parts);
      assert.equal(await multipart.stat(key), undefined);
      assert.deepEqual(await s3.keys(prefix), []);

      const before = Date.now();
      const sum = await composite(parts.map((p) => p.sha256));
      const file = await multipart.complete(key, uploadId, parts, {
        ...FILE,
        partSize: PART,
        size: data.byteLength,
        sha256: sum,
      });
      assert.equal(file.key, key);
      assert.equal(file.name, FILE.name);
      assert.equal(file.size, data.byteLength);
      assert.equal(file.type, FILE.type);
      assert.equal(file.sha256, sum);
      assert.deepEqual(await s3.keys(prefix), [prefix + key]);

      const stat = await multipart.stat(key);
      assert.ok(stat);
      assert.deepEqual({ ...stat, uploadedAt: undefined }, {
        key,
        name: FILE.name,
        size: data.byteLength,
        type: FILE.type,
        uploadedAt: undefined,
        sha256: sum,
      });
      // Last-Modified has whole seconds.
      assert.ok(stat.uploadedAt.getTime() >= Math.floor(before / 1000) * 1000);
      assert.equal(await multipart.list(key, uploadId), undefined);

      const url = await multipart.presignDownload(key, FILE, inMinutes());
      const get = await fetch(url);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get("content-type"), FILE.type);
      const body = new Uint8Array(await get.arrayBuffer());
      assert.equal(await sha256(body), await sha256(data));
    },
  );

  test(
    "list() shows the parts stored so far, by number, so that an upload can resume",
    SLOW,
    async () => {
      const { multipart } = storage();
      const key = newKey();
      const { data, parts, chunks } = await partsOf(2 * PART + 10, 11);
      const uploadId = await multipart.create(key, { ...FILE, partSize: PART });

      let put = await putPart(multipart, key, uploadId, parts[2], chunks[2]);
      assert.equal(put.status, 200, await put.text());
      put = await putPart(multipart, key, uploadId, parts[0], chunks[0]);
      assert.equal(put.status, 200, await put.text());
      assert.deepEqual(await multipart.list(key, uploadId), [
        parts[0],
        parts[2],
      ]);

      // A part sent again replaces the one stored.
      const other = bytes(PART, 99);
      const replaced = { ...parts[0], sha256: await sha256Base64(other) };
      put = await putPart(multipart, key, uploadId, replaced, other);
      assert.equal(put.status, 200, await put.text());
      assert.deepEqual(await multipart.list(key, uploadId), [
        replaced,
        parts[2],
      ]);

      // Resume: send what is missing or differs, then complete.
      put = await putPart(multipart, key, uploadId, parts[0], chunks[0]);
      assert.equal(put.status, 200, await put.text());
      put = await putPart(multipart, key, uploadId, parts[1], chunks[1]);
      assert.equal(put.status, 200, await put.text());
      assert.deepEqual(await multipart.list(key, uploadId), parts);
      await multipart.complete(key, uploadId, parts, {
        ...FILE,
        partSize: PART,
        size: data.byteLength,
        sha256: await composite(parts.map((p) => p.sha256)),
      });
      const url = await multipart.presignDownload(key, FILE, inMinutes());
      const get = await fetch(url);
      assert.equal(
        await sha256(new Uint8Array(await get.arrayBuffer())),
        await sha256(data),
      );
    },
  );

  test(
    "list() follows NextPartNumberMarker past the 1,000 parts of one ListParts page",
    SLOW,
    async () => {
      const { multipart } = storage();
      const key = newKey();
      const uploadId = await multipart.create(key, { ...FILE, partSize: PART });
      const parts = await Promise.all(
        Array.from({ length: 1003 }, async (_, i) => {
          const body = bytes(1 + (i % 5), i);
          return {
            number: i + 1,
            size: body.byteLength,
            sha256: await sha256Base64(body),
            body,
          };
        }),
      );
      // A few at a time: s3rver writes each part to disk.
      for (let i = 0; i < parts.length; i += 50) {
        await Promise.all(
          parts.slice(i, i + 50).map(async ({ body, ...part }) => {
            const put = await putPart(multipart, key, uploadId, part, body);
            assert.equal(put.status, 200, await put.text());
          }),
        );
      }
      const listed = await multipart.list(key, uploadId);
      assert.deepEqual(listed, parts.map(({ body: _, ...part }) => part));
      await multipart.abort(key, uploadId);
    },
  );

  test("a part URL signs host, content-length and x-amz-checksum-sha256, and names the headers to send", async () => {
    const { prefix, multipart } = storage();
    const key = newKey();
    const uploadId = await multipart.create(key, { ...FILE, partSize: PART });
    const part = {
      number: 3,
      size: 1234,
      sha256: await sha256Base64(bytes(1)),
    };
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    const url = new URL(signed.url);
    assert.equal(
      url.origin + url.pathname,
      `${s3.endpoint}/${s3.bucket}/${prefix}${key}`,
    );
    assert.equal(url.searchParams.get("partNumber"), "3");
    assert.equal(url.searchParams.get("uploadId"), uploadId);
    assert.equal(
      url.searchParams.get("X-Amz-SignedHeaders"),
      "content-length;host;x-amz-checksum-sha256",
    );
    assert.deepEqual(signed.headers, {
      "content-length": "1234",
      "x-amz-checksum-sha256": part.sha256,
    });
    await multipart.abort(key, uploadId);
  });

  test("part URLs expire when asked, clamped to 1 second … 7 days", async () => {
    const { multipart } = storage();
    const key = newKey();
    const part = { number: 1, size: 1, sha256: await sha256Base64(bytes(1)) };
    const expires = async (at: Date) =>
      Number(
        new URL((await multipart.presignPart(key, "id", part, at)).url)
          .searchParams.get("X-Amz-Expires"),
      );
    assert.ok([599, 600].includes(await expires(inMinutes(10))));
    assert.equal(await expires(new Date(Date.now() - 60_000)), 1);
    assert.equal(await expires(inMinutes(60 * 24 * 30)), 604_800);
  });

  test("part URLs and downloads are refused once the session has expired", async () => {
    const sessionExpiresAt = new Date(Date.now() - 1000);
    const { prefix, multipart } = storage({
      sessionToken: "token",
      sessionExpiresAt,
    });
    const key = newKey();
    const part = { number: 1, size: 1, sha256: await sha256Base64(bytes(1)) };
    await assert.rejects(
      multipart.presignPart(key, "id", part, inMinutes()),
      {
        message:
          `Cannot sign part 1 of the S3 upload of "${prefix}${key}": the S3 session credentials expire at ${sessionExpiresAt.toISOString()}`,
      },
    );
    await assert.rejects(multipart.presignDownload(key, FILE, inMinutes()), {
      message:
        `Cannot sign a download of "${prefix}${key}": the S3 session credentials expire at ${sessionExpiresAt.toISOString()}`,
    });
  });

  test("a tampered part URL is rejected with 403 and nothing is stored", async () => {
    const { multipart, key, uploadId, body, part } = await onePart(1);
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    for (
      const [name, value] of [
        ["partNumber", "2"],
        ["X-Amz-Expires", "604800"],
        ["X-Amz-Signature", "0".repeat(64)],
      ]
    ) {
      const url = new URL(signed.url);
      url.searchParams.set(name, value);
      const put = await fetch(url, {
        method: "PUT",
        headers: signed.headers,
        body,
      });
      await assertS3Error(put, 403, "SignatureDoesNotMatch");
    }
    assert.deepEqual(await multipart.list(key, uploadId), []);
    await multipart.abort(key, uploadId);
  });

  test(
    "an expired part URL is rejected with 403 and nothing is stored",
    SLOW,
    async () => {
      const { multipart, key, uploadId, body, part } = await onePart(2);
      // Asked to expire now: clamped to 1 second from the signing second.
      const signed = await multipart.presignPart(
        key,
        uploadId,
        part,
        new Date(),
      );
      const url = new URL(signed.url);
      const date = url.searchParams.get("X-Amz-Date")!.replace(
        /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
        "$1-$2-$3T$4:$5:$6Z",
      );
      const expiresAt = new Date(date).getTime() + 1000;
      await new Promise((resolve) =>
        setTimeout(resolve, expiresAt - Date.now() + 1100)
      );
      const put = await fetch(signed.url, {
        method: "PUT",
        headers: signed.headers,
        body,
      });
      const text = await put.text();
      assert.equal(put.status, 403, text);
      assert.match(text, /Request has expired/);
      assert.deepEqual(await multipart.list(key, uploadId), []);
      await multipart.abort(key, uploadId);
    },
  );

  test("a body of another length is rejected with 403 and nothing is stored", async () => {
    const { multipart, key, uploadId, body, part } = await onePart(3);
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    for (const other of [body.slice(0, 99), bytes(101, 3)]) {
      // fetch sends the body's own Content-Length.
      const put = await fetch(signed.url, {
        method: "PUT",
        headers: {
          "x-amz-checksum-sha256": signed.headers["x-amz-checksum-sha256"],
        },
        body: other,
      });
      await assertS3Error(put, 403, "SignatureDoesNotMatch");
    }
    assert.deepEqual(await multipart.list(key, uploadId), []);
    await multipart.abort(key, uploadId);
  });

  test("another x-amz-checksum-sha256 header is rejected with 403 and nothing is stored", async () => {
    const { multipart, key, uploadId, part } = await onePart(4);
    const other = bytes(100, 5);
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    // The other body with its own, correct, checksum: the signature names
    // the declared one.
    const put = await fetch(signed.url, {
      method: "PUT",
      headers: {
        ...signed.headers,
        "x-amz-checksum-sha256": await sha256Base64(other),
      },
      body: other,
    });
    await assertS3Error(put, 403, "SignatureDoesNotMatch");
    assert.deepEqual(await multipart.list(key, uploadId), []);
    await multipart.abort(key, uploadId);
  });

  test("a body whose SHA-256 is not the signed one is rejected with 400 BadDigest and the part stays as it was", async () => {
    const { multipart, key, uploadId, body, part } = await onePart(6);
    const wrong = bytes(100, 7);
    let put = await putPart(multipart, key, uploadId, part, wrong);
    await assertS3Error(put, 400, "BadDigest");
    assert.deepEqual(await multipart.list(key, uploadId), []);

    put = await putPart(multipart, key, uploadId, part, body);
    assert.equal(put.status, 200, await put.text());
    const other = { ...part, sha256: await sha256Base64(bytes(100, 8)) };
    put = await putPart(multipart, key, uploadId, other, wrong);
    await assertS3Error(put, 400, "BadDigest");
    assert.deepEqual(await multipart.list(key, uploadId), [part]);
    await multipart.abort(key, uploadId);
  });

  test("abort() frees the upload: list() is undefined, complete() rejects with StorageNotFoundError, a part is refused with 404", async () => {
    const { prefix, multipart, key, uploadId, body, part, info } =
      await onePart(9);
    const signed = await multipart.presignPart(
      key,
      uploadId,
      part,
      inMinutes(),
    );
    let put = await fetch(signed.url, {
      method: "PUT",
      headers: signed.headers,
      body,
    });
    assert.equal(put.status, 200, await put.text());

    await multipart.abort(key, uploadId);
    assert.equal(await multipart.list(key, uploadId), undefined);
    await assert.rejects(
      multipart.complete(key, uploadId, [part], info),
      { name: "StorageNotFoundError" },
    );
    put = await fetch(signed.url, {
      method: "PUT",
      headers: signed.headers,
      body,
    });
    await assertS3Error(put, 404, "NoSuchUpload");
    assert.equal(await multipart.list(key, uploadId), undefined);
    assert.equal(await multipart.stat(key), undefined);
    assert.deepEqual(await s3.keys(prefix), []);
    // Aborting again, or an upload that never was, is no error.
    await multipart.abort(key, uploadId);
    await multipart.abort(key, "0123456789abcdef0123456789abcdef");
  });

  test("complete() a second time rejects with StorageNotFoundError and leaves the file", async () => {
    const { prefix, multipart, key, uploadId, body, part, info } =
      await onePart(10, 1000);
    const put = await putPart(multipart, key, uploadId, part, body);
    assert.equal(put.status, 200, await put.text());
    await multipart.complete(key, uploadId, [part], info);
    await assert.rejects(multipart.complete(key, uploadId, [part], info), {
      name: "StorageNotFoundError",
    });
    assert.equal((await multipart.stat(key))?.size, 1000);
    assert.deepEqual(await s3.keys(prefix), [prefix + key]);
  });

  test("complete() refuses parts that are not stored as listed before asking S3", async () => {
    const { prefix, multipart, key, uploadId, body, part, info } =
      await onePart(12, 1000);
    const put = await putPart(multipart, key, uploadId, part, body);
    assert.equal(put.status, 200, await put.text());
    const action = `Cannot complete the S3 upload of "${prefix}${key}"`;
    await assert.rejects(
      multipart.complete(key, uploadId, [{ ...part, number: 2 }], info),
      new RangeError(`${action}: part 2 is not stored as listed`),
    );
    await assert.rejects(
      multipart.complete(key, uploadId, [{ ...part, size: 999 }], {
        ...info,
        size: 999,
      }),
      new RangeError(`${action}: part 1 is not stored as listed`),
    );
    await assert.rejects(
      multipart.complete(key, uploadId, [part], { ...info, size: 1001 }),
      new RangeError(`${action}: the parts hold 1000 bytes, not 1001`),
    );
    assert.deepEqual(await multipart.list(key, uploadId), [part]);
    assert.deepEqual(await s3.keys(prefix), []);
    await multipart.abort(key, uploadId);
  });

  test("an error answer of S3 names the action, the status, S3's code and message", async () => {
    const { prefix, multipart } = storage();
    const key = newKey();
    const uploadId = await multipart.create(key, { ...FILE, partSize: PART });
    // Two parts of 1 byte: every part but the last needs 5 MiB.
    const one = bytes(1, 13);
    const part1 = await sha256Base64(one);
    const parts = [1, 2].map((number) => ({ number, size: 1, sha256: part1 }));
    for (const part of parts) {
      const put = await putPart(multipart, key, uploadId, part, one);
      assert.equal(put.status, 200, await put.text());
    }
    await assert.rejects(
      multipart.complete(key, uploadId, parts, {
        ...FILE,
        partSize: 1,
        size: 2,
        sha256: await composite([part1, part1]),
      }),
      new Error(
        `Cannot complete the S3 upload of "${prefix}${key}": S3 answered 400 EntityTooSmall: Your proposed upload is smaller than the minimum allowed object size.`,
      ),
    );
    assert.deepEqual(await s3.keys(prefix), []);

    const { multipart: elsewhere, prefix: other } = storage({
      bucket: "no-such-bucket",
    });
    await assert.rejects(
      elsewhere.create(key, { ...FILE, partSize: PART }),
      new Error(
        `Cannot start the S3 upload of "${other}${key}": S3 answered 404 NoSuchBucket: The specified bucket does not exist`,
      ),
    );
    // Only NoSuchUpload means "no such upload".
    await assert.rejects(elsewhere.list(key, uploadId), {
      message: new RegExp(
        `^Cannot list the parts of the S3 upload of "${other}${key}": S3 answered 404 NoSuchBucket`,
      ),
    });
    await multipart.abort(key, uploadId);
  });

  test("the name round-trips with unicode through stat() and Content-Disposition", async () => {
    const { multipart } = storage();
    for (
      const [name, type, disposition] of [
        [
          "résumé final ✓.pdf",
          "application/pdf",
          `inline; filename="r_sum_ final _.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final%20%E2%9C%93.pdf`,
        ],
        [
          `it's "100%" (draft)*.bin`,
          "application/octet-stream",
          `attachment; filename="it's _100__ (draft)*.bin"; filename*=UTF-8''it%27s%20%22100%25%22%20%28draft%29%2A.bin`,
        ],
        [
          "日本語のファイル.txt",
          "text/plain",
          `inline; filename="________.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%81%AE%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.txt`,
        ],
      ]
    ) {
      const key = newKey();
      const uploadId = await multipart.create(key, { name, type, partSize: 3 });
      const body = bytes(3, 14);
      const part = { number: 1, size: 3, sha256: await sha256Base64(body) };
      const put = await putPart(multipart, key, uploadId, part, body);
      assert.equal(put.status, 200, await put.text());
      await multipart.complete(key, uploadId, [part], {
        name,
        type,
        partSize: 3,
        size: 3,
        sha256: await composite([part.sha256]),
      });
      const stat = await multipart.stat(key);
      assert.equal(stat?.name, name);
      assert.equal(stat?.sha256, await composite([part.sha256]));
      assert.equal(stat?.type, type);
      const url = await multipart.presignDownload(
        key,
        { name, type },
        inMinutes(),
      );
      const get = await fetch(url);
      assert.equal(get.status, 200, await get.clone().text());
      assert.equal(get.headers.get("content-disposition"), disposition);
      assert.equal(get.headers.get("content-type"), type);
      assert.deepEqual(new Uint8Array(await get.arrayBuffer()), body);
    }
  });

  test("arguments are checked before any request", async () => {
    const { multipart } = storage();
    const sha = await sha256Base64(bytes(1));
    await assert.rejects(
      multipart.create("a/b", { ...FILE, partSize: PART }),
      TypeError,
    );
    await assert.rejects(
      multipart.create(newKey(), {
        name: "a",
        type: "tëxt/plain",
        partSize: 1,
      }),
      TypeError,
    );
    for (
      const part of [
        { number: 0, size: 1, sha256: sha },
        { number: 10_001, size: 1, sha256: sha },
        { number: 1, size: 0, sha256: sha },
        { number: 1, size: 5 * 1024 ** 3 + 1, sha256: sha },
      ]
    ) {
      await assert.rejects(
        multipart.presignPart(newKey(), "id", part, inMinutes()),
        RangeError,
      );
    }
    await assert.rejects(
      multipart.presignPart(
        newKey(),
        "id",
        { number: 1, size: 1, sha256: "abc" },
        inMinutes(),
      ),
      TypeError,
    );
  });
});

/**
 * A stand-in for S3 on loopback that answers with what s3rver cannot say:
 * ListParts lists one part; CompleteMultipartUpload answers `complete`.
 */
async function scriptedS3(
  complete: () => Response,
  options: Partial<S3StorageOptions> = {},
) {
  const seen: { method: string; headers: Headers; body: string }[] = [];
  const served = await serveApp({
    async fetch(request) {
      const { method, headers } = request;
      seen.push({ method, headers, body: await request.text() });
      const url = new URL(request.url);
      // No delete marker: the key was never deleted.
      if (request.method === "HEAD") return new Response(null, { status: 404 });
      if (request.method === "GET" && url.searchParams.has("uploadId")) {
        return new Response(
          `<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false</IsTruncated>
<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag><Size>3</Size><ChecksumSHA256>${PART_SHA}</ChecksumSHA256></Part>
</ListPartsResult>`,
          { headers: { "content-type": "application/xml" } },
        );
      }
      if (request.method === "POST" && url.searchParams.has("uploadId")) {
        return complete();
      }
      return new Response("", { status: 501 });
    },
  });
  const { prefix, multipart } = storage({ ...options, endpoint: served.url });
  return { served, seen, prefix, multipart };
}

/** The SHA-256 of "abc". */
const PART_SHA = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
const ONE_PART = [{ number: 1, size: 3, sha256: PART_SHA }];
const ONE_PART_INFO = {
  ...FILE,
  partSize: PART,
  size: 3,
  sha256: `${PART_SHA}-1`,
};

describe("s3Storage().multipart against scripted S3 answers", () => {
  test("complete() sends the parts' ETags and checksums with If-None-Match: *, and maps 412 to StorageConflictError", async () => {
    const s = await scriptedS3(() =>
      new Response(
        `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`,
        { status: 412 },
      )
    );
    try {
      await assert.rejects(
        s.multipart.complete(newKey(), "up1", ONE_PART, ONE_PART_INFO),
        (error: Error) => {
          assert.equal(error.name, "StorageConflictError");
          assert.match(
            (error.cause as Error).message,
            /: S3 answered 412 PreconditionFailed: At least one of the pre-conditions/,
          );
          return true;
        },
      );
      const post = s.seen.find((request) => request.method === "POST")!;
      assert.equal(post.headers.get("if-none-match"), "*");
      assert.match(
        post.headers.get("authorization") ?? "",
        /SignedHeaders=[^,]*if-none-match/,
      );
      assert.equal(
        post.body,
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
          '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          `<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag><ChecksumSHA256>${PART_SHA}</ChecksumSHA256></Part>` +
          "</CompleteMultipartUpload>",
      );
    } finally {
      await s.served.close();
    }
  });

  test("complete() sends no If-None-Match with conditionalWrites: false", async () => {
    const s = await scriptedS3(
      () =>
        new Response(
          `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>&quot;e-1&quot;</ETag></CompleteMultipartUploadResult>`,
          { headers: { "content-type": "application/xml" } },
        ),
      { conditionalWrites: false },
    );
    try {
      const key = newKey();
      const stored = await s.multipart.complete(
        key,
        "up1",
        ONE_PART,
        ONE_PART_INFO,
      );
      assert.equal(stored.key, key);
      const post = s.seen.find((request) => request.method === "POST")!;
      assert.equal(post.headers.get("if-none-match"), null);
      assert.doesNotMatch(
        post.headers.get("authorization") ?? "",
        /if-none-match/,
      );
    } finally {
      await s.served.close();
    }
  });

  test("complete() takes a 200 answer with an <Error> body for the error it is", async () => {
    const s = await scriptedS3(() =>
      new Response(
        `<?xml version="1.0" encoding="UTF-8"?>

<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`,
        { status: 200 },
      )
    );
    try {
      const key = newKey();
      await assert.rejects(
        s.multipart.complete(key, "up1", ONE_PART, ONE_PART_INFO),
        new Error(
          `Cannot complete the S3 upload of "${s.prefix}${key}": S3 answered 200 InternalError: We encountered an internal error. Please try again.`,
        ),
      );
    } finally {
      await s.served.close();
    }
  });

  test("complete() maps 409 ConditionalRequestConflict to StorageConflictError and NoSuchUpload to StorageNotFoundError", async () => {
    for (
      const [status, code, name] of [
        [409, "ConditionalRequestConflict", "StorageConflictError"],
        [404, "NoSuchUpload", "StorageNotFoundError"],
      ] as const
    ) {
      const s = await scriptedS3(() =>
        new Response(
          `<Error><Code>${code}</Code><Message>m</Message></Error>`,
          { status },
        )
      );
      try {
        await assert.rejects(
          s.multipart.complete(newKey(), "up1", ONE_PART, ONE_PART_INFO),
          { name },
        );
      } finally {
        await s.served.close();
      }
    }
  });
});

describe("filesRoute with s3Storage: multipart uploads", () => {
  let app: Served;
  let prefix: string;

  before(async () => {
    const s = storage();
    prefix = s.prefix;
    app = await serveApp(
      new Hono().route(
        "/v1",
        filesRoute({ storage: s.store, secret: SECRET, apiKeys: [API_KEY] }),
      ),
    );
  });

  after(async () => {
    await app?.close();
  });

  async function start(size: number, name = "movie.mp4") {
    const response = await fetch(`${app.url}/v1/files/uploads`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${API_KEY}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        name,
        size,
        resource: "prediction",
        mime_type: "video/mp4",
        part_size: PART,
      }),
    });
    const body = await response.json();
    assert.equal(response.status, 201, JSON.stringify(body));
    return body as {
      id: string;
      upload_url: string;
      download_url: string;
      part_size: number;
      max_parts: number;
    };
  }

  function sub(uploadUrl: string, resource: "parts" | "complete"): string {
    const url = new URL(uploadUrl);
    url.pathname += `/${resource}`;
    return url.href;
  }

  function post(url: string, body: unknown): Promise<Response> {
    return fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function sendParts(
    uploadUrl: string,
    parts: { number: number; size: number; sha256: string }[],
    chunks: Uint8Array<ArrayBuffer>[],
  ) {
    const response = await post(sub(uploadUrl, "parts"), { parts });
    const signed = await response.json();
    assert.equal(response.status, 200, JSON.stringify(signed));
    for (const [i, part] of signed.parts.entries()) {
      assert.equal(part.number, parts[i].number);
      const put = await fetch(part.url, {
        method: "PUT",
        headers: part.headers,
        body: chunks[parts[i].number - 1],
      });
      assert.equal(put.status, 200, await put.text());
    }
  }

  async function assertError(response: Response, status: number) {
    const body = await response.json();
    assert.equal(response.status, status, JSON.stringify(body));
    assert.equal(typeof body.error?.message, "string");
  }

  test("POST /files/uploads asks for parts of at least S3's 5 MiB and at most 10,000", async () => {
    const response = await fetch(`${app.url}/v1/files/uploads`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${API_KEY}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        name: "a.bin",
        size: 100,
        resource: "prediction",
        mime_type: "application/octet-stream",
        part_size: 1,
      }),
    });
    const body = await response.json();
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.part_size, 5 * MiB);
    // 100 bytes: one part.
    assert.equal(body.max_parts, 1);
    assert.equal(
      (await fetch(body.upload_url, { method: "DELETE" })).status,
      204,
    );
  });

  test(
    "start, part URLs, PUT to the bucket, status, complete and download",
    SLOW,
    async () => {
      const { data, parts, chunks } = await partsOf(PART + 77, 21);
      const upload = await start(data.byteLength, "vidéo ✓.mp4");
      assert.equal(upload.part_size, PART);

      await sendParts(upload.upload_url, parts, chunks);
      let response = await fetch(upload.upload_url);
      const status = await response.json();
      assert.equal(response.status, 200, JSON.stringify(status));
      assert.equal(status.state, "uploading");
      assert.deepEqual(status.parts, parts);
      assert.deepEqual(await s3.keys(prefix + upload.id), []);

      response = await post(sub(upload.upload_url, "complete"), {
        parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
      });
      const done = await response.json();
      assert.equal(response.status, 201, JSON.stringify(done));
      assert.equal(done.id, upload.id);
      assert.equal(done.name, "vidéo ✓.mp4");
      assert.equal(done.size, data.byteLength);
      assert.equal(done.mime_type, "video/mp4");
      assert.equal(done.sha256, await composite(parts.map((p) => p.sha256)));
      assert.deepEqual(await s3.keys(prefix + upload.id), [prefix + upload.id]);

      response = await fetch(upload.upload_url);
      const completed = await response.json();
      assert.equal(completed.state, "complete");
      assert.equal(completed.sha256, done.sha256);
      assert.equal(completed.size, data.byteLength);

      for (const url of [upload.download_url, done.download_url]) {
        const get = await fetch(url);
        assert.equal(get.status, 200);
        assert.equal(get.headers.get("content-type"), "video/mp4");
        assert.equal(
          get.headers.get("content-disposition"),
          `inline; filename="vid_o _.mp4"; filename*=UTF-8''vid%C3%A9o%20%E2%9C%93.mp4`,
        );
        assert.equal(
          await sha256(new Uint8Array(await get.arrayBuffer())),
          await sha256(data),
        );
      }
    },
  );

  test(
    "complete with a missing part answers 400 and stores nothing",
    SLOW,
    async () => {
      const { data, parts, chunks } = await partsOf(PART + 5, 22);
      const upload = await start(data.byteLength);
      await sendParts(upload.upload_url, [parts[0]], chunks);
      const response = await post(sub(upload.upload_url, "complete"), {
        parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
      });
      await assertError(response, 400);
      assert.deepEqual(await s3.keys(prefix + upload.id), []);
      assert.equal(
        (await fetch(upload.upload_url, { method: "DELETE" })).status,
        204,
      );
    },
  );

  test("after an abort, the bucket refuses parts, status and complete answer 404, and nothing is stored", async () => {
    const { data, parts, chunks } = await partsOf(1000, 23);
    const upload = await start(data.byteLength);
    await sendParts(upload.upload_url, parts, chunks);
    let response = await fetch(upload.upload_url, { method: "DELETE" });
    assert.equal(response.status, 204);
    // The route signs without asking the bucket first (a request per part
    // saved); the bucket refuses the part of an upload that is gone.
    response = await post(sub(upload.upload_url, "parts"), { parts });
    const signed = await response.json();
    assert.equal(response.status, 200, JSON.stringify(signed));
    const late = await fetch(signed.parts[0].url, {
      method: "PUT",
      headers: signed.parts[0].headers,
      body: chunks[0],
    });
    assert.equal(late.status, 404);
    assert.match(await late.text(), /NoSuchUpload/);
    await assertError(await fetch(upload.upload_url), 404);
    response = await post(sub(upload.upload_url, "complete"), {
      parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
    });
    await assertError(response, 404);
    assert.deepEqual(await s3.keys(prefix + upload.id), []);
  });

  test("complete twice answers 409, and the file stays as it was", async () => {
    const { data, parts, chunks } = await partsOf(1000, 24);
    const upload = await start(data.byteLength);
    await sendParts(upload.upload_url, parts, chunks);
    const body = {
      parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
    };
    let response = await post(sub(upload.upload_url, "complete"), body);
    assert.equal(response.status, 201, await response.text());
    response = await post(sub(upload.upload_url, "complete"), body);
    await assertError(response, 409);
    // A part after the completion: the bucket refuses it (NoSuchUpload).
    response = await post(sub(upload.upload_url, "parts"), { parts });
    const signed = await response.json();
    const late = await fetch(signed.parts[0].url, {
      method: "PUT",
      headers: signed.parts[0].headers,
      body: chunks[0],
    });
    assert.equal(late.status, 404);
    assert.match(await late.text(), /NoSuchUpload/);
    response = await fetch(upload.upload_url, { method: "DELETE" });
    await assertError(response, 409);
    const get = await fetch(upload.download_url);
    assert.deepEqual(new Uint8Array(await get.arrayBuffer()), data);
  });

  test("the client uploads in parts straight to the bucket, and an aborted upload leaves no part there", async () => {
    const client = new Client({ baseUrl: `${app.url}/v1`, apiKey: API_KEY });
    const data = bytes(2 * PART + 77, 25);
    const result = await client.files.uploadFile(data, "prediction", {
      name: "clip.mp4",
      partSize: PART,
    });
    assert.equal(result.multipart, true);
    const get = await fetch(result.downloadUrl);
    assert.equal(
      await sha256(new Uint8Array(await get.arrayBuffer())),
      await sha256(data),
    );

    const controller = new AbortController();
    let uploadUrl = "";
    const error = await client.files.uploadFile(
      bytes(3 * PART, 26),
      "prediction",
      {
        name: "stopped.mp4",
        partSize: PART,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => {
          uploadUrl = p.uploadUrl ?? uploadUrl;
          if (p.loaded >= PART) controller.abort(new Error("stop"));
        },
      },
    ).catch((e) => e);
    assert.match(String(error), /stop/);
    // The bucket's ListParts knows the upload no more.
    await assertError(await fetch(uploadUrl), 404);
    const id = new URL(uploadUrl).pathname.split("/").at(-1)!;
    assert.deepEqual(await s3.keys(prefix + id), []);
  });
});
