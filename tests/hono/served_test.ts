/**
 * The route served on loopback by the runtime's own server and by
 * `@hono/node-server`, spoken to over raw HTTP.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsStorage, memoryStorage } from "../../src/hono/mod.ts";
import { API_KEY, assertNothingStored, HELLO, makeApp } from "../_route.ts";
import { runtime, serveApp, serveNode, serveNodeDefault } from "../_serve.ts";
import { rawRequest } from "../_raw_http.ts";

describe("served on loopback", () => {
  for (
    const [label, serve] of [
      ["the runtime's own server", serveApp],
      ["@hono/node-server", serveNode],
    ] as const
  ) {
    for (const storageLabel of ["memoryStorage()", "fsStorage()"]) {
      test(`sends a multi-chunk download from ${storageLabel} with an exact Content-Length with ${label}`, async () => {
        const dir = await mkdtemp(join(tmpdir(), "fileurls-route-"));
        const storage = storageLabel === "fsStorage()"
          ? fsStorage({ dir })
          : memoryStorage();
        const t = makeApp({ storage });
        const server = await serve(t.app);
        try {
          const size = 300_000;
          const data = new Uint8Array(size).map((_, i) => (i * 13) % 256);
          const created = await fetch(`${server.url}/v1/files/urls`, {
            method: "POST",
            headers: { authorization: `Bearer ${API_KEY}` },
            body: JSON.stringify({
              name: "data.bin",
              size,
              resource: "prediction",
              mime_type: "application/octet-stream",
            }),
          });
          const { upload_url, download_url } = await created.json();
          const up = await rawRequest(upload_url, "PUT", {
            "Content-Type": "application/octet-stream",
            "Content-Length": String(size),
          }, data);
          assert.equal(up.status, 201, up.body);

          const got = await rawRequest(download_url, "GET", {}, "");
          assert.equal(got.status, 200);
          assert.equal(got.headers["content-length"], String(size));
          assert.equal(got.headers["transfer-encoding"], undefined);
          assert.equal(
            got.headers["content-disposition"],
            `attachment; filename="data.bin"; filename*=UTF-8''data.bin`,
          );
          const res = await fetch(download_url);
          assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data);

          const range = await rawRequest(download_url, "GET", {
            Range: "bytes=100000-250000",
          }, "");
          assert.equal(range.status, 206);
          assert.equal(range.headers["content-length"], "150001");
          assert.equal(range.headers["transfer-encoding"], undefined);
          assert.equal(
            range.headers["content-range"],
            `bytes 100000-250000/${size}`,
          );
        } finally {
          await server.close();
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  }

  const servers = [
    ["the runtime's own server", serveApp],
    ["@hono/node-server", serveNode],
  ] as const;

  // @hono/node-server replaces the global Response by default; the route
  // must still tell a refusal from signed fields there. Under Bun and Deno
  // the replacement would break later tests in the process, so the default
  // server is tried under Node only.
  const forgers: (readonly [
    string,
    typeof serveNode,
  ])[] = [
    ...servers,
  ];
  if (runtime() === "node") {
    forgers.push([
      "@hono/node-server with its global objects",
      serveNodeDefault,
    ]);
  }
  for (const [label, serve] of forgers) {
    test(`refuses a forged signature with 403 with ${label}`, async () => {
      const t = makeApp();
      const server = await serve(t.app);
      try {
        const { upload_url } = await (await fetch(
          `${server.url}/v1/files/urls`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${API_KEY}` },
            body: JSON.stringify({ ...HELLO, size: 5 }),
          },
        )).json();
        const forged = new URL(upload_url);
        forged.searchParams.set("kid", "nope");
        forged.searchParams.set("sig", "forged");
        // "default" is what Response.type says: a refusal read as signed
        // fields would match this Content-Type.
        const answer = await rawRequest(forged.href, "PUT", {
          "Content-Type": "default",
          "Content-Length": "5",
        }, "hello");
        assert.equal(answer.status, 403, answer.body);
        assert.equal(JSON.parse(answer.body).error.type, "permission_denied");
        await assertNothingStored(t);
      } finally {
        await server.close();
      }
    });
  }
  for (const [label, serve] of servers) {
    test(`works end to end over raw HTTP with ${label}`, async () => {
      const t = makeApp();
      const server = await serve(t.app);
      try {
        const post = await fetch(`${server.url}/v1/files/urls`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: JSON.stringify({ ...HELLO, size: 11 }),
        });
        assert.equal(post.status, 201);
        const { upload_url, download_url } = await post.json();
        assert.ok(upload_url.startsWith(`${server.url}/v1/files/`));

        const chunked = await rawRequest(upload_url, "PUT", {
          "Content-Type": "text/plain",
          "Transfer-Encoding": "chunked",
        }, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        assert.equal(chunked.status, 411);
        assert.equal(JSON.parse(chunked.body).error.type, "length_required");

        const short = await rawRequest(upload_url, "PUT", {
          "Content-Type": "text/plain",
          "Content-Length": "10",
        }, "hello worl");
        assert.equal(short.status, 400);

        const ok = await rawRequest(upload_url, "PUT", {
          "Content-Type": "text/plain",
          "Content-Length": "11",
        }, "hello world");
        assert.equal(ok.status, 201, ok.body);
        assert.equal(JSON.parse(ok.body).size, 11);

        const got = await rawRequest(download_url, "GET", {}, "");
        assert.equal(got.status, 200);
        assert.equal(got.headers["content-length"], "11");
        assert.equal(got.headers["transfer-encoding"], undefined);
        assert.equal(got.body, "hello world");

        const head = await rawRequest(download_url, "HEAD", {}, "");
        assert.equal(head.status, 200);
        assert.equal(head.headers["content-length"], "11");
        assert.equal(head.body, "");

        const range = await rawRequest(download_url, "GET", {
          Range: "bytes=6-",
        }, "");
        assert.equal(range.status, 206);
        assert.equal(range.headers["content-length"], "5");
        assert.equal(range.body, "world");

        const again = await rawRequest(upload_url, "PUT", {
          "Content-Type": "text/plain",
          "Content-Length": "11",
        }, "hello world");
        assert.equal(again.status, 409);
        assert.equal(t.uploaded.length, 1);
      } finally {
        await server.close();
      }
    });
  }
});
