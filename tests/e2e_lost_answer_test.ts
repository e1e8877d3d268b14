/**
 * End to end, a single `PUT` whose answer is lost: the route stores the
 * file, and a proxy on loopback closes the connection as the answer comes
 * back. The client (or the runtime under it, which sends a request again by
 * itself on a connection that closed) tries again, the route refuses (409:
 * the file is there), and the client finds exactly its bytes at the download
 * URL: the upload succeeded. Other bytes there stay a 409.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { ApiError, Client, uploadTo } from "../mod.ts";
import { filesRoute, fsStorage } from "../src/hono/mod.ts";
import { serveApp, type Served } from "./_serve.ts";
import { API_KEY, SECRET } from "./_route.ts";
import { randomBytes, sha256 } from "./_data.ts";
import { startCutProxy } from "./_cut_proxy.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-lost-answer-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** filesRoute over fsStorage in `folder`, on the runtime's own server. */
function serveFs(folder: string): Promise<Served> {
  return serveApp(
    new Hono().route(
      "/v1",
      filesRoute({
        storage: fsStorage({ dir: folder }),
        secret: SECRET,
        apiKeys: [API_KEY],
      }),
    ),
  );
}

describe("a single PUT whose answer is lost", () => {
  test("is tried again, and succeeds once exactly its bytes are found stored", async () => {
    const folder = join(dir, "stored");
    const server = await serveFs(folder);
    const data = randomBytes(200_000);
    const proxy = await startCutProxy(
      Number(new URL(server.url).port),
      /PUT \/v1\/files\/[^/ ]+\?/,
      data.byteLength,
      "lose-answer",
    );
    try {
      const client = new Client({
        baseUrl: `${proxy.url}/v1`,
        apiKey: API_KEY,
      });
      const result = await client.files.uploadFile(data, "prediction", {
        name: "kept.bin",
      });
      assert.ok(proxy.cut(), "the proxy lost an answer");
      const puts = proxy.lines().filter((line) => line.startsWith("PUT "));
      assert.equal(puts.length, 2, "the PUT was sent twice");
      assert.equal(result.size, data.byteLength);
      const got = await fetch(
        result.downloadUrl.replace(proxy.url, server.url),
      );
      assert.equal(
        await sha256(new Uint8Array(await got.arrayBuffer())),
        await sha256(data),
      );
      assert.equal((await readdir(folder)).length, 1);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  test("a 409 stays an error when other bytes are stored, and is success for the same bytes", async () => {
    const folder = join(dir, "twice");
    const server = await serveFs(folder);
    try {
      const client = new Client({
        baseUrl: `${server.url}/v1`,
        apiKey: API_KEY,
      });
      const data = randomBytes(100_000);
      const urls = await client.files.createUrls({
        name: "once.bin",
        size: data.byteLength,
        mime_type: "application/octet-stream",
        resource: "prediction",
      });
      await uploadTo(urls, data, { name: "once.bin" });
      const other = data.slice();
      other[other.length - 1] ^= 1;
      const error = await uploadTo(urls, other, { name: "once.bin" }).catch((
        e,
      ) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 409);
      const again = await uploadTo(urls, data, { name: "once.bin" });
      assert.equal(again.size, data.byteLength);
    } finally {
      await server.close();
    }
  });
});
