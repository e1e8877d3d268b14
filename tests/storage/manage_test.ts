/**
 * Managing the files of `memoryStorage()` and `fsStorage()`: what is kept
 * with a file (resource, expiry), `list()` page by page, tombstones left by
 * `delete()`, and `sweep()` of expired files.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type FsStorage,
  fsStorage,
  type MemoryStorage,
  memoryStorage,
  StorageConflictError,
} from "../../src/hono/mod.ts";
import type { ListOptions } from "../../src/storage/mod.ts";
import { fileId } from "../../src/_encoding.ts";
import { heldStream } from "../_data.ts";

const INFO = { name: "hello.txt", size: 5, type: "text/plain" };
const HELLO_SHA256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
/** A fixed time for ids: 2026-01-01. */
const T0 = Date.UTC(2026, 0, 1);

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-manage-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function hello(): ReadableStream<Uint8Array> {
  return new Blob(["hello"]).stream();
}

/** `count` file ids, newest first, one second apart, from `from` back. */
function ids(count: number, from = T0): string[] {
  return Array.from({ length: count }, (_, i) => fileId(from - i * 1000));
}

type Managed = MemoryStorage | FsStorage;

interface Made {
  storage: Managed;
  /** The same files seen anew: a new fsStorage on the same folder. */
  reopen(): Managed;
}

const kinds: [string, () => Promise<Made>][] = [
  ["memoryStorage()", () => {
    const storage = memoryStorage();
    return Promise.resolve({ storage, reopen: () => storage });
  }],
  ["fsStorage()", async () => {
    const dir = join(await tempDir(), "data");
    return { storage: fsStorage({ dir }), reopen: () => fsStorage({ dir }) };
  }],
];

/** Every page of a listing, following the cursor. */
async function pages(
  storage: Managed,
  options: Omit<ListOptions, "cursor">,
): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.list({ ...options, cursor });
    out.push(page.files.map((file) => file.key));
    cursor = page.cursor;
    assert.ok(out.length < 100, "the listing ends");
  } while (cursor !== undefined);
  return out;
}

function sorted(keys: string[]): string[] {
  return [...keys].sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
}

for (const [label, make] of kinds) {
  describe(`${label} managing files`, () => {
    test("keeps a unicode name, resource and expiresAt through put, stat and list, and leaves absent ones absent", async () => {
      const { storage, reopen } = await make();
      const [a, b] = ids(2);
      const expiresAt = new Date(T0 + 86_400_000);
      const name = "résumé 📄 ü\u0301 — 漢字.txt";
      const put = await storage.put(a, hello(), {
        ...INFO,
        name,
        resource: "avatar",
        expiresAt,
      });
      assert.equal(put.name, name);
      assert.equal(put.resource, "avatar");
      assert.equal(put.expiresAt?.getTime(), expiresAt.getTime());
      const plain = await storage.put(b, hello(), INFO);
      assert.ok(!("resource" in plain) && !("expiresAt" in plain));

      const seen = reopen();
      assert.deepEqual(await seen.stat(a), put);
      assert.deepEqual(await seen.stat(b), plain);
      const { files } = await seen.list({ limit: 10 });
      assert.deepEqual(files, [put, plain]);
      assert.ok(!("resource" in files[1]) && !("expiresAt" in files[1]));
    });

    test("refuses an expiry that is not a valid Date before reading the body, and keeps the key free", async () => {
      const { storage } = await make();
      const [a] = ids(1);
      await assert.rejects(
        storage.put(a, hello(), { ...INFO, expiresAt: new Date(NaN) }),
        (error: Error) =>
          error instanceof TypeError && /Cannot store/.test(error.message),
      );
      assert.equal(await storage.stat(a), undefined);
      await storage.put(a, hello(), INFO);
      assert.equal((await storage.stat(a))?.size, 5);
    });

    test("multipart complete keeps resource and fileExpiresAt, not the upload's own expiry", async () => {
      const { storage, reopen } = await make();
      const [a, b] = ids(2);
      const uploadExpiresAt = new Date(Date.now() + 3_600_000);
      const fileExpiresAt = new Date(Date.now() + 7 * 86_400_000);
      const part = { number: 1, size: 5, sha256: HELLO_SHA256 };
      const started = {
        name: "été.bin",
        type: "application/octet-stream",
        partSize: 5,
        expiresAt: uploadExpiresAt,
        resource: "doc",
        fileExpiresAt,
      };
      // Told at completion.
      let id = await storage.multipart.create(a, started);
      await storage.multipart.put(a, id, part, hello());
      const done = await storage.multipart.complete(a, id, [part], {
        ...started,
        size: 5,
        sha256: "x-1",
      });
      assert.equal(done.resource, "doc");
      assert.equal(done.expiresAt?.getTime(), fileExpiresAt.getTime());
      assert.deepEqual(await reopen().stat(a), done);
      // Told only when the upload started.
      id = await storage.multipart.create(b, started);
      await storage.multipart.put(b, id, part, hello());
      const { resource: _, fileExpiresAt: __, ...bare } = started;
      const later = await storage.multipart.complete(b, id, [part], {
        ...bare,
        size: 5,
        sha256: "x-1",
      });
      assert.equal(later.resource, "doc");
      assert.equal(later.expiresAt?.getTime(), fileExpiresAt.getTime());
      assert.deepEqual(await reopen().stat(b), later);
    });

    test("lists newest first across pages, and a newer file stored meanwhile leaves the older cursor's pages alone", async () => {
      const { storage } = await make();
      const keys = ids(7);
      for (const key of [3, 0, 6, 1, 5, 2, 4].map((i) => keys[i])) {
        await storage.put(key, hello(), INFO);
      }
      assert.deepEqual(sorted(keys), keys, "ids sort newest first");
      const first = await storage.list({ limit: 3 });
      assert.deepEqual(first.files.map((f) => f.key), keys.slice(0, 3));
      assert.equal(first.cursor, keys[2]);
      // A newer file, and one older than all, arrive between two pages.
      const newer = fileId(T0 + 60_000);
      const older = fileId(T0 - 3_600_000);
      await storage.put(newer, hello(), INFO);
      await storage.put(older, hello(), INFO);
      const second = await storage.list({ limit: 3, cursor: first.cursor });
      assert.deepEqual(second.files.map((f) => f.key), keys.slice(3, 6));
      assert.equal(second.cursor, keys[5]);
      const third = await storage.list({ limit: 3, cursor: second.cursor });
      assert.deepEqual(third.files.map((f) => f.key), [keys[6], older]);
      assert.equal(third.cursor, undefined);
      // From the start again, the newer file comes first.
      assert.deepEqual(await pages(storage, { limit: 4 }), [
        [newer, ...keys.slice(0, 3)],
        keys.slice(3),
        [older],
      ]);
    });

    test("limit 1 walks every file one page at a time, and the last page says nothing follows", async () => {
      const { storage } = await make();
      const keys = ids(4);
      for (const key of keys) await storage.put(key, hello(), INFO);
      assert.deepEqual(
        await pages(storage, { limit: 1 }),
        keys.map((k) => [k]),
      );
      const last = await storage.list({ limit: 1, cursor: keys[2] });
      assert.deepEqual(last.files.map((f) => f.key), [keys[3]]);
      assert.equal(last.cursor, undefined);
      const empty = await storage.list({ limit: 1, cursor: keys[3] });
      assert.deepEqual(empty, { files: [], cursor: undefined });
    });

    test("filters by resource", async () => {
      const { storage } = await make();
      const keys = ids(9);
      const resources = [
        "a",
        "b",
        undefined,
        "a",
        "a",
        "b",
        undefined,
        "a",
        "b",
      ];
      for (const [i, key] of keys.entries()) {
        await storage.put(key, hello(), { ...INFO, resource: resources[i] });
      }
      const of = (r: string | undefined) =>
        keys.filter((_, i) => resources[i] === r);
      const a = (await pages(storage, { resource: "a", limit: 2 })).flat();
      assert.deepEqual(a, of("a"));
      const b = await pages(storage, { resource: "b", limit: 10 });
      assert.deepEqual(b, [of("b")]);
      const page = await storage.list({ resource: "b", limit: 10 });
      assert.ok(page.files.every((file) => file.resource === "b"));
      assert.deepEqual(await storage.list({ resource: "c", limit: 10 }), {
        files: [],
        cursor: undefined,
      });
      assert.deepEqual((await pages(storage, { limit: 4 })).flat(), keys);
    });

    test("skips deleted keys", async () => {
      const { storage } = await make();
      const keys = ids(5);
      for (const key of keys) await storage.put(key, hello(), INFO);
      await storage.delete(keys[1]);
      await storage.delete(keys[3]);
      const left = [keys[0], keys[2], keys[4]];
      assert.deepEqual((await pages(storage, { limit: 2 })).flat(), left);
      assert.deepEqual((await pages(storage, { limit: 1 })).flat(), left);
    });

    test("delete leaves the key deleted for good: nothing to stat or read, put and multipart refused", async () => {
      const { storage, reopen } = await make();
      const [a, b] = ids(2);
      await storage.put(a, hello(), INFO);
      // An upload of b is in progress when b is deleted.
      const part = { number: 1, size: 5, sha256: HELLO_SHA256 };
      const info = { name: "b.bin", type: "text/plain", partSize: 5 };
      const uploadId = await storage.multipart.create(b, info);
      await storage.multipart.put(b, uploadId, part, hello());

      await storage.delete(a);
      await storage.delete(b);
      for (const seen of [storage, reopen()]) {
        assert.equal(await seen.stat(a), undefined);
        assert.equal(await seen.read(a), undefined);
        if (seen.blob !== undefined) {
          assert.equal(await seen.blob(a), undefined);
        }
        await assert.rejects(
          seen.put(a, hello(), INFO),
          StorageConflictError,
        );
      }
      await assert.rejects(
        storage.multipart.complete(b, uploadId, [part], {
          ...info,
          size: 5,
          sha256: "x-1",
        }),
        StorageConflictError,
      );
      await assert.rejects(
        storage.multipart.create(a, info),
        StorageConflictError,
      );
      assert.equal(await storage.stat(a), undefined);
      assert.equal(await storage.stat(b), undefined);
      assert.deepEqual(await storage.list({ limit: 10 }), {
        files: [],
        cursor: undefined,
      });
      // Deleting again is no error, and changes nothing.
      await storage.delete(a);
      await assert.rejects(storage.put(a, hello(), INFO), StorageConflictError);
    });

    test("a delete while the file is being uploaded wins: the upload is refused with StorageConflictError", async () => {
      const { storage, reopen } = await make();
      const [a] = ids(1);
      const { stream, release } = heldStream();
      const writing = storage.put(a, stream, INFO);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await storage.delete(a);
      release();
      await assert.rejects(writing, StorageConflictError);
      assert.equal(await reopen().stat(a), undefined);
      assert.equal(await reopen().read(a), undefined);
      assert.deepEqual((await storage.list({ limit: 5 })).files, []);
    });

    test("deleting a key never stored marks it deleted: a later put is refused", async () => {
      const { storage, reopen } = await make();
      const [a, b] = ids(2);
      await storage.delete(a);
      await assert.rejects(storage.put(a, hello(), INFO), StorageConflictError);
      await assert.rejects(
        reopen().put(a, hello(), INFO),
        StorageConflictError,
      );
      assert.equal(await storage.stat(a), undefined);
      // Another key is untouched.
      await storage.put(b, hello(), INFO);
      assert.deepEqual(
        (await storage.list({ limit: 5 })).files.map((f) => f.key),
        [b],
      );
    });

    test("sweep() removes only expired files, counts them, and their keys stay deleted", async () => {
      const { storage } = await make();
      const now = Date.now() + 10_000;
      const [past, atNow, future, never] = ids(4);
      const at = { past: now - 1, atNow: now, future: now + 1 };
      await storage.put(past, hello(), {
        ...INFO,
        expiresAt: new Date(at.past),
      });
      await storage.put(atNow, hello(), {
        ...INFO,
        expiresAt: new Date(at.atNow),
      });
      await storage.put(future, hello(), {
        ...INFO,
        expiresAt: new Date(at.future),
      });
      await storage.put(never, hello(), INFO);
      // Expired, not yet swept: still answered.
      assert.equal(await storage.sweep({ now: now - 2 }), 0);
      assert.equal((await storage.stat(past))?.size, 5);
      assert.equal((await storage.list({ limit: 10 })).files.length, 4);

      assert.equal(await storage.sweep({ now }), 2);
      assert.equal(await storage.stat(past), undefined);
      assert.equal(await storage.stat(atNow), undefined);
      assert.equal(await storage.read(atNow), undefined);
      assert.equal((await storage.stat(future))?.size, 5);
      assert.equal((await storage.stat(never))?.size, 5);
      assert.deepEqual(
        (await storage.list({ limit: 10 })).files.map((f) => f.key),
        [future, never],
      );
      await assert.rejects(
        storage.put(past, hello(), INFO),
        StorageConflictError,
      );
      assert.equal(await storage.sweep({ now }), 0);
      assert.equal(await storage.sweep({ now: now + 1 }), 1);
      assert.equal(await storage.stat(future), undefined);
    });

    test("a cursor that is not a key is a TypeError, a limit that is not a positive integer a RangeError", async () => {
      const { storage } = await make();
      const [a] = ids(1);
      await storage.put(a, hello(), INFO);
      for (
        const cursor of ["", "a/b", "../x", ".partial-x", "é", "x".repeat(129)]
      ) {
        await assert.rejects(
          storage.list({ limit: 10, cursor }),
          (error: Error) =>
            error instanceof TypeError &&
            error.message.startsWith("Cannot list the files after"),
          JSON.stringify(cursor),
        );
      }
      for (
        const limit of [0, -1, 1.5, NaN, Infinity, "3" as unknown as number]
      ) {
        await assert.rejects(
          storage.list({ limit }),
          (error: Error) =>
            error instanceof RangeError &&
            /Cannot list the files/.test(error.message),
          String(limit),
        );
      }
      assert.deepEqual(
        (await storage.list({ limit: 10 })).files.map((f) => f.key),
        [a],
      );
    });

    test("uploads in progress are not listed until they complete", async () => {
      const { storage } = await make();
      const [stored, single, parts] = ids(3);
      await storage.put(stored, hello(), INFO);
      const { stream, release } = heldStream();
      const writing = storage.put(single, stream, INFO);
      const part = { number: 1, size: 5, sha256: HELLO_SHA256 };
      const info = { name: "p.bin", type: "text/plain", partSize: 5 };
      const uploadId = await storage.multipart.create(parts, info);
      await storage.multipart.put(parts, uploadId, part, hello());
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(
        (await storage.list({ limit: 10 })).files.map((f) => f.key),
        [stored],
      );
      release();
      await writing;
      await storage.multipart.complete(parts, uploadId, [part], {
        ...info,
        size: 5,
        sha256: "x-1",
      });
      assert.deepEqual(
        (await storage.list({ limit: 10 })).files.map((f) => f.key),
        [stored, single, parts],
      );
    });
  });
}

describe("memoryStorage() sweeping by itself", () => {
  test("removes expired files when used, at most once a minute, without a timer", async () => {
    const realNow = Date.now;
    let clock = T0;
    Date.now = () => clock;
    try {
      const storage = memoryStorage();
      const [a, b] = ids(2);
      await storage.put(a, hello(), {
        ...INFO,
        expiresAt: new Date(T0 + 1000),
      });
      clock = T0 + 59_999;
      // Expired, but the storage swept less than a minute ago (when made).
      assert.equal((await storage.stat(a))?.size, 5);
      clock = T0 + 60_000;
      assert.equal(await storage.stat(a), undefined);
      await assert.rejects(storage.put(a, hello(), INFO), StorageConflictError);
      await storage.put(b, hello(), {
        ...INFO,
        expiresAt: new Date(T0 + 61_000),
      });
      clock = T0 + 119_999;
      assert.deepEqual(
        (await storage.list({ limit: 5 })).files.map((f) => f.key),
        [b],
      );
      clock = T0 + 120_000;
      assert.deepEqual(await storage.list({ limit: 5 }), {
        files: [],
        cursor: undefined,
      });
    } finally {
      Date.now = realNow;
    }
  });
});

/** Writes a stored file's folder by hand, as fsStorage lays it out. */
async function writeStored(
  dir: string,
  key: string,
  meta: Record<string, unknown>,
): Promise<void> {
  await mkdir(join(dir, key), { recursive: true });
  await writeFile(join(dir, key, "data"), "hello");
  await writeFile(join(dir, key, "meta.json"), JSON.stringify(meta));
}

const META = {
  name: "old.txt",
  size: 5,
  type: "text/plain",
  uploadedAt: new Date(T0).toISOString(),
};

describe("fsStorage() managing files on disk", () => {
  test("keeps resource and expiresAt in meta.json, and reads one written before them", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const [a, old] = ids(2);
    const expiresAt = new Date(T0 + 1234);
    await storage.put(a, hello(), { ...INFO, resource: "r", expiresAt });
    const meta = JSON.parse(await readFile(join(dir, a, "meta.json"), "utf8"));
    assert.equal(meta.resource, "r");
    assert.equal(meta.expiresAt, expiresAt.toISOString());
    await writeStored(dir, old, META);
    const file = await storage.stat(old);
    assert.deepEqual(file, {
      key: old,
      name: "old.txt",
      size: 5,
      type: "text/plain",
      uploadedAt: new Date(T0),
    });
    assert.deepEqual(
      (await storage.list({ limit: 5 })).files.map((f) => f.key),
      [a, old],
    );
  });

  test("lists past .partial-*, .upload-*, .deleted-* leftovers, tombstones and names that are not keys", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const [k1, k2, k3, k4] = ids(4);
    await storage.put(k2, hello(), INFO);
    await storage.put(k4, hello(), INFO);
    // Leftovers holding a meta.json, which only their names tell apart.
    for (
      const name of [
        `.partial-${k1}-0123abcd`,
        `.upload-${k1}-AAAA`,
        `.deleted-${k3}-0123abcd`,
        "has space",
        "a.b",
      ]
    ) {
      await writeStored(dir, name, META);
    }
    await mkdir(join(dir, k1)); // a key-shaped folder with nothing in it
    await writeFile(join(dir, k3), "a file, not a folder");
    await writeFile(join(dir, "-"), "a key-shaped file that sorts first");
    for (const limit of [1, 2, 10]) {
      assert.deepEqual(
        (await pages(storage, { limit })).flat(),
        [k2, k4],
        `limit ${limit}`,
      );
    }
  });

  test("a page that the resource filter leaves short comes with a cursor that goes on", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const keys = ids(503);
    for (const key of keys.slice(0, 500)) {
      await writeStored(dir, key, { ...META, resource: "b" });
    }
    for (const key of keys.slice(500)) {
      await writeStored(dir, key, { ...META, resource: "a" });
    }
    const first = await storage.list({ resource: "a", limit: 10 });
    assert.deepEqual(first.files, []);
    assert.ok(first.cursor !== undefined && first.cursor > keys[0]);
    const all = await pages(storage, { resource: "a", limit: 10 });
    assert.ok(all.length > 1, `${all.length} pages`);
    assert.deepEqual(all.flat(), keys.slice(500));
  });

  test("delete leaves a tombstone: the key's folder holds only an empty deleted file, and nothing else is left", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const [a, b] = ids(2);
    await storage.put(a, hello(), INFO);
    await storage.delete(a);
    await storage.delete(b);
    assert.deepEqual(sorted(await readdir(dir)), sorted([a, b]));
    for (const key of [a, b]) {
      assert.deepEqual(await readdir(join(dir, key)), ["deleted"]);
      assert.equal((await stat(join(dir, key, "deleted"))).size, 0);
    }
    assert.equal(await storage.sweep(), 0);
  });

  test("sweep() finishes a delete that a crash cut between its two renames", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const [a] = ids(1);
    await storage.put(a, hello(), INFO);
    // The tombstone was made, the file set aside, and then the process died.
    await mkdir(join(dir, `.deleted-${a}-0123abcd`));
    await writeFile(join(dir, `.deleted-${a}-0123abcd`, "deleted"), "");
    await rename(join(dir, a), join(dir, `.deleted-${a}-89abcdef`));
    // No half file shows meanwhile.
    assert.equal(await storage.stat(a), undefined);
    assert.equal(await storage.read(a), undefined);
    assert.deepEqual((await storage.list({ limit: 5 })).files, []);
    assert.equal(await storage.sweep(), 2);
    assert.deepEqual(await readdir(dir), [a]);
    assert.deepEqual(await readdir(join(dir, a)), ["deleted"]);
    await assert.rejects(storage.put(a, hello(), INFO), StorageConflictError);
  });

  test("sweep() leaves a tombstone where it removes an expired file", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const [a, b] = ids(2);
    await storage.put(a, hello(), { ...INFO, expiresAt: new Date(T0) });
    await storage.put(b, hello(), INFO);
    assert.equal(await storage.sweep({ now: T0 }), 1);
    assert.deepEqual(await readdir(join(dir, a)), ["deleted"]);
    assert.deepEqual(sorted(await readdir(join(dir, b))), [
      "data",
      "meta.json",
    ]);
    await assert.rejects(
      fsStorage({ dir }).put(a, hello(), INFO),
      StorageConflictError,
    );
  });
});
