/**
 * The type and disposition an S3 presigned download is served with: a
 * script or a style comes back from the bucket as an
 * `application/octet-stream` attachment, whatever type it was declared with.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { s3Storage } from "../../src/storage/s3.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";

let s3: S3rver;

before(async () => {
  s3 = await startS3rver();
});

after(async () => {
  await s3?.close();
});

describe("s3Storage() download URLs", () => {
  test("serve scripts and styles as application/octet-stream attachments", async () => {
    const store = s3Storage({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix: "active/",
    });
    const cases: [string, string, string, string][] = [
      ["a.js", "text/javascript", "application/octet-stream", "attachment"],
      [
        "b.mjs",
        "application/javascript; charset=utf-8",
        "application/octet-stream",
        "attachment",
      ],
      ["c.css", "text/css", "application/octet-stream", "attachment"],
      ["d.wasm", "application/wasm", "application/octet-stream", "attachment"],
      ["e.png", "image/png", "image/png", "inline"],
    ];
    for (const [name, type, served, disposition] of cases) {
      const urls = await store.presign({ name, size: 3, type }, {
        uploadExpiresAt: new Date(Date.now() + 3600_000),
        downloadExpiresAt: new Date(Date.now() + 3600_000),
      });
      const put = await fetch(urls.upload_url, {
        method: "PUT",
        headers: { "content-type": type, "if-none-match": "*" },
        body: new Uint8Array([1, 2, 3]),
      });
      assert.equal(put.status, 200, await put.text());
      const get = await fetch(urls.download_url);
      assert.equal(get.status, 200, type);
      assert.equal(get.headers.get("content-type"), served, type);
      assert.equal(
        get.headers.get("content-disposition"),
        `${disposition}; filename="${name}"; filename*=UTF-8''${name}`,
        type,
      );
      await get.body?.cancel();
    }
  });
});
