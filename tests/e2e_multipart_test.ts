/**
 * End to end, in parts: the client sends large files to `filesRoute` with
 * `fsStorage`, served on loopback by the runtime's own server, through a
 * proxy that drops the connection in the middle of a part. The server counts
 * the bytes each part brought: only the part that was cut is sent again.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { ApiError, Client } from "../mod.ts";
import {
  filesRoute,
  fsStorage,
  type Storage,
  StorageFullError,
} from "../src/hono/mod.ts";
import { serveApp, type Served } from "./_serve.ts";
import { API_KEY, SECRET } from "./_route.ts";
import { randomBytes, sha256 } from "./_data.ts";
import { startCutProxy } from "./_cut_proxy.ts";
import { sha256Base64 } from "../src/_sha256.ts";
import { openSlow, putHead } from "./_slow_client.ts";

const PART = 256 * 1024;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-e2e-multipart-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** fsStorage, counting the bytes each part's body brought to the server. */
function counting(storage: Storage, received: Map<number, number[]>): Storage {
  const inner = storage.multipart!;
  return {
    ...storage,
    multipart: {
      ...inner,
      put(key, uploadId, part, body) {
        const counts = received.get(part.number) ?? [];
        received.set(part.number, counts);
        const index = counts.push(0) - 1;
        const counted = body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              counts[index] += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
        return inner.put(key, uploadId, part, counted);
      },
    },
  };
}

async function serve(storage: Storage, bodyTimeout?: number): Promise<Served> {
  const app = new Hono().route(
    "/v1",
    filesRoute({
      storage,
      secret: SECRET,
      apiKeys: [API_KEY],
      minPartSize: 1,
      ...(bodyTimeout ? { bodyTimeout } : {}),
    }),
  );
  return await serveApp(app);
}

describe("uploadFile() in parts to filesRoute on loopback", () => {
  test("a connection dropped in the middle of part 3 sends part 3 again, and no other", async () => {
    const folder = join(dir, "cut");
    const received = new Map<number, number[]>();
    const server = await serve(counting(fsStorage({ dir: folder }), received));
    const port = Number(new URL(server.url).port);
    const proxy = await startCutProxy(port, /PUT [^ ]*\/parts\/3\?/, PART / 2);
    try {
      const data = randomBytes(PART * 5 + 123);
      const path = join(dir, "weights.bin");
      await writeFile(path, data);
      const client = new Client({
        baseUrl: `${proxy.url}/v1`,
        apiKey: API_KEY,
      });
      const result = await client.files.uploadFile(path, "prediction", {
        partSize: PART,
        concurrency: 2,
      });
      assert.ok(proxy.cut(), "the proxy cut a connection");
      assert.equal(result.size, data.length);
      for (const number of [1, 2, 4, 5, 6]) {
        const size = number === 6 ? 123 : PART;
        assert.deepEqual(received.get(number), [size], `part ${number}`);
      }
      const third = received.get(3)!;
      assert.equal(third.length, 2, "part 3 twice");
      assert.ok(third[0] < PART, `the cut attempt brought ${third[0]} bytes`);
      assert.equal(third[1], PART);
      const got = await fetch(
        result.downloadUrl.replace(proxy.url, server.url),
      );
      assert.equal(
        await sha256(new Uint8Array(await got.arrayBuffer())),
        await sha256(data),
      );
      // The finished file is all that is left on disk.
      assert.deepEqual(await readdir(folder), [result.id]);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  test("an aborted upload leaves nothing on disk", async () => {
    const folder = join(dir, "abort");
    const server = await serve(fsStorage({ dir: folder }));
    try {
      const data = randomBytes(PART * 8);
      const controller = new AbortController();
      const client = new Client({
        baseUrl: `${server.url}/v1`,
        apiKey: API_KEY,
      });
      const error = await client.files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        signal: controller.signal,
        onProgress: ({ loaded }) => {
          if (loaded >= PART * 2) controller.abort(new Error("stop"));
        },
      }).catch((e) => e);
      assert.match(String(error), /stop/);
      assert.deepEqual(await readdir(folder), []);
    } finally {
      await server.close();
    }
  });

  test("a part whose earlier connection the server still holds is sent again after the 409's Retry-After", async () => {
    const folder = join(dir, "held");
    const server = await serve(fsStorage({ dir: folder }), 1000);
    const port = Number(new URL(server.url).port);
    const data = randomBytes(PART * 2);
    const api = async (url: string, body: unknown) => {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${API_KEY}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      });
      assert.ok(res.ok, await res.clone().text());
      return await res.json();
    };
    // An uploader whose connection died where the server cannot see it:
    // half of part 1 came, then nothing, and the socket stays open.
    const upload = await api(`${server.url}/v1/files/uploads`, {
      name: "held.bin",
      size: data.length,
      resource: "prediction",
      mime_type: "application/octet-stream",
      part_size: PART,
    });
    const first = data.subarray(0, PART);
    const signing = new URL(upload.upload_url);
    signing.pathname += "/parts";
    const { parts: [url] } = await api(signing.href, {
      parts: [{ number: 1, size: PART, sha256: await sha256Base64(first) }],
    });
    const held = await openSlow(port);
    try {
      held.write(putHead(url.url, PART));
      held.write(first.subarray(0, PART / 2));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const retries: string[] = [];
      const client = new Client({
        baseUrl: `${server.url}/v1`,
        apiKey: API_KEY,
      });
      const result = await client.files.uploadFile(data, "prediction", {
        name: "held.bin",
        partSize: PART,
        resume: upload.upload_url,
        onProgress: ({ retry }) => {
          if (retry) retries.push(`${retry.part}: ${retry.reason}`);
        },
      });
      assert.deepEqual(retries, ["1: status 409"]);
      assert.equal(result.size, data.length);
      const got = await fetch(result.downloadUrl);
      assert.equal(
        await sha256(new Uint8Array(await got.arrayBuffer())),
        await sha256(data),
      );
    } finally {
      held.destroy();
      await server.close();
    }
  });

  test("a part refused with 507 as the disk fills, most of its body unread, reaches the client as that 507", async () => {
    // A storage whose disk is full: the route answers 507 at once, with
    // most of the part's 16 MiB still unsent.
    const full = fsStorage({ dir: join(dir, "full") });
    const storage: Storage = {
      ...full,
      multipart: {
        ...full.multipart!,
        async put(key, _uploadId, _part, body) {
          // The disk fills after the first chunk.
          const reader = body.getReader();
          await reader.read();
          reader.releaseLock();
          throw new StorageFullError(key);
        },
      },
    };
    const server = await serve(storage);
    try {
      const client = new Client({
        baseUrl: `${server.url}/v1`,
        apiKey: API_KEY,
        maxRetries: 0,
      });
      const size = 16 * 1024 * 1024;
      const error = await client.files.uploadFile(
        new Uint8Array(size + 1),
        "prediction",
        { name: "full.bin", partSize: size, concurrency: 1 },
      ).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 507);
      assert.match(error.message, /the storage is full/);
    } finally {
      await server.close();
    }
  });
});
