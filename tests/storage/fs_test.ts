/**
 * `fsStorage()` on a real disk: private modes, `sweep()` of what crashed or
 * abandoned uploads left (and nothing that is alive), and a full disk, on a
 * small tmpfs, answered with 507 through the route with nothing left behind.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { fsStorage, StorageFullError } from "../../src/hono/mod.ts";
import { heldStream } from "../_data.ts";
import { API_KEY, create, errorOf, makeApp, put } from "../_route.ts";

const INFO = { name: "hello.txt", size: 5, type: "text/plain" };
const HELLO_SHA256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
const HOUR = 3_600_000;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-fs-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

/** The names in `dir` that start with `prefix`. */
async function named(dir: string, prefix: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(prefix));
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !await check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Starts `_partial_writer.ts` in a process of this runtime, waits until its
 * upload's bytes are on disk, and kills it with SIGKILL.
 */
async function crashWhileWriting(dir: string): Promise<string> {
  const script = fileURLToPath(
    new URL("./_partial_writer.ts", import.meta.url),
  );
  const args = "Deno" in globalThis
    ? ["run", "-A", "--quiet", script, dir]
    : [script, dir];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let output = "";
  child.stdout!.setEncoding("utf8");
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("\n")) resolve(output.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
  child.kill("SIGKILL");
  await exited;
  return JSON.parse(line).partial;
}

const posix = process.platform !== "win32";

describe("fsStorage() on disk", () => {
  (posix ? test : test.skip)(
    "writes files 0600 and folders 0700, single and multipart",
    async () => {
      const dir = join(await tempDir(), "data");
      const storage = fsStorage({ dir });
      await storage.put("single", streamOf("hello"), INFO);
      const uploadId = await storage.multipart.create("multi", {
        name: "m.txt",
        type: "text/plain",
        partSize: 5,
      });
      const upload = join(dir, `.upload-multi-${uploadId}`);
      const mode = async (path: string) => (await stat(path)).mode & 0o777;
      assert.equal(await mode(dir), 0o700);
      assert.equal(await mode(join(dir, "single")), 0o700);
      assert.equal(await mode(join(dir, "single", "data")), 0o600);
      assert.equal(await mode(join(dir, "single", "meta.json")), 0o600);
      assert.equal(await mode(upload), 0o700);
      assert.equal(await mode(join(upload, "parts")), 0o700);
      assert.equal(await mode(join(upload, "data")), 0o600);
      assert.equal(await mode(join(upload, "info.json")), 0o600);
      await storage.multipart.put("multi", uploadId, {
        number: 1,
        size: 5,
        sha256: HELLO_SHA256,
      }, streamOf("hello"));
      for (const marker of await readdir(join(upload, "parts"))) {
        assert.equal(await mode(join(upload, "parts", marker)), 0o600);
      }
      await storage.multipart.complete("multi", uploadId, [{
        number: 1,
        size: 5,
        sha256: HELLO_SHA256,
      }], {
        name: "m.txt",
        type: "text/plain",
        partSize: 5,
        size: 5,
        sha256: "x",
      });
      assert.equal(await mode(join(dir, "multi")), 0o700);
      assert.equal(await mode(join(dir, "multi", "meta.json")), 0o600);
    },
  );

  test("sweep() removes the folder of an upload whose process was killed, once idle, and not before", async () => {
    const dir = await tempDir();
    const partial = await crashWhileWriting(dir);
    const storage = fsStorage({ dir });
    assert.equal(await storage.sweep(), 0);
    assert.deepEqual(await named(dir, ".partial-"), [partial]);
    assert.equal(await storage.sweep({ now: Date.now() + 59_000 }), 0);
    assert.equal(await storage.sweep({ now: Date.now() + 61_000 }), 1);
    assert.deepEqual(await named(dir, ".partial-"), []);
    assert.equal(await storage.stat("crashed"), undefined);
    // The key is free.
    await storage.put("crashed", streamOf("hello"), INFO);
    assert.equal((await storage.stat("crashed"))?.size, 5);
  });

  test("sweep() keeps an upload that this process is writing, however idle", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const held = heldStream();
    const putting = storage.put("alive", held.stream, INFO);
    await until(async () => (await named(dir, ".partial-")).length > 0);
    assert.equal(await storage.sweep({ now: Date.now() + 24 * HOUR }), 0);
    held.release();
    await putting;
    assert.equal((await storage.stat("alive"))?.size, 5);
    assert.deepEqual(await named(dir, ".partial-"), []);
  });

  test("sweep() removes a multipart upload once it expired, and keeps one that has not or whose part is being written", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    const mp = storage.multipart;
    const info = { name: "m.txt", type: "text/plain", partSize: 5 };
    const now = Date.now();
    const live = await mp.create("live", {
      ...info,
      expiresAt: new Date(now + HOUR),
    });
    const expired = await mp.create("expired", {
      ...info,
      expiresAt: new Date(now - 1000),
    });
    const busy = await mp.create("busy", {
      ...info,
      expiresAt: new Date(now - 1000),
    });
    // Without an expiry, an upload lasts a day.
    const plain = await mp.create("plain", info);
    const held = heldStream();
    const part = { number: 1, size: 5, sha256: HELLO_SHA256 };
    const writing = mp.put("busy", busy, part, held.stream);
    await until(async () =>
      (await readdir(join(dir, `.upload-busy-${busy}`, "parts")))
        .includes("1.lock")
    );

    assert.equal(await storage.sweep(), 1);
    assert.equal(await mp.list("expired", expired), undefined);
    assert.deepEqual(await mp.list("live", live), []);
    assert.deepEqual(await mp.list("plain", plain), []);
    held.release();
    assert.deepEqual(await writing, part);
    assert.deepEqual(await mp.list("busy", busy), [part]);

    // Once the part is written, the expired upload goes; the others go
    // once they expire.
    assert.equal(await storage.sweep(), 1);
    assert.equal(await mp.list("busy", busy), undefined);
    assert.equal(await storage.sweep({ now: now + 23 * HOUR }), 1);
    assert.equal(await mp.list("live", live), undefined);
    assert.equal(await storage.sweep({ now: now + 25 * HOUR }), 1);
    assert.deepEqual(await named(dir, ".upload-"), []);
  });

  test("sweep() removes what a crash left while deleting or starting an upload, and nothing stored", async () => {
    const dir = await tempDir();
    const storage = fsStorage({ dir });
    await storage.put("kept", streamOf("hello"), INFO);
    await mkdir(join(dir, ".deleted-gone-0123abcd", "x"), { recursive: true });
    // An upload's folder whose info.json was never written.
    await mkdir(join(dir, ".upload-half-AAAA", "parts"), { recursive: true });
    assert.equal(await storage.sweep(), 1);
    assert.deepEqual(await named(dir, ".deleted-"), []);
    assert.equal(await storage.sweep({ now: Date.now() + 61_000 }), 1);
    assert.deepEqual((await readdir(dir)).sort(), ["kept"]);
    assert.equal((await storage.stat("kept"))?.size, 5);
  });

  test("sweep() finds nothing in a folder not made yet, and refuses a negative idle", async () => {
    const storage = fsStorage({ dir: join(await tempDir(), "none") });
    assert.equal(await storage.sweep(), 0);
    await assert.rejects(storage.sweep({ idle: -1 }), RangeError);
  });
});

/** Mounts a 2 MiB tmpfs for one command. */
function mountTmpfs(dir: string) {
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], {
    encoding: "utf8",
  });
}

/**
 * Why a tmpfs cannot be mounted here, or `undefined` if it can: found once,
 * so that the disk-full tests are skipped, and counted as skipped, where
 * they cannot run.
 */
const cannotMount: string | undefined = (() => {
  if (process.platform !== "linux") return "tmpfs is Linux's";
  const dir = mkdtempSync(join(tmpdir(), "fileurls-mount-"));
  try {
    const mounted = mountTmpfs(dir);
    if (mounted.status !== 0) {
      return `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${
        (mounted.stderr || mounted.error?.message || "").trim()
      }`;
    }
    spawnSync("umount", [dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Mounts a 2 MiB tmpfs for the test. */
async function smallDisk(): Promise<{ dir: string; unmount: () => void }> {
  const dir = await tempDir();
  const mounted = mountTmpfs(dir);
  if (mounted.status !== 0) {
    throw new Error(`Cannot mount a tmpfs: ${mounted.stderr.trim()}`);
  }
  return {
    dir,
    unmount: () => void spawnSync("umount", [dir]),
  };
}

const MIB = 1024 * 1024;
const TYPE = "application/octet-stream";

describe("fsStorage() on a full disk, through the route", () => {
  test(
    "a PUT that fills the disk answers 507, leaves nothing, and the URL works once there is room",
    { skip: cannotMount ?? false },
    async () => {
      const disk = await smallDisk();
      try {
        const filler = join(disk.dir, "filler");
        await writeFile(filler, new Uint8Array(MIB));
        const storage = fsStorage({ dir: join(disk.dir, "files") });
        const app = makeApp({ storage });
        const size = 1.5 * MIB;
        const { upload_url, id } = await create(app.app, {
          name: "big.bin",
          size,
          resource: "prediction",
          mime_type: TYPE,
        });
        const data = new Uint8Array(size).fill(1);
        const headers = { "content-type": TYPE };
        const res = await put(app.app, upload_url, data, headers);
        assert.deepEqual(await errorOf(res), [
          507,
          "insufficient_storage",
          'Cannot upload "big.bin": the storage is full',
        ]);
        assert.deepEqual(await readdir(join(disk.dir, "files")), []);
        assert.equal(await storage.stat(id), undefined);

        await rm(filler);
        const again = await put(app.app, upload_url, data, headers);
        assert.equal(again.status, 201, await again.clone().text());
        assert.equal((await storage.stat(id))?.size, size);
      } finally {
        disk.unmount();
      }
    },
  );

  test(
    "a part that fills the disk answers 507, is not stored, and can be sent again once there is room",
    { skip: cannotMount ?? false },
    async () => {
      const disk = await smallDisk();
      try {
        const filler = join(disk.dir, "filler");
        await writeFile(filler, new Uint8Array(MIB));
        const storage = fsStorage({ dir: join(disk.dir, "files") });
        const partSize = 1.5 * MIB;
        const app = makeApp({ storage, minPartSize: partSize });
        const started = await app.app.request(
          "http://localhost/v1/files/uploads",
          {
            method: "POST",
            headers: { authorization: `Bearer ${API_KEY}` },
            body: JSON.stringify({
              name: "big.bin",
              size: 2 * partSize,
              resource: "prediction",
              mime_type: TYPE,
              part_size: partSize,
            }),
          },
        );
        assert.equal(started.status, 201, await started.clone().text());
        const { upload_url } = await started.json();
        const data = new Uint8Array(partSize).fill(2);
        const sha256 = btoa(String.fromCharCode(
          ...new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
        ));
        const signed = await app.app.request(
          upload_url.replace("?", "/parts?"),
          {
            method: "POST",
            body: JSON.stringify({
              parts: [{ number: 1, size: partSize, sha256 }],
            }),
          },
        );
        assert.equal(signed.status, 200, await signed.clone().text());
        const [part] = (await signed.json()).parts;
        const res = await put(app.app, part.url, data, part.headers);
        assert.deepEqual(await errorOf(res), [
          507,
          "insufficient_storage",
          "Cannot upload part 1: the storage is full",
        ]);
        const status = await (await app.app.request(upload_url)).json();
        assert.deepEqual(status.parts, []);

        await rm(filler);
        const again = await put(app.app, part.url, data, part.headers);
        assert.equal(again.status, 200, await again.clone().text());
      } finally {
        disk.unmount();
      }
    },
  );

  test(
    "a part refused by a disk too full for its lock leaves no lock: it goes once there is room",
    { skip: cannotMount ?? false },
    async () => {
      const disk = await smallDisk();
      try {
        const storage = fsStorage({ dir: join(disk.dir, "files") });
        const mp = storage.multipart!;
        const size = 64 * 1024;
        const id = await mp.create("full", {
          name: "full.bin",
          type: TYPE,
          partSize: size,
          size,
        });
        // Every block taken: a new file can be made, but not written.
        const filler = join(disk.dir, "filler");
        await writeFile(filler, new Uint8Array(4 * MIB)).catch(() => {});
        const data = new Uint8Array(size).fill(3);
        const sha256 = btoa(String.fromCharCode(
          ...new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
        ));
        const part = { number: 1, size, sha256 };
        await assert.rejects(
          mp.put("full", id, part, new Blob([data]).stream()),
          StorageFullError,
        );
        const [folder] = await readdir(join(disk.dir, "files"));
        assert.deepEqual(
          await readdir(join(disk.dir, "files", folder, "parts")),
          [],
        );
        await rm(filler);
        assert.deepEqual(
          await mp.put("full", id, part, new Blob([data]).stream()),
          part,
        );
      } finally {
        disk.unmount();
      }
    },
  );

  test(
    "fsStorage() rejects with StorageFullError on a full disk, and keeps no partial",
    { skip: cannotMount ?? false },
    async () => {
      const disk = await smallDisk();
      try {
        const storage = fsStorage({ dir: join(disk.dir, "files") });
        const size = 3 * MIB;
        await assert.rejects(
          storage.put("big", new Blob([new Uint8Array(size)]).stream(), {
            name: "big.bin",
            size,
            type: TYPE,
          }),
          (error: Error) => {
            assert.ok(error instanceof StorageFullError);
            assert.equal(
              error.message,
              'Cannot store "big": the storage is full',
            );
            assert.equal((error.cause as { code?: string }).code, "ENOSPC");
            return true;
          },
        );
        assert.deepEqual(await readdir(join(disk.dir, "files")), []);
      } finally {
        disk.unmount();
      }
    },
  );
});
