import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  s3Storage,
  s3StorageFromEnv,
  type S3StorageOptions,
} from "../../src/storage/s3.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";
import { rawRequest } from "../_raw_http.ts";
import { AwsClient } from "aws4fetch";

let s3: S3rver;
let prefixes = 0;

before(async () => {
  s3 = await startS3rver();
});

after(async () => {
  await s3?.close();
});

/** A storage on the test bucket with a prefix of its own. */
function storage(options: Partial<S3StorageOptions> = {}) {
  const prefix = `t${++prefixes}/`;
  return {
    prefix,
    storage: s3Storage({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix,
      ...options,
    }),
  };
}

function times(uploadSeconds = 3600, downloadSeconds = 86400) {
  return {
    uploadExpiresAt: new Date(Date.now() + uploadSeconds * 1000),
    downloadExpiresAt: new Date(Date.now() + downloadSeconds * 1000),
  };
}

async function assertNothingStored(prefix: string, downloadUrl: string) {
  assert.deepEqual(await s3.keys(prefix), []);
  const response = await fetch(downloadUrl);
  const text = await response.text();
  assert.equal(response.status, 404, text);
  assert.match(text, /NoSuchKey/);
}

function bytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

describe("s3Storage() against s3rver", () => {
  test("the upload URL takes a plain fetch PUT and the download URL serves the bytes, type and name", async () => {
    const { prefix, storage: store } = storage();
    const body = bytes(1000);
    const urls = await store.presign(
      {
        name: "résumé final.bin",
        size: body.byteLength,
        type: "application/octet-stream",
      },
      times(),
    );
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: {
        "content-type": "application/octet-stream",
        "if-none-match": "*",
      },
      body,
    });
    assert.equal(put.status, 200, await put.text());
    const get = await fetch(urls.download_url);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-type"), "application/octet-stream");
    assert.equal(
      get.headers.get("content-disposition"),
      `attachment; filename="r_sum_ final.bin"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.bin`,
    );
    assert.deepEqual(new Uint8Array(await get.arrayBuffer()), body);
    assert.equal((await s3.keys(prefix)).length, 1);
  });

  test("the download URL shows a safe type inline and keeps quotes and parentheses in the name", async () => {
    const { storage: store } = storage();
    const name = `it's "(draft)"*!.png`;
    const urls = await store.presign(
      { name, size: 3, type: "image/png" },
      times(),
    );
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "image/png", "if-none-match": "*" },
      body: new Uint8Array([1, 2, 3]),
    });
    assert.equal(put.status, 200, await put.text());
    const get = await fetch(urls.download_url);
    assert.equal(get.status, 200, await get.clone().text());
    assert.equal(get.headers.get("content-type"), "image/png");
    assert.equal(
      get.headers.get("content-disposition"),
      `inline; filename="it's _(draft)_*!.png"; filename*=UTF-8''it%27s%20%22%28draft%29%22%2A!.png`,
    );
    await get.body?.cancel();
  });

  test("a zero-byte file uploads with Content-Length: 0", async () => {
    const { storage: store } = storage();
    const urls = await store.presign({
      name: "empty.txt",
      size: 0,
      type: "text/plain",
    }, times());
    const put = await rawRequest(urls.upload_url, "PUT", {
      "Content-Length": "0",
      "Content-Type": "text/plain",
      "If-None-Match": "*",
    }, "");
    assert.equal(put.status, 200, put.body);
    const get = await fetch(urls.download_url);
    assert.equal(get.status, 200);
    assert.equal((await get.arrayBuffer()).byteLength, 0);
  });

  test("the upload URL signs host, content-length, content-type and if-none-match", async () => {
    const { storage: store } = storage();
    const urls = await store.presign({
      name: "a.pdf",
      size: 12,
      type: "application/pdf",
    }, times());
    const upload = new URL(urls.upload_url);
    assert.equal(
      upload.searchParams.get("X-Amz-SignedHeaders"),
      "content-length;content-type;host;if-none-match",
    );
    assert.equal(
      upload.searchParams.get("X-Amz-Algorithm"),
      "AWS4-HMAC-SHA256",
    );
    const download = new URL(urls.download_url);
    assert.equal(download.searchParams.get("X-Amz-SignedHeaders"), "host");
    assert.equal(
      download.searchParams.get("response-content-type"),
      "application/pdf",
    );
    assert.equal(
      download.searchParams.get("response-content-encoding"),
      "identity",
    );
    assert.match(
      download.searchParams.get("response-cache-control")!,
      /^private, max-age=(86399|86400)$/,
    );
  });

  test("a PUT without If-None-Match: *, or with another value, is rejected with 403 and nothing is stored", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    for (const value of [undefined, '"5d41402abc4b2a76b9719d911017c592"', ""]) {
      const put = await rawRequest(urls.upload_url, "PUT", {
        "Content-Length": "5",
        "Content-Type": "text/plain",
        ...(value === undefined ? {} : { "If-None-Match": value }),
      }, "hello");
      assert.equal(put.status, 403, String(value));
      assert.match(put.body, /SignatureDoesNotMatch/);
    }
    await assertNothingStored(prefix, urls.download_url);
  });

  test("conditionalWrites: false signs no if-none-match, and a PUT without it is taken", async () => {
    const { prefix, storage: store } = storage({ conditionalWrites: false });
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    assert.equal(
      new URL(urls.upload_url).searchParams.get("X-Amz-SignedHeaders"),
      "content-length;content-type;host",
    );
    const put = await rawRequest(urls.upload_url, "PUT", {
      "Content-Length": "5",
      "Content-Type": "text/plain",
    }, "hello");
    assert.equal(put.status, 200, put.body);
    assert.equal((await s3.keys(prefix)).length, 1);
    assert.equal(await (await fetch(urls.download_url)).text(), "hello");
  });

  test("headers a PUT adds unsigned are kept by the bucket, and the download URL overrides Content-Encoding, Cache-Control and Content-Disposition", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const put = await rawRequest(urls.upload_url, "PUT", {
      "Content-Length": "5",
      "Content-Type": "text/plain",
      "If-None-Match": "*",
      // Not gzip: a client that believed this header could not read the file.
      "Content-Encoding": "gzip",
      "Cache-Control": "public, max-age=31536000, immutable",
      "Content-Disposition": 'inline; filename="a.html"',
      "Expires": "Fri, 01 Jan 2100 00:00:00 GMT",
      "Content-Language": "fr",
    }, "hello");
    // s3rver, like S3, leaves headers out of the signature unless named.
    assert.equal(put.status, 200, put.body);
    const [key] = await s3.keys(prefix);
    const admin = new AwsClient({
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      service: "s3",
      region: "us-east-1",
      retries: 0,
    });
    const stored = await admin.fetch(`${s3.endpoint}/${s3.bucket}/${key}`, {
      method: "HEAD",
    });
    assert.equal(stored.headers.get("content-encoding"), "gzip");
    assert.equal(
      stored.headers.get("cache-control"),
      "public, max-age=31536000, immutable",
    );

    const get = await fetch(urls.download_url);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-encoding"), "identity");
    assert.match(
      get.headers.get("cache-control")!,
      /^private, max-age=(86399|86400)$/,
    );
    assert.equal(
      get.headers.get("content-disposition"),
      `inline; filename="a.txt"; filename*=UTF-8''a.txt`,
    );
    assert.equal(get.headers.get("content-type"), "text/plain");
    assert.equal(await get.text(), "hello");
    // Outranked by max-age (RFC 9111, 5.3), and not overridden.
    assert.equal(get.headers.get("expires"), "Fri, 01 Jan 2100 00:00:00 GMT");
    // No override exists for it: served as sent (documented).
    assert.equal(get.headers.get("content-language"), "fr");
  });

  test("a raw request with exactly the declared headers is accepted", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const put = await rawRequest(urls.upload_url, "PUT", {
      "Content-Length": "5",
      "Content-Type": "text/plain",
      "If-None-Match": "*",
    }, "hello");
    assert.equal(put.status, 200, put.body);
    assert.equal((await s3.keys(prefix)).length, 1);
    assert.equal(await (await fetch(urls.download_url)).text(), "hello");
  });

  test("a tampered signature is rejected with 403 and nothing is stored", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const url = new URL(urls.upload_url);
    const signature = url.searchParams.get("X-Amz-Signature")!;
    url.searchParams.set(
      "X-Amz-Signature",
      (signature[0] === "0" ? "1" : "0") + signature.slice(1),
    );
    const put = await fetch(url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 403);
    assert.match(await put.text(), /SignatureDoesNotMatch/);
    await assertNothingStored(prefix, urls.download_url);
  });

  test("an upload URL with a lengthened X-Amz-Expires is rejected with 403 and nothing is stored", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const url = new URL(urls.upload_url);
    url.searchParams.set("X-Amz-Expires", "604800");
    const put = await fetch(url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 403);
    assert.match(await put.text(), /SignatureDoesNotMatch/);
    await assertNothingStored(prefix, urls.download_url);
  });

  test("credentials with another secret are rejected with 403", async () => {
    const { prefix, storage: store } = storage({
      secretAccessKey: "not-the-secret",
    });
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 403);
    assert.match(await put.text(), /SignatureDoesNotMatch/);
    assert.deepEqual(await s3.keys(prefix), []);
  });

  test("an expired upload URL is rejected with 403 and nothing is stored", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times(1, 1));
    assert.equal(
      new URL(urls.upload_url).searchParams.get("X-Amz-Expires"),
      "1",
    );
    await new Promise((resolve) =>
      setTimeout(resolve, urls.uploadExpiresAt!.getTime() - Date.now() + 1100)
    );
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 403);
    assert.match(await put.text(), /Request has expired/);
    assert.deepEqual(await s3.keys(prefix), []);
    const get = await fetch(urls.download_url);
    assert.equal(get.status, 403);
    assert.match(await get.text(), /Request has expired/);
  });

  for (
    const [what, headers, body] of [
      [
        "a Content-Length smaller than declared",
        { "Content-Length": "4" },
        "hell",
      ],
      [
        "a Content-Length larger than declared",
        { "Content-Length": "6" },
        "hello!",
      ],
      [
        "a chunked upload",
        { "Transfer-Encoding": "chunked" },
        "5\r\nhello\r\n0\r\n\r\n",
      ],
    ] as const
  ) {
    test(`${what} is rejected with 403 and nothing is stored`, async () => {
      const { prefix, storage: store } = storage();
      const urls = await store.presign({
        name: "a.txt",
        size: 5,
        type: "text/plain",
      }, times());
      const put = await rawRequest(urls.upload_url, "PUT", {
        ...headers,
        "Content-Type": "text/plain",
        "If-None-Match": "*",
      }, body);
      assert.equal(put.status, 403);
      assert.match(put.body, /SignatureDoesNotMatch/);
      await assertNothingStored(prefix, urls.download_url);
    });
  }

  test("a different Content-Type is rejected with 403 and nothing is stored", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.png",
      size: 5,
      type: "image/png",
    }, times());
    for (const type of ["text/html", "image/png; charset=utf-8"]) {
      const put = await fetch(urls.upload_url, {
        method: "PUT",
        headers: { "content-type": type, "if-none-match": "*" },
        body: "hello",
      });
      assert.equal(put.status, 403, type);
      assert.match(await put.text(), /SignatureDoesNotMatch/);
    }
    await assertNothingStored(prefix, urls.download_url);
  });

  test("the download URL cannot PUT and the upload URL cannot GET", async () => {
    const { prefix, storage: store } = storage();
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const put = await fetch(urls.download_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 403);
    await put.body?.cancel();
    await assertNothingStored(prefix, urls.download_url);
    const get = await fetch(urls.upload_url);
    assert.equal(get.status, 403);
    assert.match(await get.text(), /SignatureDoesNotMatch/);
  });

  test("keys are random, under the prefix, and never contain the name", async () => {
    const store = s3Storage({ ...base(), prefix: "uploads/2026/" });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const urls = await store.presign({
        name: "report.pdf",
        size: 1,
        type: "application/pdf",
      }, times());
      const path = new URL(urls.upload_url).pathname;
      const match = /^\/fileurls-test\/uploads\/2026\/([A-Za-z0-9_-]{22})$/
        .exec(path);
      assert.ok(match, path);
      assert.equal(new URL(urls.download_url).pathname, path);
      seen.add(match[1]);
    }
    assert.equal(seen.size, 20);
  });

  test("temporary credentials put the session token in the signed URL", async () => {
    const { storage: store } = storage({
      sessionToken: "token/with+chars=",
      sessionExpiresAt: new Date(Date.now() + 3600_000),
    });
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    const upload = new URL(urls.upload_url);
    assert.equal(
      upload.searchParams.get("X-Amz-Security-Token"),
      "token/with+chars=",
    );
    // s3rver does not check tokens, but the signature covers the whole query.
    const put = await fetch(upload, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 200, await put.text());
    upload.searchParams.set("X-Amz-Security-Token", "other");
    const tampered = await fetch(upload, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(tampered.status, 403);
    await tampered.body?.cancel();
  });

  test("s3StorageFromEnv() makes a working storage from the environment", async () => {
    const store = s3StorageFromEnv({
      FILEURLS_S3_ENDPOINT: s3.endpoint,
      FILEURLS_S3_BUCKET: s3.bucket,
      FILEURLS_S3_PREFIX: "env/",
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_SESSION_TOKEN: "",
    });
    const urls = await store.presign({
      name: "a.txt",
      size: 5,
      type: "text/plain",
    }, times());
    assert.ok(
      new URL(urls.upload_url).pathname.startsWith(`/${s3.bucket}/env/`),
    );
    assert.equal(
      new URL(urls.upload_url).searchParams.has("X-Amz-Security-Token"),
      false,
    );
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain", "if-none-match": "*" },
      body: "hello",
    });
    assert.equal(put.status, 200, await put.text());
    assert.equal(await (await fetch(urls.download_url)).text(), "hello");
  });
});

function base(): S3StorageOptions {
  return {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  };
}

const offline: S3StorageOptions = {
  endpoint: "http://127.0.0.1:9000",
  bucket: "uploads",
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "secret",
};

function expires(url: string): number {
  return Number(new URL(url).searchParams.get("X-Amz-Expires"));
}

function signedAt(url: string): number {
  const date = new URL(url).searchParams.get("X-Amz-Date")!;
  return Date.parse(
    date.replace(
      /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
      "$1-$2-$3T$4:$5:$6Z",
    ),
  );
}

describe("s3Storage() expiry", () => {
  const info = { name: "a.txt", size: 1, type: "text/plain" };

  test("asks for the requested lifetime and reports when the upload URL expires", async () => {
    const urls = await s3Storage(offline).presign(info, times(3600, 86400));
    assert.ok([3599, 3600].includes(expires(urls.upload_url)), urls.upload_url);
    assert.ok(
      [86399, 86400].includes(expires(urls.download_url)),
      urls.download_url,
    );
    assert.equal(
      urls.uploadExpiresAt!.getTime(),
      signedAt(urls.upload_url) + expires(urls.upload_url) * 1000,
    );
  });

  test("clamps lifetimes to 1 second … 7 days", async () => {
    const urls = await s3Storage(offline).presign(info, {
      uploadExpiresAt: new Date(Date.now() - 60_000),
      downloadExpiresAt: new Date(Date.now() + 30 * 86400_000),
    });
    assert.equal(expires(urls.upload_url), 1);
    assert.equal(expires(urls.download_url), 604800);
  });

  test("clamps lifetimes to the session's", async () => {
    const sessionExpiresAt = new Date(Date.now() + 600_000);
    const urls = await s3Storage({
      ...offline,
      sessionToken: "t",
      sessionExpiresAt,
    })
      .presign(info, times(3600, 86400));
    assert.ok([599, 600].includes(expires(urls.upload_url)), urls.upload_url);
    assert.ok(
      [599, 600].includes(expires(urls.download_url)),
      urls.download_url,
    );
    assert.ok(urls.uploadExpiresAt!.getTime() <= sessionExpiresAt.getTime());
  });

  test("refuses to sign once the session has expired", async () => {
    const sessionExpiresAt = new Date(Date.now() - 1000);
    await assert.rejects(
      s3Storage({ ...offline, sessionToken: "t", sessionExpiresAt }).presign(
        info,
        times(),
      ),
      {
        name: "Error",
        message:
          `Cannot presign "a.txt": the S3 session credentials expire at ${sessionExpiresAt.toISOString()}`,
      },
    );
  });
});

describe("s3Storage() URLs", () => {
  const info = { name: "a.txt", size: 1, type: "text/plain" };

  test("an AWS endpoint gets virtual-hosted URLs and the endpoint's region", async () => {
    const urls = await s3Storage({
      ...offline,
      endpoint: "https://s3.eu-west-3.amazonaws.com",
      bucket: "my-bucket",
    }).presign(info, times());
    const upload = new URL(urls.upload_url);
    assert.equal(upload.host, "my-bucket.s3.eu-west-3.amazonaws.com");
    assert.match(upload.pathname, /^\/[A-Za-z0-9_-]{22}$/);
    assert.match(
      upload.searchParams.get("X-Amz-Credential")!,
      /^AKIDEXAMPLE\/\d{8}\/eu-west-3\/s3\/aws4_request$/,
    );
  });

  test("forcePathStyle: true keeps the bucket in the path on AWS", async () => {
    const urls = await s3Storage({
      ...offline,
      endpoint: "https://s3.eu-west-3.amazonaws.com",
      bucket: "my-bucket",
      forcePathStyle: true,
    }).presign(info, times());
    const upload = new URL(urls.upload_url);
    assert.equal(upload.host, "s3.eu-west-3.amazonaws.com");
    assert.match(upload.pathname, /^\/my-bucket\/[A-Za-z0-9_-]{22}$/);
  });

  test("an R2 endpoint gets path-style URLs and the region auto", async () => {
    const urls = await s3Storage({
      ...offline,
      endpoint: "https://0123abcd.r2.cloudflarestorage.com",
    }).presign(info, times());
    const upload = new URL(urls.upload_url);
    assert.equal(upload.host, "0123abcd.r2.cloudflarestorage.com");
    assert.match(upload.pathname, /^\/uploads\/[A-Za-z0-9_-]{22}$/);
    assert.match(
      upload.searchParams.get("X-Amz-Credential")!,
      /\/auto\/s3\/aws4_request$/,
    );
  });

  test("another endpoint gets path-style URLs, us-east-1 and its base path", async () => {
    const urls = await s3Storage({
      ...offline,
      endpoint: "http://minio.local:9000/s3/",
    })
      .presign(info, times());
    const upload = new URL(urls.upload_url);
    assert.equal(upload.host, "minio.local:9000");
    assert.match(upload.pathname, /^\/s3\/uploads\/[A-Za-z0-9_-]{22}$/);
    assert.match(
      upload.searchParams.get("X-Amz-Credential")!,
      /\/us-east-1\/s3\/aws4_request$/,
    );
  });

  test("an explicit region wins", async () => {
    const urls = await s3Storage({ ...offline, region: "eu-central-1" })
      .presign(info, times());
    assert.match(
      new URL(urls.upload_url).searchParams.get("X-Amz-Credential")!,
      /\/eu-central-1\/s3\/aws4_request$/,
    );
  });
});

describe("s3Storage() arguments", () => {
  const cases: [
    string,
    Partial<Record<keyof S3StorageOptions, unknown>>,
    string,
  ][] = [
    [
      "a missing endpoint",
      { endpoint: undefined },
      `endpoint is not a URL: "undefined"`,
    ],
    [
      "a relative endpoint",
      { endpoint: "/s3" },
      `endpoint is not a URL: "/s3"`,
    ],
    [
      "an ftp: endpoint",
      { endpoint: "ftp://host" },
      `endpoint must be an http: or https: URL, got "ftp://host/"`,
    ],
    [
      "an endpoint with a query",
      { endpoint: "http://host/?a=1" },
      `endpoint must not carry a query, a fragment or credentials: "http://host/?a=1"`,
    ],
    [
      "a missing bucket",
      { bucket: undefined },
      "bucket must be a non-empty string",
    ],
    [
      "a bucket with capitals",
      { bucket: "Uploads" },
      `bucket must be 3 to 63 characters of a-z, 0-9, "." and "-", got "Uploads"`,
    ],
    ["an empty region", { region: "" }, "region must be a non-empty string"],
    [
      "a missing accessKeyId",
      { accessKeyId: undefined },
      "accessKeyId must be a non-empty string",
    ],
    [
      "an empty secretAccessKey",
      { secretAccessKey: "" },
      "secretAccessKey must be a non-empty string",
    ],
    [
      "an empty sessionToken",
      { sessionToken: "" },
      "sessionToken must be a non-empty string",
    ],
    [
      "an invalid sessionExpiresAt",
      { sessionExpiresAt: new Date(NaN) },
      "sessionExpiresAt must be a valid Date",
    ],
    [
      "a string sessionExpiresAt",
      { sessionExpiresAt: "2030-01-01" },
      "sessionExpiresAt must be a valid Date",
    ],
    ["a prefix starting with /", { prefix: "/up/" }, "prefix must be"],
    ["a prefix with ..", { prefix: "a/../" }, "prefix must be"],
    ["a prefix with //", { prefix: "a//" }, "prefix must be"],
    ["a prefix with a space", { prefix: "a b/" }, "prefix must be"],
    [
      "a non-boolean forcePathStyle",
      { forcePathStyle: "yes" },
      "forcePathStyle must be a boolean",
    ],
    [
      "a non-boolean conditionalWrites",
      { conditionalWrites: "false" },
      "conditionalWrites must be a boolean",
    ],
  ];
  for (const [what, change, detail] of cases) {
    test(`${what} throws a TypeError`, () => {
      assert.throws(
        () => s3Storage({ ...offline, ...change } as S3StorageOptions),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.ok(
            error.message.startsWith(`Cannot create S3 storage: ${detail}`),
            error.message,
          );
          return true;
        },
      );
    });
  }

  test("presign() refuses a bad size or type before signing", async () => {
    const store = s3Storage(offline);
    await assert.rejects(
      store.presign({ name: "a", size: -1, type: "text/plain" }, times()),
      {
        name: "RangeError",
        message:
          `Cannot presign "a": size must be a non-negative safe integer, got -1`,
      },
    );
    await assert.rejects(
      store.presign({
        name: "big",
        size: 5 * 1024 ** 3 + 1,
        type: "text/plain",
      }, times()),
      {
        name: "RangeError",
        message:
          `Cannot presign "big": S3 takes at most 5 GiB in one PUT, got 5368709121 bytes`,
      },
    );
    await store.presign({
      name: "max",
      size: 5 * 1024 ** 3,
      type: "text/plain",
    }, times());
    await assert.rejects(
      store.presign({ name: "a", size: 1.5, type: "text/plain" }, times()),
      RangeError,
    );
    await assert.rejects(
      store.presign({ name: "a", size: 1, type: "" }, times()),
      {
        name: "TypeError",
        message: `Cannot presign "a": type must be a non-empty ASCII string`,
      },
    );
    await assert.rejects(
      store.presign({ name: "", size: 1, type: "a/b" }, times()),
      TypeError,
    );
  });

  test("s3StorageFromEnv() names every missing variable", () => {
    assert.throws(
      () =>
        s3StorageFromEnv({
          FILEURLS_S3_BUCKET: "b",
          AWS_SECRET_ACCESS_KEY: "",
        }),
      {
        name: "TypeError",
        message:
          "Cannot configure S3 storage from the environment: missing FILEURLS_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
      },
    );
  });

  test("s3StorageFromEnv() turns conditional writes off with FILEURLS_S3_CONDITIONAL_WRITES=false", async () => {
    const env = {
      FILEURLS_S3_ENDPOINT: "http://127.0.0.1:9000",
      FILEURLS_S3_BUCKET: "uploads",
      AWS_ACCESS_KEY_ID: "a",
      AWS_SECRET_ACCESS_KEY: "b",
    };
    const info = { name: "a.txt", size: 1, type: "text/plain" };
    for (
      const [value, signed] of [
        [undefined, "content-length;content-type;host;if-none-match"],
        ["true", "content-length;content-type;host;if-none-match"],
        ["false", "content-length;content-type;host"],
      ] as const
    ) {
      const urls = await s3StorageFromEnv({
        ...env,
        FILEURLS_S3_CONDITIONAL_WRITES: value,
      }).presign(info, times());
      assert.equal(
        new URL(urls.upload_url).searchParams.get("X-Amz-SignedHeaders"),
        signed,
        String(value),
      );
    }
  });

  test("s3StorageFromEnv() rejects a malformed path style or expiration", () => {
    const env = {
      FILEURLS_S3_ENDPOINT: "http://127.0.0.1:9000",
      FILEURLS_S3_BUCKET: "uploads",
      AWS_ACCESS_KEY_ID: "a",
      AWS_SECRET_ACCESS_KEY: "b",
    };
    assert.throws(
      () => s3StorageFromEnv({ ...env, FILEURLS_S3_FORCE_PATH_STYLE: "yes" }),
      {
        name: "TypeError",
        message:
          `Cannot configure S3 storage from the environment: FILEURLS_S3_FORCE_PATH_STYLE must be "true" or "false", got "yes"`,
      },
    );
    assert.throws(
      () => s3StorageFromEnv({ ...env, FILEURLS_S3_CONDITIONAL_WRITES: "no" }),
      {
        name: "TypeError",
        message:
          `Cannot configure S3 storage from the environment: FILEURLS_S3_CONDITIONAL_WRITES must be "true" or "false", got "no"`,
      },
    );
    assert.throws(
      () => s3StorageFromEnv({ ...env, AWS_CREDENTIAL_EXPIRATION: "soon" }),
      {
        name: "TypeError",
        message:
          `Cannot configure S3 storage from the environment: AWS_CREDENTIAL_EXPIRATION is not a date: "soon"`,
      },
    );
  });
});
