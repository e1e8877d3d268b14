/**
 * An upload's `lifetime` reaching the stored file, against `filesRoute` over
 * memory storage, and the confirmation of a presigned upload
 * (`complete_url`) against the route over s3rver.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../../mod.ts";
import type { Storage } from "../../src/hono/mod.ts";
import { s3Storage } from "../../src/storage/s3.ts";
import { startS3rver } from "../_s3rver.ts";
import { randomBytes } from "../_data.ts";
import { all, offBy, type Server, startServer } from "./_manage_route.ts";

describe("lifetime", () => {
  let server: Server;
  before(async () => {
    server = await startServer({ downloadTtl: 86_400 });
  });
  after(async () => {
    await server?.close();
  });

  test("upload({ lifetime }) reaches the stored file as expires_at, and caps its download URLs", async () => {
    const client = server.client();
    const result = await client.files.uploadFile(
      new TextEncoder().encode("short-lived"),
      "prediction",
      { name: "brief.txt", lifetime: 600 },
    );
    const file = await client.files.get(result.id!);
    assert.ok(offBy(file.expires_at, 600) < 5000, String(file.expires_at));
    const url = await client.files.downloadUrl(result.id!);
    assert.ok(
      Date.parse(url.expires_at) <= Date.parse(file.expires_at!),
      `${url.expires_at} > ${file.expires_at}`,
    );
    const listed = (await all(client.files.list())).find((f) =>
      f.id === result.id
    );
    assert.equal(listed?.expires_at, file.expires_at);
  });

  test("a multipart upload keeps its lifetime too", async () => {
    const client = server.client();
    const result = await client.files.uploadFile(
      randomBytes(3 * 1024 * 1024),
      "prediction",
      { name: "parts.bin", lifetime: 3600, partSize: 1024 * 1024 },
    );
    assert.equal(result.multipart, true);
    const file = await client.files.get(result.id!);
    assert.equal(file.size, 3 * 1024 * 1024);
    assert.ok(offBy(file.expires_at, 3600) < 10_000, String(file.expires_at));
  });

  test("createUrls({ lifetime }) sends it, and the route's maxLifetime refuses a longer one", async () => {
    const own = await startServer({ maxLifetime: 60 });
    try {
      const error = await own.client().files.createUrls({
        name: "a.txt",
        size: 1,
        resource: "prediction",
        mime_type: "text/plain",
        lifetime: 61,
      }).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 400);
      const urls = await own.client().files.createUrls({
        name: "a.txt",
        size: 1,
        resource: "prediction",
        mime_type: "text/plain",
        lifetime: 60,
      });
      assert.equal(typeof urls.id, "string");
    } finally {
      await own.close();
    }
  });
});

describe("a presigned storage (s3rver)", () => {
  test("upload() calls complete_url before it resolves, so the file is listed and found", async () => {
    const s3 = await startS3rver();
    let server: Server | undefined;
    try {
      const storage = s3Storage({
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: "manage/",
      });
      server = await startServer({ storage: storage as unknown as Storage });
      const client = server.client();
      const result = await client.files.uploadFile(
        new TextEncoder().encode("via s3"),
        "prediction",
        { name: "s3.txt", lifetime: 3600 },
      );
      const complete = server.requests.filter((r) =>
        /^POST \/v1\/files\/[^/]+\/complete\?/.test(r)
      );
      assert.equal(complete.length, 1, server.requests.join("\n"));
      const file = await client.files.get(result.id!);
      assert.equal(file.name, "s3.txt");
      assert.equal(file.size, 6);
      assert.ok(offBy(file.expires_at, 3600) < 10_000);
      const listed = await all(client.files.list());
      assert.deepEqual(listed.map((f) => f.id), [result.id]);
      const res = await fetch(result.downloadUrl);
      assert.equal(await res.text(), "via s3");
    } finally {
      await server?.close();
      await s3.close();
    }
  });
});
