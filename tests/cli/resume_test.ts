/**
 * `fileurls upload` of a large file, killed midway, then run again: it finds
 * its resume record and sends only the parts the server lacks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes, sha256 } from "../_data.ts";
import { startCutProxy } from "../_cut_proxy.ts";
import { startRouteApi } from "../_route_api.ts";
import {
  cleanEnv,
  cliCommand,
  ROOT,
  run,
  running,
  serve,
  type Serving,
} from "./_cli.ts";

const MiB = 1024 * 1024;

let dir: string;
let server: Serving;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-cli-resume-"));
  server = await serve(["--port", "0", "--data", join(dir, "data")]);
});
after(async () => {
  await server?.stop();
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 30_000;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The multipart uploads in progress in a data folder's `files`. */
async function uploadsIn(files: string): Promise<string[]> {
  return (await readdir(files).catch(() => [] as string[]))
    .filter((name) => name.startsWith(".upload-")).sort();
}

/**
 * Starts `fileurls upload --name NAME -` in 5 MiB parts to a server, its
 * standard input a pipe the test writes; what the uploader has not read
 * when it exits meets a closed pipe, which is no failure here.
 */
function uploadStdin(
  to: { url: string; apiKey: string },
  name: string,
  state: string,
) {
  const [command, ...prefix] = cliCommand();
  const child = spawn(command, [
    ...prefix,
    "upload",
    "--base-url",
    to.url,
    "--part-size",
    "5",
    "--name",
    name,
    "-",
  ], {
    cwd: ROOT,
    env: cleanEnv({
      FILEURLS_API_KEY: to.apiKey,
      FILEURLS_STATE_DIR: join(dir, state),
    }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  running.add(child);
  child.stdin!.on("error", () => {});
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code) => {
      running.delete(child);
      done(code);
    })
  );
  return { child, exited, stderr: () => stderr };
}

/**
 * Starts `fileurls upload` of a file in 5 MiB parts, with its resume
 * records in `state`, through a proxy where part 2 stalls.
 */
async function uploadStalling(file: string, state: string) {
  const proxy = await startCutProxy(
    server.port,
    /PUT [^ ]*\/parts\/2\?/,
    MiB,
    "stall",
  );
  const env = {
    FILEURLS_API_KEY: server.apiKey,
    FILEURLS_STATE_DIR: state,
  };
  const baseUrl = `${proxy.url}/v1`;
  const [command, ...prefix] = cliCommand();
  const first = spawn(
    command,
    [...prefix, "upload", "--base-url", baseUrl, "--part-size", "5", file],
    { cwd: ROOT, env: cleanEnv(env), stdio: "ignore" },
  );
  running.add(first);
  return { proxy, env, baseUrl, first };
}

/**
 * Starts an upload of standard input (11 MiB written, the pipe left open)
 * to the route behind an API that takes `ms` to make a multipart upload,
 * and resolves once the create request has arrived.
 */
async function stdinToSlowApi(ms: number, state: string) {
  let creating: () => void;
  const asked = new Promise<void>((done) => creating = done);
  const api = await startRouteApi({
    authorize: async (c) => {
      if (c.req.method === "POST") {
        creating();
        await new Promise((done) => setTimeout(done, ms));
      }
      return true;
    },
  });
  const piped = uploadStdin(
    { url: `${api.url}/v1`, apiKey: api.apiKey },
    "piped.bin",
    state,
  );
  piped.child.stdin!.write(randomBytes(11 * MiB));
  await asked;
  return { api, piped };
}

/**
 * Where `fileurls upload` keeps the resume record of `file` uploaded to
 * `baseUrl`: named for the file's absolute path, size, modification time
 * and the API.
 */
async function recordFile(
  state: string,
  file: string,
  baseUrl: string,
): Promise<string> {
  const info = await stat(file);
  const key = JSON.stringify([
    resolve(file),
    info.size,
    Math.floor(info.mtimeMs),
    baseUrl,
  ]);
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(key),
  );
  const name = Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("").slice(0, 32);
  return join(state, "uploads", `${name}.json`);
}

describe("fileurls upload, killed and run again", () => {
  test("resumes from its record and sends only the missing parts", async () => {
    // 5 MiB parts (the server's smallest): 3 parts.
    const data = randomBytes(12 * MiB + 5);
    const file = join(dir, "model.safetensors");
    await writeFile(file, data);
    const state = join(dir, "state");
    // Part 2 stalls on the way, as a network gone silent: the other parts
    // arrive, then the process is killed.
    const { proxy, env, baseUrl, first } = await uploadStalling(file, state);
    try {
      const records = join(state, "uploads");
      await waitFor(async () => {
        // The record, beside the lock file that keeps other runs off it.
        const saved = (await readdir(records).catch(() => []))
          .filter((name) => name.endsWith(".json"));
        const parts = proxy.lines().filter((l) => /\/parts\/[13]\?/.test(l));
        return saved.length === 1 && parts.length === 2 && proxy.cut();
      }, "parts 1 and 3, and the stalled part 2");
      // Let parts 1 and 3 land before the kill.
      await new Promise((resolve) => setTimeout(resolve, 500));
      first.kill("SIGKILL");
      await new Promise((resolve) => first.once("close", resolve));
      running.delete(first);

      const before = proxy.lines().length;
      const second = await run(
        ["upload", "--json", "--base-url", baseUrl, "--part-size", "5", file],
        { env },
      );
      assert.equal(second.code, 0, second.stderr);
      const sent = proxy.lines().slice(before).filter((l) =>
        l.startsWith("PUT")
      );
      assert.deepEqual(
        sent.map((l) => /\/parts\/(\d+)\?/.exec(l)?.[1]),
        ["2"],
        "only part 2 is sent again",
      );
      const result = JSON.parse(second.stdout);
      assert.equal(result.size, data.length);
      assert.match(result.sha256, /-3$/);
      const got = await fetch(
        result.download_url.replace(proxy.url, server.url.replace(/\/v1$/, "")),
      );
      assert.equal(
        await sha256(new Uint8Array(await got.arrayBuffer())),
        await sha256(data),
      );
      assert.deepEqual(
        await readdir(join(state, "uploads")),
        [],
        "record gone",
      );
    } finally {
      await proxy.close();
    }
  });

  test("a file changed since an interrupted upload starts over, and the earlier upload is dropped", async () => {
    const file = join(dir, "changing.bin");
    await writeFile(file, randomBytes(12 * MiB));
    const state = join(dir, "state-changing");
    const data = join(dir, "data", "files");
    const earlier = await uploadsIn(data);
    const { proxy, env, baseUrl, first } = await uploadStalling(file, state);
    try {
      await waitFor(async () => {
        const saved = (await readdir(join(state, "uploads")).catch(() => []))
          .filter((name) => name.endsWith(".json"));
        return saved.length === 1 && proxy.cut();
      }, "the record, and the stalled part 2");
      // Ctrl-C: the record stays for a rerun.
      const closed = new Promise((resolve) => first.once("close", resolve));
      process.kill(first.pid!, "SIGINT");
      await closed;
      running.delete(first);
      const started = (await uploadsIn(data)).filter((n) =>
        !earlier.includes(n)
      );
      assert.equal(
        started.length,
        1,
        "the interrupted upload is on the server",
      );

      // Changed: other bytes, another time. The rerun cannot resume it.
      await writeFile(file, randomBytes(12 * MiB));
      const second = await run(
        ["upload", "--base-url", baseUrl, "--part-size", "5", file],
        { env },
      );
      assert.equal(second.code, 0, second.stderr);
      // The earlier upload is gone from the server, and its record too.
      assert.deepEqual(
        (await uploadsIn(data)).filter((n) => started.includes(n)),
        [],
      );
      assert.deepEqual(await readdir(join(state, "uploads")), []);
    } finally {
      await proxy.close();
    }
  });

  for (
    const { mode, flags, busy } of [
      { mode: "", flags: [], busy: false },
      { mode: " (--no-resume)", flags: ["--no-resume"], busy: false },
      { mode: " (another run holds the file)", flags: [], busy: true },
    ]
  ) {
    test(`a file whose upload fails midway says whether a rerun resumes it, and one does${mode}`, async () => {
      const label = `failing${flags.length}${busy ? "-busy" : ""}`;
      const folder = join(dir, `data-${label}`);
      const own = await serve(["--port", "0", "--data", folder]);
      const file = join(dir, `${label}.bin`);
      const data = randomBytes(12 * MiB);
      await writeFile(file, data);
      const env = {
        FILEURLS_API_KEY: own.apiKey,
        FILEURLS_STATE_DIR: join(dir, `state-${label}`),
      };
      // Part 2 stalls; then the server goes away, and no retry reaches it.
      const proxy = await startCutProxy(
        own.port,
        /PUT [^ ]*\/parts\/2\?/,
        MiB,
        "stall",
      );
      let again: Serving | undefined;
      try {
        if (busy) {
          // This test's own process stands for a run uploading the file.
          const record = await recordFile(
            env.FILEURLS_STATE_DIR,
            file,
            `${proxy.url}/v1`,
          );
          await mkdir(dirname(record), { recursive: true });
          await writeFile(`${record}.lock`, String(process.pid));
        }
        const failing = run([
          "upload",
          ...flags,
          "--base-url",
          `${proxy.url}/v1`,
          "--part-size",
          "5",
          "--timeout",
          "1",
          file,
        ], { env });
        await waitFor(() => Promise.resolve(proxy.cut()), "the stalled part 2");
        await own.stop("SIGKILL");
        const failed = await failing;
        assert.equal(failed.code, 1, failed.stderr);
        const hint =
          /\nhint: run the same command again to resume it: the parts sent are kept\n$/;
        if (busy) assert.doesNotMatch(failed.stderr, hint);
        else assert.match(failed.stderr, hint);
        // The killed server left part 2's lock: aged as a crash's is after
        // 30 s, so that the rerun need not wait for it.
        const files = join(folder, "files");
        for (const upload of await uploadsIn(files)) {
          for (const name of await readdir(join(files, upload, "parts"))) {
            if (!name.endsWith(".lock")) continue;
            const old = new Date(Date.now() - 60_000);
            await utimes(join(files, upload, "parts", name), old, old);
          }
        }
        // Back on the same folder and port: the rerun finishes the upload.
        // What the record holds: the failed upload, unless another run held
        // the file.
        const uploads = join(env.FILEURLS_STATE_DIR, "uploads");
        const records = (await readdir(uploads)).filter((n) =>
          n.endsWith(".json")
        );
        assert.equal(records.length, busy ? 0 : 1);
        const failedUrl = busy
          ? undefined
          : JSON.parse(await readFile(join(uploads, records[0]), "utf8"))
            .uploadUrl;
        again = await serve(["--port", String(own.port), "--data", folder]);
        const rerun = await run([
          "upload",
          "--json",
          "--base-url",
          `${proxy.url}/v1`,
          "--part-size",
          "5",
          file,
        ], { env });
        assert.equal(rerun.code, 0, rerun.stderr);
        const result = JSON.parse(rerun.stdout);
        assert.equal(result.size, data.length);
        if (!busy) {
          assert.equal(new URL(failedUrl).pathname.split("/").pop(), result.id);
        }
      } finally {
        await again?.stop();
        await proxy.close();
      }
    });
  }

  test("Ctrl-C tells what finished and that a rerun resumes", async () => {
    const big = join(dir, "interrupted.bin");
    await writeFile(big, randomBytes(12 * MiB));
    const small = join(dir, "small.txt");
    await writeFile(small, "hello\n");
    const proxy = await startCutProxy(
      server.port,
      /PUT [^ ]*\/parts\/2\?/,
      MiB,
      "stall",
    );
    try {
      const [command, ...prefix] = cliCommand();
      const child = spawn(command, [
        ...prefix,
        "upload",
        "--base-url",
        `${proxy.url}/v1`,
        "--part-size",
        "5",
        big,
        small,
      ], {
        cwd: ROOT,
        env: cleanEnv({
          FILEURLS_API_KEY: server.apiKey,
          FILEURLS_STATE_DIR: join(dir, "state-interrupted"),
        }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      running.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (text) => stdout += text);
      child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
      const exited = new Promise<number | null>((done) =>
        child.once("exit", (code) => done(code))
      );
      // The small file goes in one PUT, while part 2 of the big one stalls.
      await waitFor(
        () =>
          Promise.resolve(
            proxy.cut() &&
              proxy.lines().some((l) => /^PUT \/v1\/files\/[^/?]+\?/.test(l)),
          ),
        "the small file's PUT and the stalled part",
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Deno's child.kill() reports a signal whatever the exit status.
      process.kill(child.pid!, "SIGINT");
      assert.equal(await exited, 130, stderr);
      running.delete(child);
      assert.equal(stdout, "", "the big file, first, never finished");
      assert.match(
        stderr,
        /interrupted; run the same command again to resume the files sent in parts\n/,
      );
      // The record stays for the rerun; the lock, with this process's id,
      // which another process may have later, does not.
      const left = await readdir(join(dir, "state-interrupted", "uploads"));
      assert.equal(left.filter((n) => n.endsWith(".json")).length, 1);
      assert.deepEqual(left.filter((n) => n.endsWith(".lock")), []);
      assert.match(
        stderr,
        new RegExp(
          `finished, not printed above[^\\n]*\\n  "${
            small.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          }": http://\\S+\\n`,
        ),
      );
    } finally {
      await proxy.close();
    }
  });

  test("Ctrl-C during an upload of standard input aborts it at the API: nothing stays", async () => {
    const piped = uploadStdin(server, "piped.bin", "state-stdin");
    const data = join(dir, "data", "files");
    // Those an earlier test left for a rerun.
    const earlier = await uploadsIn(data);
    // Two parts' worth, and standard input stays open: the upload is
    // under way, in parts, when Ctrl-C comes.
    piped.child.stdin!.write(randomBytes(11 * MiB));
    // Under way from the uploader's side too: a part of it is stored, so
    // the uploader has the upload's URL (not still waiting for it).
    await waitFor(async () => {
      const added = (await uploadsIn(data)).filter((name) =>
        !earlier.includes(name)
      );
      if (added.length !== 1) return false;
      const parts = await readdir(join(data, added[0], "parts"))
        .catch(() => [] as string[]);
      return parts.some((name) => !name.endsWith(".lock"));
    }, "a part of the upload of standard input");
    process.kill(piped.child.pid!, "SIGINT");
    assert.equal(await piped.exited, 130, piped.stderr());
    piped.child.stdin!.destroy();
    assert.equal(
      piped.stderr().trim().split("\n").at(-1),
      "fileurls upload: interrupted; the upload of standard input is aborted",
    );
    assert.deepEqual(await uploadsIn(data), earlier);
  });

  test("Ctrl-C while the API still makes the upload of standard input: it is deleted once made", async () => {
    // The API takes a second to make the upload; Ctrl-C comes meanwhile.
    const { api, piped } = await stdinToSlowApi(1_000, "state-creating");
    try {
      process.kill(piped.child.pid!, "SIGINT");
      assert.equal(await piped.exited, 130, piped.stderr());
      piped.child.stdin!.destroy();
      const created = api.requests.filter((r) =>
        r.method === "POST" && r.target.endsWith("/files/uploads")
      );
      assert.equal(created.length, 1, "one upload made");
      const deleted = api.requests.filter((r) => r.method === "DELETE");
      assert.equal(deleted.length, 1, "the upload made is deleted");
      const answer = await api.app.request(
        `http://localhost${deleted[0].target}`,
      );
      assert.equal(answer.status, 404, "the upload is gone");
      assert.equal(api.parts().length, 0, "no part is sent");
    } finally {
      await api.close();
    }
  });

  test("a second Ctrl-C exits at once, having said it was interrupted once", async () => {
    // The API takes 2 s to make the upload: the first Ctrl-C's clean-up
    // waits for it, the second does not.
    const { api, piped } = await stdinToSlowApi(2_000, "state-twice");
    try {
      const started = Date.now();
      process.kill(piped.child.pid!, "SIGINT");
      await new Promise((done) => setTimeout(done, 200));
      process.kill(piped.child.pid!, "SIGINT");
      assert.equal(await piped.exited, 130, piped.stderr());
      assert.ok(Date.now() - started < 1_500, "did not wait for the API");
      piped.child.stdin!.destroy();
      assert.equal(piped.stderr().match(/interrupted/g)?.length, 1);
    } finally {
      await api.close();
    }
  });

  test("an upload of standard input the server refuses midway is aborted at the API", async () => {
    const small = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "data-small"),
      "--max-size",
      "8MiB",
    ]);
    try {
      const piped = uploadStdin(small, "big.bin", "state-small");
      piped.child.stdin!.end(randomBytes(16 * MiB));
      assert.equal(await piped.exited, 1, piped.stderr());
      assert.match(piped.stderr(), /413/);
      assert.deepEqual(await uploadsIn(join(dir, "data-small", "files")), []);
    } finally {
      await small.stop();
    }
  });

  test("--no-resume starts over even with a record", async () => {
    const data = randomBytes(6 * MiB);
    const file = join(dir, "other.bin");
    await writeFile(file, data);
    const state = join(dir, "state2");
    const env = {
      FILEURLS_API_KEY: server.apiKey,
      FILEURLS_STATE_DIR: state,
    };
    const ran = await run(
      [
        "upload",
        "--base-url",
        server.url,
        "--part-size",
        "5",
        "--no-resume",
        file,
      ],
      { env },
    );
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(await readdir(join(state, "uploads")), []);
  });

  describe("its record", () => {
    const PART = 5 * MiB;

    /**
     * A file, an upload of it started through the API, and a record of that
     * upload in a fresh state folder, as a run that was killed leaves them
     * (in the record's documented form), the file's modification time a
     * fraction of a millisecond as Node and Bun tell it.
     */
    async function recorded(
      label: string,
      options: { name?: string; lifetime?: number } = {},
    ) {
      const data = randomBytes(PART + 1000);
      const file = join(dir, `${label}.bin`);
      await writeFile(file, data);
      await utimes(file, 1_700_000_000, 1_700_000_000.1234567);
      const started = await fetch(`${server.url}/files/uploads`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${server.apiKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          name: options.name ?? basename(file),
          size: data.length,
          resource: "prediction",
          mime_type: "application/octet-stream",
          part_size: PART,
          ...(options.lifetime ? { lifetime: options.lifetime } : {}),
        }),
      });
      assert.equal(started.status, 201);
      const upload = await started.json();
      const state = join(dir, `state-${label}`);
      const absolute = resolve(file);
      const mtimeMs = Math.floor((await stat(file)).mtimeMs);
      const record = await recordFile(state, file, server.url);
      await mkdir(join(state, "uploads"), { recursive: true });
      await writeFile(
        record,
        JSON.stringify({
          uploadUrl: upload.upload_url,
          path: absolute,
          size: data.length,
          mtimeMs,
          baseUrl: server.url,
          options: {
            name: options.name ?? basename(file),
            resource: "prediction",
            ...(options.lifetime ? { lifetime: options.lifetime } : {}),
          },
        }),
      );
      const upload1 = () =>
        run(["upload", "--json", "--base-url", server.url, file], {
          env: { FILEURLS_API_KEY: server.apiKey, FILEURLS_STATE_DIR: state },
        });
      return { data, file, upload, record, state, run: upload1 };
    }

    test("is found whatever runtime wrote it (whole milliseconds)", async () => {
      const t = await recorded("found");
      const ran = await t.run();
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(JSON.parse(ran.stdout).id, t.upload.id, "resumed");
      assert.deepEqual(await readdir(join(t.state, "uploads")), []);
    });

    test("of an upload started with other options starts over, and drops it at the API", async () => {
      const t = await recorded("renamed", { name: "first-name.bin" });
      const ran = await t.run();
      assert.equal(ran.code, 0, ran.stderr);
      const result = JSON.parse(ran.stdout);
      assert.notEqual(result.id, t.upload.id);
      assert.equal(result.name, "renamed.bin");
      assert.equal((await fetch(t.upload.upload_url)).status, 404, "aborted");
    });

    test("is kept from a second run while the first runs", async () => {
      const t = await recorded("busy");
      // This test's own process stands for a run uploading the file: the
      // second run uploads it on its own, and leaves the record alone.
      await writeFile(`${t.record}.lock`, String(process.pid));
      const alone = await t.run();
      assert.equal(alone.code, 0, alone.stderr);
      assert.notEqual(JSON.parse(alone.stdout).id, t.upload.id);
      assert.equal((await fetch(t.upload.upload_url)).status, 200, "kept");
      assert.deepEqual((await readdir(join(t.state, "uploads"))).sort(), [
        basename(t.record),
        `${basename(t.record)}.lock`,
      ]);
      // A lock whose process is gone is taken over.
      const gone = spawn(process.execPath, ["--version"], { stdio: "ignore" });
      await new Promise((done) => gone.once("close", done));
      await writeFile(`${t.record}.lock`, String(gone.pid));
      const ran = await t.run();
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(JSON.parse(ran.stdout).id, t.upload.id, "resumed");
      assert.deepEqual(await readdir(join(t.state, "uploads")), []);
    });

    test("held by another run: a failure drops this run's upload at the API, which nothing could resume", async () => {
      const data = randomBytes(PART * 2 + 10);
      const file = join(dir, "held-failing.bin");
      await writeFile(file, data);
      // Part 2 is refused for good.
      const api = await startRouteApi(
        {},
        (request) =>
          request.method === "PUT" && /\/parts\/2\?/.test(request.target)
            ? { status: 400, body: "refused here" }
            : undefined,
      );
      try {
        const state = join(dir, "state-held-failing");
        const baseUrl = api.baseUrl;
        const record = await recordFile(state, file, baseUrl);
        await mkdir(dirname(record), { recursive: true });
        await writeFile(`${record}.lock`, String(process.pid));
        const ran = await run([
          "upload",
          "--base-url",
          baseUrl,
          "--part-size",
          String(PART / MiB),
          file,
        ], {
          env: { FILEURLS_API_KEY: api.apiKey, FILEURLS_STATE_DIR: state },
        });
        assert.equal(ran.code, 1, ran.stderr);
        assert.match(ran.stderr, /400/);
        assert.equal(api.starts().length, 1);
        const deleted = api.requests.filter((r) => r.method === "DELETE");
        assert.equal(deleted.length, 1, "dropped at the API");
        assert.equal(
          (await fetch(`${api.url}${deleted[0].target}`)).status,
          404,
        );
      } finally {
        await api.close();
      }
    });

    test(
      "is taken over from a run that was killed but not yet reaped",
      { skip: process.platform !== "linux" && "zombies are read from /proc" },
      async () => {
        const t = await recorded("zombie");
        // A child of a process that never waits for it stays a zombie once
        // it ends: it still takes signals, as the killed run's may.
        const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], {
          stdio: ["ignore", "pipe", "ignore"],
        });
        try {
          const pid = Number(
            await new Promise<string>((done) =>
              parent.stdout!.once("data", (chunk) => done(String(chunk)))
            ),
          );
          for (let i = 0; i < 100; i++) {
            const stat = await readFile(`/proc/${pid}/stat`, "utf8");
            if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") break;
            await new Promise((done) => setTimeout(done, 20));
          }
          process.kill(pid, 0); // Takes signals.
          await writeFile(`${t.record}.lock`, String(pid));
          const ran = await t.run();
          assert.equal(ran.code, 0, ran.stderr);
          assert.equal(JSON.parse(ran.stdout).id, t.upload.id, "resumed");
          assert.deepEqual(await readdir(join(t.state, "uploads")), []);
        } finally {
          parent.kill();
        }
      },
    );
  });
});
