/**
 * `fileurls serve` against slow, silent and greedy clients, as a process of
 * the current runtime (the built package under Node): connections that send
 * nothing, drip their head or stall their body are closed after `--timeout`;
 * a steady slow upload is not; running out of file descriptors does not stop
 * the server; what it keeps on disk is private to the user.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { postUrls, running, serve, type Serving } from "./_cli.ts";
import { openSlow, putHead, statusLine } from "../_slow_client.ts";

/** `--timeout` in these tests, in seconds. */
const TIMEOUT_S = 1;
/** How late a timeout may fire: the servers check about once a second. */
const SLACK_MS = 2500;
/** Longer than any timeout should take. */
const LIMIT_MS = TIMEOUT_S * 1000 + SLACK_MS;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-limits-"));
});
after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function createUrls(
  server: Serving,
  name: string,
  size: number,
): Promise<{ upload_url: string; download_url: string }> {
  const res = await postUrls(server, {
    name,
    size,
    mime_type: "application/octet-stream",
  });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

/** The leftovers of single uploads in `--data`'s files. */
async function partials(data: string): Promise<string[]> {
  const names = await readdir(join(data, "files")).catch(() => []);
  return names.filter((name) => name.startsWith(".partial"));
}

describe("fileurls serve --timeout", () => {
  let data: string;
  let server: Serving;
  before(async () => {
    data = join(dir, "timeouts");
    server = await serve([
      "--port",
      "0",
      "--data",
      data,
      "--timeout",
      String(TIMEOUT_S),
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test("closes a connection that sends nothing", async () => {
    const silent = await openSlow(server.port);
    const { ms } = await silent.closedWithin(LIMIT_MS);
    assert.ok(
      ms >= TIMEOUT_S * 1000 - 100 && ms < LIMIT_MS,
      `closed after ${ms} ms`,
    );
  });

  test("closes a connection that drips its request head, without calling the route", async () => {
    const slow = await openSlow(server.port);
    const head = `GET /v1/files/urls HTTP/1.1\r\nHost: x\r\nX-Pad: ${
      "a".repeat(200)
    }\r\n\r\n`;
    slow.drip(head, 50);
    const { ms, received } = await slow.closedWithin(LIMIT_MS);
    assert.ok(ms < LIMIT_MS, `closed after ${ms} ms`);
    // The route never saw it: no 405 or 401 came back, at most a 408.
    assert.ok(
      received === "" || statusLine(received).includes(" 408 "),
      `got ${JSON.stringify(received.slice(0, 40))}`,
    );
  });

  test("closes an idle keep-alive connection after its answer", async () => {
    const idle = await openSlow(server.port);
    idle.write("GET /v1/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n");
    const { ms, received } = await idle.closedWithin(LIMIT_MS);
    assert.match(statusLine(received), / 404 /);
    assert.ok(ms < LIMIT_MS, `closed after ${ms} ms`);
  });

  test("closes an upload whose body stalls, keeps nothing, and a retry of the URL succeeds", async () => {
    const size = 64 * 1024;
    const urls = await createUrls(server, "stalled.bin", size);
    const stalled = await openSlow(server.port);
    stalled.write(putHead(urls.upload_url, size));
    stalled.write(new Uint8Array(size / 2));
    const { ms, received } = await stalled.closedWithin(LIMIT_MS);
    assert.ok(ms < LIMIT_MS, `closed after ${ms} ms`);
    // The route's answer comes before the server closes the connection.
    assert.match(statusLine(received), / 408 /, received);
    assert.equal((await fetch(urls.download_url)).status, 404);

    const retry = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(size).fill(7),
    });
    assert.equal(retry.status, 201, await retry.text());
    const stored = new Uint8Array(
      await (await fetch(urls.download_url)).arrayBuffer(),
    );
    assert.equal(stored.byteLength, size);
    assert.ok(stored.every((byte) => byte === 7));
    assert.deepEqual(await partials(data), []);
  });

  test("never cuts a steady slow upload that lasts longer than the timeout", async () => {
    // 1 KiB every 250 ms for 3 s: 4 KiB/s, three times the timeout.
    const size = 12 * 1024;
    const urls = await createUrls(server, "steady.bin", size);
    const steady = await openSlow(server.port);
    steady.write(putHead(urls.upload_url, size));
    steady.drip(new Uint8Array(size).fill(3), 250, 1024);
    const { ms, received } = await steady.closedWithin(10_000);
    assert.match(statusLine(received), / 201 /, received);
    assert.ok(ms >= 2500, `answered after ${ms} ms`);
    const stored = new Uint8Array(
      await (await fetch(urls.download_url)).arrayBuffer(),
    );
    assert.equal(stored.byteLength, size);
  });
});

const hasPrlimit = spawnSync("prlimit", ["--version"]).status === 0;

describe("fileurls serve out of file descriptors", () => {
  test(
    "stays up while idle connections hold every descriptor, and serves again once they close",
    {
      skip: hasPrlimit ? false : "prlimit (util-linux) is not installed",
    },
    async () => {
      const server = await serve(
        ["--port", "0", "--data", join(dir, "descriptors"), "--timeout", "30"],
        {},
        ["prlimit", "--nofile=128:128"],
      );
      try {
        const sockets: Socket[] = [];
        await Promise.all(
          Array.from({ length: 150 }, () =>
            new Promise<void>((done) => {
              const socket = connect(server.port, "127.0.0.1");
              socket.on("error", () => {});
              socket.once("connect", done);
              socket.once("close", () => done());
              sockets.push(socket);
            })),
        );
        await new Promise((done) => setTimeout(done, 500));
        for (const socket of sockets) socket.destroy();

        // Answers again within a few seconds, and has not exited.
        let status = 0;
        for (let i = 0; i < 20 && status !== 404; i++) {
          status = await fetch(`${server.url}/nothing-here`, {
            signal: AbortSignal.timeout(2000),
          }).then((res) => res.status, () => 0);
        }
        assert.equal(status, 404);
        assert.equal(server.child.exitCode, null, server.stderr());
      } finally {
        await server.stop();
      }
    },
  );
});

describe("fileurls serve --data", () => {
  test(
    "is made private to the user, also with the key and secret from the environment",
    {
      skip: process.platform === "win32" ? "no POSIX modes" : false,
    },
    async () => {
      const data = join(dir, "private", "data");
      const server = await serve(["--port", "0", "--data", data], {
        FILEURLS_API_KEY: "fu_test_key",
        FILEURLS_SECRET: "s".repeat(32),
      });
      try {
        assert.equal((await stat(data)).mode & 0o777, 0o700);
        const bytes = new Uint8Array(1000).fill(1);
        const res = await fetch(`${server.url}/files/urls`, {
          method: "POST",
          headers: {
            authorization: "Bearer fu_test_key",
            "content-type": "application/json",
          },
          body: JSON.stringify({
            name: "private.bin",
            size: bytes.byteLength,
            mime_type: "application/octet-stream",
            resource: "prediction",
          }),
        });
        const urls = await res.json();
        const put = await fetch(urls.upload_url, {
          method: "PUT",
          headers: { "content-type": "application/octet-stream" },
          body: bytes,
        });
        assert.equal(put.status, 201);
        const files = join(data, "files");
        assert.equal((await stat(files)).mode & 0o777, 0o700);
        for (const entry of await readdir(files, { recursive: true })) {
          const info = await stat(join(files, entry));
          assert.equal(
            info.mode & 0o777,
            info.isDirectory() ? 0o700 : 0o600,
            `${entry} is ${(info.mode & 0o777).toString(8)}`,
          );
        }
      } finally {
        await server.stop();
      }
    },
  );
});

describe("fileurls serve's secret", () => {
  test("keeps URLs working across a restart, and deleting DIR/secret invalidates every one", async () => {
    const data = join(dir, "secret");
    const args = ["--port", "0", "--data", data];
    const first = await serve(args);
    const urls = await createUrls(first, "kept.bin", 3);
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([1, 2, 3]),
    });
    assert.equal(put.status, 201);
    await first.stop();

    const second = await serve(args);
    // The same URL on the new port.
    const moved = (server: Serving) => {
      const url = new URL(urls.download_url);
      url.port = String(server.port);
      return url.href;
    };
    try {
      const again = await fetch(moved(second));
      assert.equal(again.status, 200, "the same secret after a restart");
      await again.body?.cancel();
    } finally {
      await second.stop();
    }

    await rm(join(data, "secret"));
    const third = await serve(args);
    try {
      const stale = await fetch(moved(third));
      assert.equal(stale.status, 403, "a new secret: the old URL is refused");
      await stale.body?.cancel();
    } finally {
      await third.stop();
    }
  });
});

describe("fileurls serve on SIGTERM", () => {
  async function dripping(grace: string, everyMs: number) {
    const data = join(dir, `term-${grace}-${everyMs}`);
    const server = await serve([
      "--port",
      "0",
      "--data",
      data,
      "--grace",
      grace,
    ]);
    const size = 64 * 1024;
    const urls = await createUrls(server, "term.bin", size);
    const uploader = await openSlow(server.port);
    uploader.write(putHead(urls.upload_url, size));
    // 8 KiB at a time: all of it in 8 × everyMs.
    uploader.drip(new Uint8Array(size).fill(9), everyMs, 8 * 1024);
    await new Promise((done) => setTimeout(done, 300));
    const start = Date.now();
    const [{ received }, code] = await Promise.all([
      uploader.closedWithin(20_000),
      server.stop("SIGTERM"),
    ]);
    return { received, code, ms: Date.now() - start, data, urls };
  }

  test("lets an upload finish within the grace time", async () => {
    const { received, code } = await dripping("10", 100);
    assert.match(statusLine(received), / 201 /, received);
    assert.equal(code, 0);
  });

  test("ends an upload still running after the grace time with a retryable 503, keeping nothing", async () => {
    const { received, code, ms, data } = await dripping("1", 1000);
    assert.match(statusLine(received), / 503 /, received);
    assert.match(received, /\r\nretry-after: *\d+/i);
    assert.equal(code, 0);
    assert.ok(ms < 6000, `exited after ${ms} ms`);
    assert.deepEqual(await partials(data), []);
  });
});

describe("fileurls serve after SIGKILL", () => {
  test("removes at its next start what an upload killed mid-way left", async () => {
    const data = join(dir, "killed");
    const args = ["--port", "0", "--data", data, "--timeout", "1"];
    const first = await serve(args);
    const size = 1024 * 1024;
    const urls = await createUrls(first, "killed.bin", size);
    const uploader = await openSlow(first.port);
    uploader.write(putHead(urls.upload_url, size));
    uploader.write(new Uint8Array(size / 2));
    // Until the server has written some of it.
    for (let i = 0; i < 50 && (await partials(data)).length === 0; i++) {
      await new Promise((done) => setTimeout(done, 50));
    }
    assert.equal((await partials(data)).length, 1);
    await first.stop("SIGKILL");
    uploader.destroy();
    assert.equal((await partials(data)).length, 1);

    // Nothing wrote it for 30 s, over twice the timeout, but less than 5
    // minutes: it may be another instance's upload, with a longer timeout.
    const [partial] = await partials(data);
    const age = async (ms: number) => {
      const then = new Date(Date.now() - ms);
      for (const path of [partial, join(partial, "data")]) {
        await utimes(join(data, "files", path), then, then).catch(() => {});
      }
    };
    await age(30_000);
    const second = await serve(args);
    try {
      assert.deepEqual(await partials(data), [partial]);
    } finally {
      await second.stop();
    }
    // Left over once nothing wrote it for 5 minutes.
    await age(5 * 60_000 + 1000);
    const third = await serve(args);
    try {
      assert.deepEqual(await partials(data), []);
    } finally {
      await third.stop();
    }
  });
});
