/**
 * Request bodies on a real server on loopback: a body that stalls, or that
 * brings less than 1 KiB per `bodyTimeout`, is cut (408), the route's
 * `signal` cuts the bodies still arriving and refuses new uploads (503), and
 * neither leaves anything stored or holds the key; a slow body that brings
 * at least 1 KiB per `bodyTimeout` is never cut. A connection dropped
 * mid-body leaves nothing either, with no timeout needed.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsStorage } from "../../src/hono/mod.ts";
import { bytes } from "../_data.ts";
import { rawRequest } from "../_raw_http.ts";
import { API_KEY, makeApp, type TestApp } from "../_route.ts";
import { runtime, serveApp, type Served, serveNode } from "../_serve.ts";
import { openRequest } from "./_open_request.ts";

const SIZE = 1000;
const TYPE = "application/octet-stream";
const DATA = bytes(SIZE);

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The route over `fsStorage()` in a fresh folder, served by `serve`. */
async function setUp(
  serve: typeof serveApp,
  options: Parameters<typeof makeApp>[0] = {},
): Promise<{ t: TestApp; server: Served; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-body-"));
  dirs.push(dir);
  const t = makeApp({
    storage: fsStorage({ dir }),
    bodyTimeout: 300,
    minPartSize: SIZE,
    ...options,
  });
  return { t, server: await serve(t.app), dir };
}

async function createUrl(server: Served, size = SIZE): Promise<string> {
  const res = await fetch(`${server.url}/v1/files/urls`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({
      name: "a.bin",
      size,
      resource: "prediction",
      mime_type: TYPE,
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).upload_url;
}

const HEAD = { "Content-Type": TYPE, "Content-Length": String(SIZE) };

/** The `.partial-*` folders: what single uploads are writing or left. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(".partial-"));
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function errorOf(body: string): { type: string; message: string } {
  return JSON.parse(body).error;
}

const servers = [
  ["the runtime's own server", serveApp],
  ["@hono/node-server", serveNode],
] as const;

for (const [label, serve] of servers) {
  describe(`request bodies with ${label}`, () => {
    test("a PUT whose body stalls answers 408, keeps nothing, and the URL works again", async () => {
      const { t, server, dir } = await setUp(serve);
      try {
        const url = await createUrl(server);
        const request = openRequest(url, "PUT", HEAD, DATA.subarray(0, 500));
        const started = Date.now();
        const answer = await request.response;
        request.close();
        assert.ok(answer !== undefined, "the 408 was written");
        assert.equal(answer.status, 408, answer.body);
        assert.ok(Date.now() - started >= 250, "not cut before 300 ms");
        assert.deepEqual(errorOf(answer.body), {
          type: "request_timeout",
          message:
            'Cannot upload "a.bin": the body stalled: 500 bytes in 0.3 s, less than 1 KiB',
        });
        assert.deepEqual(await leftovers(dir), []);
        assert.deepEqual(t.storage.completed, []);

        const again = await rawRequest(url, "PUT", HEAD, DATA);
        assert.equal(again.status, 201, again.body);
        const id = new URL(url).pathname.split("/")[3];
        assert.equal((await t.storage.stat(id))?.size, SIZE);
      } finally {
        await server.close();
      }
    });

    test("a part whose body stalls answers 408, stores no part, and can be sent again", async () => {
      const { server, dir } = await setUp(serve);
      try {
        const started = await fetch(`${server.url}/v1/files/uploads`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: JSON.stringify({
            name: "big.bin",
            size: SIZE * 2,
            resource: "prediction",
            mime_type: TYPE,
            part_size: SIZE,
          }),
        });
        assert.equal(started.status, 201);
        const { upload_url } = await started.json();
        const signed = await fetch(`${upload_url.replace("?", "/parts?")}`, {
          method: "POST",
          body: JSON.stringify({
            parts: [{ number: 1, size: SIZE, sha256: await sha256(DATA) }],
          }),
        });
        assert.equal(signed.status, 200, await signed.clone().text());
        const [part] = (await signed.json()).parts;

        const request = openRequest(part.url, "PUT", {
          "Content-Length": String(SIZE),
        }, DATA.subarray(0, 400));
        const answer = await request.response;
        request.close();
        assert.ok(answer !== undefined, "the 408 was written");
        assert.equal(answer.status, 408, answer.body);
        assert.deepEqual(errorOf(answer.body), {
          type: "request_timeout",
          message:
            "Cannot upload part 1: the body stalled: 400 bytes in 0.3 s, less than 1 KiB",
        });
        const status = await (await fetch(upload_url)).json();
        assert.deepEqual(status.parts, []);
        assert.deepEqual(await leftovers(dir), []);

        const again = await rawRequest(part.url, "PUT", {
          "Content-Length": String(SIZE),
        }, DATA);
        assert.equal(again.status, 200, again.body);
      } finally {
        await server.close();
      }
    });

    test("a JSON body that stalls answers 408", async () => {
      const { t, server } = await setUp(serve);
      try {
        const request = openRequest(`${server.url}/v1/files/urls`, "POST", {
          Authorization: `Bearer ${API_KEY}`,
          "Content-Type": "application/json",
          "Content-Length": "200",
        }, '{"name": "a.bin",');
        const answer = await request.response;
        request.close();
        assert.ok(answer !== undefined, "the 408 was written");
        assert.equal(answer.status, 408, answer.body);
        assert.deepEqual(errorOf(answer.body), {
          type: "request_timeout",
          message:
            "Cannot create file URLs: the body stalled: 17 bytes in 0.3 s, less than 1 KiB",
        });
        assert.deepEqual(t.storage.calls, []);
      } finally {
        await server.close();
      }
    });

    test("a Content-Length other than declared is refused from the head alone, before any byte of the body", async () => {
      const { t, server, dir } = await setUp(serve);
      try {
        const url = await createUrl(server);
        for (
          const [length, status] of [[SIZE - 1, 400], [SIZE + 1, 413]] as const
        ) {
          // No body at all: only the head can tell; reading the body would
          // end in 408 after bodyTimeout.
          const request = openRequest(url, "PUT", {
            "Content-Type": TYPE,
            "Content-Length": String(length),
          });
          const answer = await request.response;
          request.close();
          assert.equal(answer?.status, status, answer?.body);
          assert.match(errorOf(answer!.body).message, /Content-Length/);
        }
        assert.deepEqual(await leftovers(dir), []);
        assert.deepEqual(t.storage.completed, []);
      } finally {
        await server.close();
      }
    });

    test("a slow body that brings 1 KiB per bodyTimeout is never cut", async () => {
      const { t, server } = await setUp(serve);
      try {
        const size = 8 * 1024;
        const data = bytes(size);
        const url = await createUrl(server, size);
        const request = openRequest(url, "PUT", {
          "Content-Type": TYPE,
          "Content-Length": String(size),
        });
        // 512 bytes every 100 ms (1.5 KiB per bodyTimeout): 1.6 s in all,
        // over five times bodyTimeout.
        for (let offset = 0; offset < size; offset += 512) {
          request.send(data.subarray(offset, offset + 512));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const answer = await request.response;
        request.close();
        assert.equal(answer?.status, 201, answer?.body);
        assert.equal(t.storage.completed.length, 1);
      } finally {
        await server.close();
      }
    });

    test("a body that drips, bringing less than 1 KiB per bodyTimeout, answers 408 and keeps nothing", async () => {
      const { t, server, dir } = await setUp(serve);
      try {
        const url = await createUrl(server);
        const request = openRequest(url, "PUT", HEAD);
        let dripping = true;
        const started = Date.now();
        const drip = (async () => {
          // 20 bytes every 50 ms: about 120 bytes per bodyTimeout.
          for (let offset = 0; dripping && offset < SIZE; offset += 20) {
            request.send(DATA.subarray(offset, offset + 20));
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })();
        const answer = await request.response;
        dripping = false;
        await drip;
        request.close();
        assert.equal(answer?.status, 408, answer?.body);
        assert.ok(Date.now() - started < 900, "cut within 3 × bodyTimeout");
        assert.match(
          errorOf(answer!.body).message,
          /^Cannot upload "a\.bin": the body stalled: \d+ bytes in 0\.3 s, less than 1 KiB$/,
        );
        assert.deepEqual(await leftovers(dir), []);
        assert.deepEqual(t.storage.completed, []);
      } finally {
        await server.close();
      }
    });

    test("a shutdown cuts a body still arriving with 503 and Retry-After, keeps nothing, and refuses new uploads", async () => {
      const shutdown = new AbortController();
      const { t, server, dir } = await setUp(serve, {
        bodyTimeout: 30_000,
        signal: shutdown.signal,
      });
      try {
        const url = await createUrl(server);
        const request = openRequest(url, "PUT", HEAD, DATA.subarray(0, 500));
        // Until the storage is writing it.
        for (let i = 0; i < 500 && (await leftovers(dir)).length === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.equal((await leftovers(dir)).length, 1);
        shutdown.abort();
        const answer = await request.response;
        request.close();
        assert.ok(answer !== undefined, "the 503 was written");
        assert.equal(answer.status, 503, answer.body);
        assert.equal(answer.headers["retry-after"], "5");
        assert.deepEqual(errorOf(answer.body), {
          type: "unavailable",
          message: 'Cannot upload "a.bin": the server is shutting down',
        });
        assert.deepEqual(await leftovers(dir), []);

        const put = await rawRequest(url, "PUT", HEAD, DATA);
        assert.equal(put.status, 503, put.body);
        assert.equal(put.headers["retry-after"], "5");
        const created = await fetch(`${server.url}/v1/files/urls`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: "{}",
        });
        assert.equal(created.status, 503);
        assert.deepEqual(await created.json(), {
          error: {
            type: "unavailable",
            message: "Cannot create file URLs: the server is shutting down",
          },
        });
        const upload = await fetch(`${server.url}/v1/files/uploads`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: "{}",
        });
        assert.equal(upload.status, 503);
        await upload.body?.cancel();
        assert.deepEqual(t.storage.completed, []);
      } finally {
        await server.close();
      }
    });

    // Deno's own server answers a body that the client half-closed; Bun's
    // and node:http close the connection without an answer.
    const answers = runtime() === "deno" && serve === serveApp;
    test(
      answers
        ? "a half-closed body answers 400 with the bytes that arrived, and keeps nothing"
        : "a half-closed body keeps nothing, and the URL works again",
      async () => {
        const { t, server, dir } = await setUp(serve);
        try {
          const url = await createUrl(server);
          const request = openRequest(url, "PUT", HEAD);
          request.send(DATA.subarray(0, 300));
          await new Promise((resolve) => setTimeout(resolve, 20));
          request.send(DATA.subarray(300, 700));
          await new Promise((resolve) => setTimeout(resolve, 20));
          request.end();
          const answer = await request.response;
          request.close();
          if (answers) {
            assert.equal(answer?.status, 400, answer?.body);
            assert.deepEqual(errorOf(answer!.body), {
              type: "invalid_request",
              message:
                'Cannot upload "a.bin": the body ended after 700 of 1000 bytes',
            });
          }
          // Until the server has seen the connection go.
          for (let i = 0; i < 50 && (await leftovers(dir)).length > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          assert.deepEqual(await leftovers(dir), []);
          assert.deepEqual(t.storage.completed, []);
          const again = await rawRequest(url, "PUT", HEAD, DATA);
          assert.equal(again.status, 201, again.body);
        } finally {
          await server.close();
        }
      },
    );

    test("a connection dropped mid-body keeps nothing, and the URL works again", async () => {
      // No bodyTimeout to come to the rescue: the drop alone must do it.
      const { t, server, dir } = await setUp(serve, { bodyTimeout: 60_000 });
      try {
        const url = await createUrl(server);
        const request = openRequest(url, "PUT", HEAD, DATA.subarray(0, 600));
        // Until the route is writing the upload.
        for (let i = 0; i < 200 && (await leftovers(dir)).length === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.equal((await leftovers(dir)).length, 1, "no upload in progress");
        request.close();
        // Until the server has seen the connection go.
        for (let i = 0; i < 200 && (await leftovers(dir)).length > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.deepEqual(await leftovers(dir), []);
        assert.deepEqual(t.storage.completed, []);
        const id = new URL(url).pathname.split("/")[3];
        assert.equal(await t.storage.stat(id), undefined);
        const again = await rawRequest(url, "PUT", HEAD, DATA);
        assert.equal(again.status, 201, again.body);
        assert.equal((await t.storage.stat(id))?.size, SIZE);
      } finally {
        await server.close();
      }
    });
  });
}
