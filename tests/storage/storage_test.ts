import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fsStorage,
  memoryStorage,
  type Storage,
  StorageConflictError,
} from "../../src/hono/mod.ts";
import { create, makeApp, put } from "../_route.ts";
import { heldStream } from "../_data.ts";

const INFO = { name: "hello.txt", size: 5, type: "text/plain" };
const bytes = (text: string) => new TextEncoder().encode(text);

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(bytes(part));
      controller.close();
    },
  });
}

async function text(stream: ReadableStream<Uint8Array> | undefined) {
  assert.ok(stream !== undefined);
  return await new Response(stream).text();
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-storage-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const kinds: [string, () => Promise<Storage>][] = [
  ["memoryStorage()", () => Promise.resolve(memoryStorage())],
  [
    "fsStorage()",
    async () => fsStorage({ dir: join(await tempDir(), "data") }),
  ],
];

for (const [label, make] of kinds) {
  describe(label, () => {
    test("stores a file and reads it back, whole and by range", async () => {
      const storage = await make();
      const file = await storage.put("key1", streamOf("he", "llo"), INFO);
      assert.equal(file.key, "key1");
      assert.equal(file.name, "hello.txt");
      assert.equal(file.size, 5);
      assert.equal(file.type, "text/plain");
      assert.ok(file.uploadedAt instanceof Date);
      const stat = await storage.stat("key1");
      assert.deepEqual(stat, file);
      assert.equal(await text(await storage.read("key1")), "hello");
      assert.equal(
        await text(await storage.read("key1", { start: 1, end: 3 })),
        "ell",
      );
      await assert.rejects(
        storage.read("key1", { start: 2, end: 5 }),
        RangeError,
      );
    });

    // Offered by memoryStorage(), and by fsStorage() on Bun only: the test is
    // registered where the storage has blob().
    const hasBlob = label === "memoryStorage()" || "Bun" in globalThis;
    (hasBlob ? test : () => {})(
      "gives the same bytes as a Blob where it offers blob()",
      async () => {
        const storage = await make();
        assert.ok(storage.blob !== undefined, "blob() is offered");
        await storage.put("keyb", streamOf("hel", "lo"), INFO);
        assert.equal(await (await storage.blob("keyb"))?.text(), "hello");
        assert.equal(
          await (await storage.blob("keyb", { start: 1, end: 3 }))?.text(),
          "ell",
        );
        assert.equal(await storage.blob("missing"), undefined);
        await assert.rejects(
          storage.blob("keyb", { start: 0, end: 5 }),
          RangeError,
        );
      },
    );

    test("stores and reads a zero-byte file", async () => {
      const storage = await make();
      await storage.put("empty", streamOf(), { ...INFO, size: 0 });
      assert.equal((await storage.stat("empty"))?.size, 0);
      assert.equal(await text(await storage.read("empty")), "");
    });

    test("keeps nothing of a body that ends early, and the key stays free", async () => {
      const storage = await make();
      await assert.rejects(
        storage.put("key2", streamOf("hel"), INFO),
        /the body ended after 3 of 5 bytes/,
      );
      assert.equal(await storage.stat("key2"), undefined);
      assert.equal(await storage.read("key2"), undefined);
      await storage.put("key2", streamOf("hello"), INFO);
      assert.equal(await text(await storage.read("key2")), "hello");
    });

    test("keeps nothing of a body that runs long, and cancels it", async () => {
      const storage = await make();
      let cancelled = false;
      const long = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(bytes("hello!"));
        },
        cancel() {
          cancelled = true;
        },
      });
      await assert.rejects(storage.put("key3", long, INFO), RangeError);
      assert.ok(cancelled);
      assert.equal(await storage.stat("key3"), undefined);
    });

    test("keeps nothing of a body that errors", async () => {
      const storage = await make();
      const broken = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(bytes("he"));
          controller.error(new Error("connection reset"));
        },
      });
      await assert.rejects(storage.put("key4", broken, INFO), /reset/);
      assert.equal(await storage.stat("key4"), undefined);
    });

    test("writes a key once: a second put rejects with StorageConflictError", async () => {
      const storage = await make();
      await storage.put("key5", streamOf("hello"), INFO);
      await assert.rejects(
        storage.put("key5", streamOf("world"), INFO),
        StorageConflictError,
      );
      assert.equal(await text(await storage.read("key5")), "hello");
    });

    test("lets one of two concurrent puts win", async () => {
      const storage = await make();
      const { stream: slow, release } = heldStream();
      const first = storage.put("key6", slow, INFO);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await assert.rejects(
        storage.put("key6", streamOf("world"), INFO),
        StorageConflictError,
      );
      assert.equal(await storage.stat("key6"), undefined);
      release();
      await first;
      assert.equal(await text(await storage.read("key6")), "hello");
    });

    test("refuses keys that could name a path", async () => {
      const storage = await make();
      for (
        const key of [
          "",
          "../x",
          "a/b",
          "a\\b",
          ".",
          "..",
          "a\0b",
          "%2F",
          "x".repeat(129),
        ]
      ) {
        await assert.rejects(
          storage.put(key, streamOf("hello"), INFO),
          TypeError,
          JSON.stringify(key),
        );
        await assert.rejects(storage.stat(key), TypeError);
        await assert.rejects(storage.read(key), TypeError);
        await assert.rejects(storage.delete(key), TypeError);
      }
    });

    test("deletes a file, and a missing key without error", async () => {
      const storage = await make();
      await storage.put("key7", streamOf("hello"), INFO);
      await storage.delete("key7");
      assert.equal(await storage.stat("key7"), undefined);
      assert.equal(await storage.read("key7"), undefined);
      await storage.delete("key7");
    });
  });
}

describe("fsStorage() on disk", () => {
  test("keeps data and metadata in a folder per key and leaves no temporary files", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    await storage.put("abc", streamOf("hello"), INFO);
    await assert.rejects(storage.put("bad", streamOf("hel"), INFO));
    assert.deepEqual(await readdir(dir), ["abc"]);
    assert.deepEqual((await readdir(join(dir, "abc"))).sort(), [
      "data",
      "meta.json",
    ]);
    assert.equal(await readFile(join(dir, "abc", "data"), "utf8"), "hello");
    const meta = JSON.parse(
      await readFile(join(dir, "abc", "meta.json"), "utf8"),
    );
    assert.equal(meta.name, "hello.txt");
    assert.equal(meta.size, 5);
    assert.equal(meta.type, "text/plain");
  });

  test("shows a file only once it is complete", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const { stream: slow, release } = heldStream();
    const writing = storage.put("abc", slow, INFO);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await storage.stat("abc"), undefined);
    assert.equal(await storage.read("abc"), undefined);
    release();
    await writing;
    assert.equal(await text(await storage.read("abc")), "hello");
  });

  test("writes a key once across two storages on the same folder", async () => {
    const dir = await tempDir();
    const a = fsStorage({ dir });
    const b = fsStorage({ dir });
    const results = await Promise.allSettled([
      a.put("abc", streamOf("hello"), INFO),
      b.put("abc", streamOf("world"), INFO),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), [
      "fulfilled",
      "rejected",
    ]);
    const rejected = results.find((r) => r.status === "rejected");
    assert.ok(
      (rejected as PromiseRejectedResult).reason instanceof
        StorageConflictError,
    );
    assert.deepEqual(await readdir(dir), ["abc"]);
  });

  test("serves a large file in order, by ranges across chunk borders", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const size = 1024 * 1024 + 3;
    const data = new Uint8Array(size).map((_, i) => (i * 7 + 3) % 253);
    await storage.put("big", new Blob([data]).stream(), { ...INFO, size });
    const whole = new Uint8Array(
      await new Response(await storage.read("big")).arrayBuffer(),
    );
    assert.deepEqual(whole, data);
    const part = new Uint8Array(
      await new Response(
        await storage.read("big", { start: 262_000, end: 600_000 }),
      ).arrayBuffer(),
    );
    assert.deepEqual(part, data.subarray(262_000, 600_001));
  });

  test("answers 404 for path tricks through the route and touches nothing outside its folder", async () => {
    const root = await tempDir();
    const dir = join(root, "data");
    await writeFile(join(root, "secret.txt"), "do not serve");
    const t = makeApp({ storage: fsStorage({ dir }) });
    const { upload_url } = await create(t.app);
    const search = new URL(upload_url).search;
    for (
      const path of [
        "/v1/files/..%2Fsecret.txt",
        "/v1/files/%2E%2E%2Fsecret.txt",
        "/v1/files/..%5Csecret.txt",
        "/v1/files/secret.txt%00",
        "/v1/files/AAAAAAAAAAAAAAAAAAAAAA/..%2F..%2Fsecret.txt",
      ]
    ) {
      const url = `http://localhost${path}${search}`;
      assert.equal((await put(t.app, url, "hello")).status, 404, path);
      assert.equal((await t.app.request(url)).status, 404, path);
    }
    assert.deepEqual(t.storage.calls, []);
    assert.deepEqual(await readdir(root), ["secret.txt"]);
    assert.equal(
      await readFile(join(root, "secret.txt"), "utf8"),
      "do not serve",
    );
  });

  test("refuses an empty dir", () => {
    assert.throws(() => fsStorage({ dir: "" }), TypeError);
  });
});
