/**
 * The multipart calls of `memoryStorage()` and `fsStorage()`: parts in any
 * order, replaced, listed; a file visible only once complete, and at once;
 * nothing left after an abort; one writer per part.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdtemp,
  readdir,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fsStorage,
  memoryStorage,
  type Storage,
  StorageConflictError,
  type StorageMultipart,
  StorageNotFoundError,
  type StoredPart,
} from "../../src/hono/mod.ts";
import { bytes } from "../_data.ts";

const PART = 1000;
const INFO = {
  name: "été.bin",
  type: "application/octet-stream",
  partSize: PART,
};

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-multipart-storage-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    data as Uint8Array<ArrayBuffer>,
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function streamOf(data: Uint8Array, chunk = 300): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** A stream that sends `data`'s first bytes, then fails. */
function failing(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(data.slice(0, 100));
      controller.error(new Error("the connection dropped"));
    },
  });
}

async function partOf(data: Uint8Array, number: number): Promise<StoredPart> {
  const chunk = data.subarray((number - 1) * PART, number * PART);
  return { number, size: chunk.length, sha256: await sha256(chunk) };
}

async function putPart(
  mp: StorageMultipart,
  key: string,
  uploadId: string,
  data: Uint8Array,
  number: number,
): Promise<StoredPart> {
  const part = await partOf(data, number);
  const chunk = data.subarray((number - 1) * PART, number * PART);
  return await mp.put(key, uploadId, part, streamOf(chunk));
}

async function read(storage: Storage, key: string): Promise<Uint8Array> {
  const stream = await storage.read(key);
  assert.ok(stream);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const kinds: [string, () => Promise<{ storage: Storage; dir?: string }>][] = [
  ["memoryStorage()", () => Promise.resolve({ storage: memoryStorage() })],
  [
    "fsStorage()",
    async () => {
      const dir = join(await tempDir(), "data");
      return { storage: fsStorage({ dir }), dir };
    },
  ],
];

for (const [label, make] of kinds) {
  describe(`${label} multipart`, () => {
    test("takes parts in any order, lists them, and makes the file at once on completion", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const data = bytes(2500, 1);
      const id = await mp.create("key1", { ...INFO, size: 2500 });
      assert.equal(await mp.exists?.("key1", id), true);
      for (const number of [3, 1, 2]) {
        await putPart(mp, "key1", id, data, number);
      }
      const parts = await mp.list("key1", id);
      assert.deepEqual(parts, [
        await partOf(data, 1),
        await partOf(data, 2),
        await partOf(data, 3),
      ]);
      assert.equal(await storage.stat("key1"), undefined, "not visible yet");
      const file = await mp.complete("key1", id, parts!, {
        ...INFO,
        size: 2500,
        sha256: "composite-3",
      });
      assert.equal(file.size, 2500);
      assert.equal(file.name, "été.bin");
      assert.equal(file.sha256, "composite-3");
      const stored = await storage.stat("key1");
      assert.equal(stored?.sha256, "composite-3");
      assert.equal(stored?.size, 2500);
      assert.deepEqual(await read(storage, "key1"), data);
      assert.equal(await mp.list("key1", id), undefined, "the upload is gone");
      assert.equal(await mp.exists?.("key1", id), false);
      await assert.rejects(
        putPart(mp, "key1", id, data, 1),
        StorageNotFoundError,
      );
    });

    test("sweep() frees an unfinished upload once it expired, not before", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const data = bytes(PART, 30);
      const expiresAt = new Date(Date.now() + 60_000);
      const id = await mp.create("keyS", { ...INFO, expiresAt });
      await putPart(mp, "keyS", id, data, 1);
      const sweep = (now: number) =>
        (storage as unknown as {
          sweep(options: { now: number }): Promise<number>;
        }).sweep({ now });
      assert.equal(await sweep(expiresAt.getTime() - 1), 0);
      assert.deepEqual(await mp.list("keyS", id), [await partOf(data, 1)]);
      assert.equal(await sweep(expiresAt.getTime()), 1);
      assert.equal(await mp.list("keyS", id), undefined);
      await assert.rejects(
        putPart(mp, "keyS", id, data, 1),
        StorageNotFoundError,
      );
    });

    test("a part sent again replaces the first; a failed body leaves no part that is not whole", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const id = await mp.create("key2", { ...INFO });
      const a = bytes(PART, 2);
      const b = bytes(PART, 3);
      await putPart(mp, "key2", id, a, 1);
      await putPart(mp, "key2", id, b, 1);
      assert.deepEqual(await mp.list("key2", id), [await partOf(b, 1)]);
      const part = await partOf(a, 1);
      await assert.rejects(mp.put("key2", id, part, failing(a)), /dropped/);
      const listed = await mp.list("key2", id);
      // Either as it was, or not stored: never a part that is not whole.
      assert.ok(
        listed!.length === 0 ||
          JSON.stringify(listed) === JSON.stringify([await partOf(b, 1)]),
        JSON.stringify(listed),
      );
      await putPart(mp, "key2", id, b, 1);
      const file = await mp.complete("key2", id, [await partOf(b, 1)], {
        ...INFO,
        size: PART,
        sha256: "x-1",
      });
      assert.equal(file.size, PART);
      assert.deepEqual(await read(storage, "key2"), b);
    });

    test("the same part sent again keeps the stored one, even when its body fails", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const id = await mp.create("key8", { ...INFO });
      const a = bytes(PART, 8);
      const part = await partOf(a, 1);
      await putPart(mp, "key8", id, a, 1);
      await assert.rejects(mp.put("key8", id, part, failing(a)), /dropped/);
      assert.deepEqual(await mp.list("key8", id), [part]);
      assert.deepEqual(await putPart(mp, "key8", id, a, 1), part);
      await mp.complete("key8", id, [part], {
        ...INFO,
        size: PART,
        sha256: "s",
      });
      assert.deepEqual(await read(storage, "key8"), a);
    });

    test("completes a file of unknown size from parts whose last is short", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const data = bytes(1234, 4);
      const id = await mp.create("key3", { ...INFO });
      await putPart(mp, "key3", id, data, 2);
      await putPart(mp, "key3", id, data, 1);
      const parts = await mp.list("key3", id);
      await mp.complete("key3", id, parts!, {
        ...INFO,
        size: 1234,
        sha256: "s",
      });
      assert.deepEqual(await read(storage, "key3"), data);
      assert.equal((await storage.stat("key3"))?.size, 1234);
    });

    test("refuses to complete with a part not stored as listed, and shows nothing", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const data = bytes(2000, 5);
      const id = await mp.create("key4", { ...INFO, size: 2000 });
      await putPart(mp, "key4", id, data, 1);
      const wrong = { ...(await partOf(data, 2)) };
      await assert.rejects(
        mp.complete("key4", id, [await partOf(data, 1), wrong], {
          ...INFO,
          size: 2000,
          sha256: "s",
        }),
        RangeError,
      );
      assert.equal(await storage.stat("key4"), undefined);
    });

    test("an abort frees everything; a missing upload is no error to abort", async () => {
      const { storage, dir } = await make();
      const mp = storage.multipart!;
      const data = bytes(2000, 6);
      const id = await mp.create("key5", { ...INFO, size: 2000 });
      await putPart(mp, "key5", id, data, 1);
      await mp.abort("key5", id);
      await mp.abort("key5", id);
      assert.equal(await mp.list("key5", id), undefined);
      assert.equal(await mp.exists?.("key5", id), false);
      await assert.rejects(
        putPart(mp, "key5", id, data, 2),
        StorageNotFoundError,
      );
      await assert.rejects(
        mp.complete("key5", id, [], { ...INFO, size: 0, sha256: "s" }),
        StorageNotFoundError,
      );
      assert.equal(await storage.stat("key5"), undefined);
      if (dir !== undefined) {
        assert.deepEqual(await readdir(dir), [], "no folder is left behind");
      }
    });

    test("lets one of two concurrent writes of the same part win", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      const data = bytes(PART, 7);
      const id = await mp.create("key6", { ...INFO });
      const part = await partOf(data, 1);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const slow = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(data.slice(0, 500));
          await held;
          controller.enqueue(data.slice(500));
          controller.close();
        },
      });
      const first = mp.put("key6", id, part, slow);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await assert.rejects(
        mp.put("key6", id, part, streamOf(data)),
        StorageConflictError,
      );
      release();
      assert.deepEqual(await first, part);
      assert.deepEqual(await mp.list("key6", id), [part]);
    });

    test("will not complete over a stored file, nor start one", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      await storage.put("key7", streamOf(bytes(5, 8)), {
        name: "a",
        size: 5,
        type: "text/plain",
      });
      await assert.rejects(
        mp.create("key7", { ...INFO }),
        StorageConflictError,
      );
    });

    test("refuses keys and upload ids that could name a path", async () => {
      const { storage } = await make();
      const mp = storage.multipart!;
      await assert.rejects(mp.create("../x", { ...INFO }), TypeError);
      await assert.rejects(mp.list("key8", "../../etc"), TypeError);
    });
  });
}

describe("fsStorage() multipart on disk", () => {
  test("writes parts in place: completion renames, never copies, the data", async () => {
    const dir = join(await tempDir(), "data");
    const storage = fsStorage({ dir });
    const mp = storage.multipart!;
    const data = bytes(3000, 9);
    const id = await mp.create("key9", { ...INFO, size: 3000 });
    for (const n of [1, 2, 3]) await putPart(mp, "key9", id, data, n);
    const [folder] = await readdir(dir);
    assert.match(folder, /^\.upload-key9-/);
    const before = await stat(join(dir, folder, "data"));
    await mp.complete("key9", id, (await mp.list("key9", id))!, {
      ...INFO,
      size: 3000,
      sha256: "s",
    });
    const after = await stat(join(dir, "key9", "data"));
    assert.equal(after.ino, before.ino, "the same file, renamed");
    assert.deepEqual((await readdir(join(dir, "key9"))).sort(), [
      "data",
      "meta.json",
    ]);
  });

  test("takes over a part lock left by a crash, but not a live one", async () => {
    const dir = join(await tempDir(), "data");
    const mp = fsStorage({ dir }).multipart!;
    const data = bytes(PART, 10);
    const id = await mp.create("keyA", { ...INFO });
    const [folder] = await readdir(dir);
    const lock = join(dir, folder, "parts", "1.lock");
    // Left 20 s ago: it counts as a crash's in 10 s more, as the error says.
    const then = new Date(Date.now() - 20_000);
    await writeFile(lock, "");
    await utimes(lock, then, then);
    await assert.rejects(
      putPart(mp, "keyA", id, data, 1),
      (error: Error) => {
        assert.ok(error instanceof StorageConflictError);
        assert.ok(
          error.retryAfter! >= 10 && error.retryAfter! <= 11,
          `retryAfter ${error.retryAfter}`,
        );
        return true;
      },
    );
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    await putPart(mp, "keyA", id, data, 1);
    assert.deepEqual(await mp.list("keyA", id), [await partOf(data, 1)]);
  });

  test("a writer keeps its lock fresh however slow its body, and frees only its own", async () => {
    const dir = join(await tempDir(), "data");
    const mp = fsStorage({ dir }).multipart!;
    const data = bytes(PART, 12);
    const id = await mp.create("keyC", { ...INFO });
    const [folder] = await readdir(dir);
    const lock = join(dir, folder, "parts", "1.lock");
    const part = await partOf(data, 1);
    const old = new Date(Date.now() - 120_000);
    const makeOld = () => utimes(lock, old, old);
    const stalled = () => {
      let fail = (_: Error) => {};
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data.slice(0, 100));
          fail = (error) => controller.error(error);
        },
      });
      return { stream, fail: (error: Error) => fail(error) };
    };
    const until = async (done: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!await done()) {
        assert.ok(Date.now() < deadline, `not within 10 s: ${what}`);
        await new Promise((go) => setTimeout(go, 20));
      }
    };
    const fresh = async () => (await stat(lock)).mtimeMs > Date.now() - 30_000;

    // A writer whose body has sent nothing for a while, and whose lock looks
    // left by a crash, refreshes it within 5 s: a second writer is refused.
    const first = stalled();
    const writing = mp.put("keyC", id, part, first.stream);
    await until(
      async () => (await readdir(join(dir, folder, "parts"))).length > 0,
      "the first writer takes the lock",
    );
    await makeOld();
    await until(fresh, "the writer refreshes its lock");
    await assert.rejects(
      putPart(mp, "keyC", id, data, 1),
      StorageConflictError,
    );

    // Taken over all the same (its writer stalled past 30 s), the lock
    // is the new writer's: the first one's end leaves it in place.
    await makeOld();
    const second = stalled();
    const taking = mp.put("keyC", id, part, second.stream);
    await until(fresh, "the second writer takes the lock");
    first.fail(new Error("the connection dropped"));
    await assert.rejects(writing, /the connection dropped/);
    await assert.rejects(
      putPart(mp, "keyC", id, data, 1),
      StorageConflictError,
    );
    second.fail(new Error("the connection dropped"));
    await assert.rejects(taking, /the connection dropped/);
    await putPart(mp, "keyC", id, data, 1);
    assert.deepEqual(await mp.list("keyC", id), [part]);
  });

  test("will not complete while a part is being written, but will past a crash's lock", async () => {
    const dir = join(await tempDir(), "data");
    const mp = fsStorage({ dir }).multipart!;
    const data = bytes(PART, 11);
    const id = await mp.create("keyB", { ...INFO });
    await putPart(mp, "keyB", id, data, 1);
    const [folder] = await readdir(dir);
    const lock = join(dir, folder, "parts", "2.lock");
    await writeFile(lock, "");
    const first = await partOf(data, 1);
    const completing = () =>
      mp.complete("keyB", id, [first], {
        ...INFO,
        size: PART,
        sha256: "s",
      });
    await assert.rejects(completing(), StorageConflictError);
    // A process killed while it wrote part 2 (after its marker, say) left
    // the lock: 30 s later it no longer holds the upload back.
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    assert.equal((await completing()).size, PART);
    assert.deepEqual(await read(fsStorage({ dir }), "keyB"), data);
  });
});
