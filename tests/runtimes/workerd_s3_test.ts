import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Miniflare } from "miniflare";
import { Client } from "../../mod.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";
import { randomBytes } from "../_data.ts";
import { bundle, COMPATIBILITY_DATE } from "./_workerd.ts";

// miniflare runs on Deno, Bun and Node 22 or later.
const nodeMajor = Number(process.versions.node.split(".")[0]);
const runs = "Deno" in globalThis || "Bun" in globalThis || nodeMajor >= 22;

const API_KEY = "workerd-s3-api-key";
const MiB = 1024 * 1024;

if (runs) {
  describe("the route with s3Storage in workerd", () => {
    let s3: S3rver;
    let mf: Miniflare;
    let client: Client;
    before(async () => {
      s3 = await startS3rver();
      mf = new Miniflare({
        host: "127.0.0.1",
        port: 0,
        modules: true,
        script: await bundle("./_workerd_s3_route.ts"),
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: ["nodejs_compat"],
        bindings: {
          API_KEY,
          FILEURLS_S3_ENDPOINT: s3.endpoint,
          FILEURLS_S3_BUCKET: s3.bucket,
          FILEURLS_S3_PREFIX: "workerd/",
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        },
      });
      const origin = (await mf.ready).origin;
      client = new Client({ apiKey: API_KEY, baseUrl: `${origin}/v1` });
    });
    after(async () => {
      await mf?.dispose();
      await s3?.close();
    });

    test("signs a single upload that goes straight to the bucket, and its download", async () => {
      const data = randomBytes(70_001);
      const url = await client.files.upload(data, undefined, {
        name: "one.bin",
      });
      assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/workerd/`), url);
      const download = await fetch(url);
      assert.equal(download.status, 200);
      assert.deepEqual(new Uint8Array(await download.arrayBuffer()), data);
    });

    test("starts and completes a multipart upload of 3 parts in the bucket", async () => {
      const data = randomBytes(11 * MiB + 3);
      const result = await client.files.uploadFile(data, undefined, {
        name: "parts.bin",
        partSize: 5 * MiB,
      });
      assert.equal(result.multipart, true);
      assert.match(result.sha256 ?? "", /^[A-Za-z0-9+/]{43}=-3$/);
      const url = result.downloadUrl;
      const download = await fetch(url);
      assert.equal(download.status, 200);
      const got = new Uint8Array(await download.arrayBuffer());
      assert.equal(got.length, data.length);
      assert.deepEqual(got, data);
      const keys = await s3.keys("workerd/");
      assert.ok(
        keys.some((key) => url.includes(`/${key}?`)),
        `no object among ${keys.join(", ")} for ${url}`,
      );
    });

    test("refuses a caller without the API key, from inside workerd", async () => {
      const origin = (await mf.ready).origin;
      const response = await fetch(`${origin}/v1/files/urls`, {
        method: "POST",
        body: JSON.stringify({
          name: "a.txt",
          size: 1,
          resource: "prediction",
          mime_type: "text/plain",
        }),
      });
      assert.equal(response.status, 401);
      await response.body?.cancel();
    });
  });
}
