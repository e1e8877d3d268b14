/**
 * `fsStorage` writes a body as it arrives, never holding it whole: each body
 * here sends its first block (the 512 KiB the storage gathers before a
 * write), then waits until those bytes can be read back from the disk before
 * it sends the rest. A storage (or a route) that
 * gathered the whole body before writing would never see them on disk, and
 * the body gives up with an error.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsStorage } from "../../src/hono/mod.ts";
import { randomBytes, sha256 } from "../_data.ts";
import { API_KEY, makeApp } from "../_route.ts";
import { serveApp, serveNode } from "../_serve.ts";
import { openRequest } from "../hono/_open_request.ts";

/** What `fsStorage` gathers before each write: one block of 512 KiB. */
const FIRST = 512 * 1024;
const SIZE = 2 * 1024 * 1024;
/** How long a body waits for its first bytes on disk before it gives up. */
const PATIENCE_MS = 5000;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-streaming-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Whether `file` holds `bytes` at `offset`. */
async function holds(
  file: string,
  bytes: Uint8Array,
  offset: number,
): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch {
    return false;
  }
  try {
    const read = new Uint8Array(bytes.byteLength);
    const { bytesRead } = await handle.read(read, 0, read.byteLength, offset);
    return bytesRead === bytes.byteLength &&
      read.every((byte, i) => byte === bytes[i]);
  } finally {
    await handle.close();
  }
}

/** The `data` files of the folders in `folder` whose name starts with `prefix`. */
async function dataFiles(folder: string, prefix: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith(prefix)).map((name) =>
    join(folder, name, "data")
  );
}

/**
 * Waits until one of the `data` files under `folder` (in folders named
 * `prefix…`) holds `bytes` at `offset`.
 */
async function onDisk(
  folder: string,
  prefix: string,
  bytes: Uint8Array,
  offset = 0,
): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (Date.now() < deadline) {
    for (const file of await dataFiles(folder, prefix)) {
      if (await holds(file, bytes, offset)) return;
    }
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(
    `The first ${bytes.byteLength} bytes were not on disk within ${PATIENCE_MS} ms: the body is being held`,
  );
}

/** A body that sends its first bytes, and the rest once `seen()` resolves. */
function waitingBody(
  data: Uint8Array,
  seen: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(data.slice(0, FIRST));
        return;
      }
      await seen();
      controller.enqueue(data.slice(FIRST));
      controller.close();
    },
  }, { highWaterMark: 0 });
}

describe("fsStorage writes a body as it arrives", () => {
  test("put(): the first bytes are on disk before the rest is sent", async () => {
    const folder = join(dir, "single");
    const storage = fsStorage({ dir: folder });
    const data = randomBytes(SIZE);
    const body = waitingBody(
      data,
      () => onDisk(folder, ".partial-", data.subarray(0, FIRST)),
    );
    const key = "streamedsinglekey0000A";
    const file = await storage.put(key, body, {
      name: "a.bin",
      size: SIZE,
      type: "application/octet-stream",
    });
    assert.equal(file.size, SIZE);
    const stored = await storage.read(key);
    const back = new Uint8Array(await new Response(stored).arrayBuffer());
    assert.equal(await sha256(back), await sha256(data));
  });

  test("multipart put(): a part's first bytes are on disk before the rest is sent", async () => {
    const folder = join(dir, "parts");
    const storage = fsStorage({ dir: folder });
    const data = randomBytes(SIZE);
    const key = "streamedpartkey000000A";
    const uploadId = await storage.multipart.create(key, {
      name: "a.bin",
      type: "application/octet-stream",
      size: SIZE * 2,
      partSize: SIZE,
    });
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
    );
    const part = {
      number: 2,
      size: SIZE,
      sha256: btoa(String.fromCharCode(...digest)),
    };
    const body = waitingBody(
      data,
      () => onDisk(folder, ".upload-", data.subarray(0, FIRST), SIZE),
    );
    const stored = await storage.multipart.put(key, uploadId, part, body);
    assert.equal(stored.size, SIZE);
    await storage.multipart.abort(key, uploadId);
  });
});

const servers = [
  ["the runtime's own server", serveApp],
  ["@hono/node-server", serveNode],
] as const;

for (const [label, serve] of servers) {
  describe(`filesRoute with fsStorage on ${label}`, () => {
    test("an upload's first bytes are on disk before the client sends the rest", async () => {
      const folder = join(dir, `route-${label.replace(/\W+/g, "-")}`);
      const t = makeApp({ storage: fsStorage({ dir: folder }) });
      const server = await serve(t.app);
      try {
        const res = await fetch(`${server.url}/v1/files/urls`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: JSON.stringify({
            name: "a.bin",
            size: SIZE,
            resource: "prediction",
            mime_type: "application/octet-stream",
          }),
        });
        assert.equal(res.status, 201, await res.clone().text());
        const { upload_url } = await res.json();
        const data = randomBytes(SIZE);
        const request = openRequest(upload_url, "PUT", {
          "Content-Type": "application/octet-stream",
          "Content-Length": String(SIZE),
        }, data.subarray(0, FIRST));
        try {
          await onDisk(folder, ".partial-", data.subarray(0, FIRST));
          request.send(data.subarray(FIRST));
          const answer = await request.response;
          assert.equal(answer?.status, 201, answer?.body);
        } finally {
          request.close();
        }
      } finally {
        await server.close();
      }
    });
  });
}
