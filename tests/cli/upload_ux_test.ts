/**
 * `fileurls upload` as people at a terminal meet it, against a real
 * `fileurls serve` on loopback: the version, short usage errors with
 * suggestions, errors that say what to do, the JSON lines, files uploaded
 * at once, and the progress display on a pseudo-terminal.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  cleanEnv,
  cliCommand,
  ROOT,
  run,
  running,
  serve,
  type Serving,
} from "./_cli.ts";
import { randomBytes, sha256 } from "../_data.ts";

let dir: string;
let server: Serving;
let small: string;
let big: string;
const bigBytes = randomBytes(3 * 1024 * 1024 + 5);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-upload-ux-"));
  small = join(dir, "a.txt");
  big = join(dir, "big.bin");
  await writeFile(small, "hello\n");
  await writeFile(big, bigBytes);
  server = await serve(["--port", "0", "--data", join(dir, "data")]);
});
after(async () => {
  await server?.stop();
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** A loopback port that nothing listens on. */
function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

const state = () => ({ FILEURLS_STATE_DIR: join(dir, "state") });

/**
 * The version in deno.json: in the repository, or above the folder inside it
 * where the npm build runs the tests on Node.
 */
async function projectVersion(): Promise<string> {
  for (let folder = ROOT;; folder = dirname(folder)) {
    try {
      return JSON.parse(await readFile(join(folder, "deno.json"), "utf8"))
        .version;
    } catch (error) {
      if (dirname(folder) === folder) throw error;
    }
  }
}

describe("fileurls at the command line", () => {
  test("--version and -V print the version of deno.json", async () => {
    const version = await projectVersion();
    for (const flag of ["--version", "-V"]) {
      const ran = await run([flag]);
      assert.equal(ran.code, 0);
      assert.equal(ran.stdout, `fileurls ${version}\n`);
      assert.equal(ran.stderr, "");
    }
  });

  test("a mistyped command or option exits 2 with a suggestion and a pointer to --help", async () => {
    const [command, option] = await Promise.all([
      run(["uplaod", "a.txt"]),
      run(["upload", "--jsn", "a.txt"]),
    ]);
    assert.equal(command.code, 2);
    assert.equal(
      command.stderr,
      'fileurls: unknown command "uplaod" (did you mean upload?)\n' +
        'Run "fileurls --help" for the usage.\n',
    );
    assert.equal(option.code, 2);
    assert.equal(
      option.stderr,
      "fileurls upload: unknown option --jsn (did you mean --json?)\n" +
        'Run "fileurls upload --help" for the usage.\n',
    );
  });

  test("a base URL without http:// or https:// exits 2 before any request", async () => {
    const ran = await run(["upload", "-u", "localhost:8787", "-k", "k", small]);
    assert.equal(ran.code, 2);
    assert.equal(
      ran.stderr,
      'fileurls upload: --base-url must start with http:// or https://, got "localhost:8787", as in http://localhost:8787\n' +
        'Run "fileurls upload --help" for the usage.\n',
    );
    const env = await run(["upload", small], {
      env: { FILEURLS_BASE_URL: "ftp://example.com/v1" },
    });
    assert.equal(env.code, 2);
    assert.match(
      env.stderr,
      /^fileurls upload: FILEURLS_BASE_URL must start with http:\/\/ or https:\/\/, got "ftp:\/\/example\.com\/v1"\n/,
    );
  });

  test("a 404 from a base URL without /v1 names the URL tried and hints at /v1", async () => {
    const origin = server.url.replace(/\/v1$/, "");
    const ran = await run(["upload", "-u", origin, "-k", server.apiKey, small]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, "");
    assert.equal(
      ran.stderr,
      `fileurls upload: Cannot upload "a.txt": server responded with 404: Cannot POST /files/urls: no such endpoint (${origin}/files/urls)\n` +
        `hint: is the base URL right? It usually ends in /v1, as in ${origin}/v1\n`,
    );
  });

  test("a 401 says where fileurls serve keeps its key, or that none was given", async () => {
    const [wrong, none] = await Promise.all([
      run(["upload", "-u", server.url, "-k", "wrong", small]),
      run(["upload", "-u", server.url, small]),
    ]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /: server responded with 401: .*\nhint: .*<data>\/api-key .*FILEURLS_API_KEY/,
    );
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /\nhint: no API key was given: pass --api-key \(-k\) or set FILEURLS_API_KEY\n$/,
    );
  });

  test("a refused connection names the URL and the cause", async () => {
    const port = await freePort();
    const ran = await run([
      "upload",
      "--base-url",
      `http://127.0.0.1:${port}/v1`,
      "--api-key",
      "k",
      small,
    ]);
    assert.equal(ran.code, 1);
    assert.match(
      ran.stderr,
      new RegExp(
        `^fileurls upload: Cannot upload "a\\.txt": cannot reach http://127\\.0\\.0\\.1:${port}/v1/files/urls: connection refused\\nhint: `,
      ),
    );
  });

  test("https to a plain http server names a TLS failure", async () => {
    const url = server.url.replace(/^http:/, "https:");
    const ran = await run(["upload", "-u", url, "-k", "k", small]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /: cannot reach https:\/\/\S+: TLS: .+\nhint: /);
  });

  test("--json prints id, expires_at and, for parts, sha256; lines keep the order of the files uploaded at once", async () => {
    const started = Date.now();
    const ran = await run(
      [
        "upload",
        "-j",
        "-c",
        "2",
        "--part-size",
        "1",
        "-u",
        server.url,
        "-k",
        server.apiKey,
        big,
        small,
      ],
      { env: state() },
    );
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stderr, "");
    const [first, second] = ran.stdout.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(first.file, big);
    assert.equal(second.file, small);
    assert.deepEqual(Object.keys(first), [
      "file",
      "id",
      "name",
      "size",
      "mime_type",
      "download_url",
      "expires_at",
      "sha256",
    ]);
    assert.match(first.id, /^[A-Za-z0-9_-]{22}$/);
    assert.match(first.sha256, /^[A-Za-z0-9+/]{43}=-\d+$/);
    assert.equal(second.sha256, undefined);
    for (const line of [first, second]) {
      const expires = Date.parse(line.expires_at);
      const exp = Number(new URL(line.download_url).searchParams.get("exp"));
      assert.equal(expires, exp * 1000);
      // fileurls serve's download URLs work for 24 hours.
      assert.ok(
        Math.abs(expires - started - 86400_000) < 60_000,
        line.expires_at,
      );
    }
    const got = new Uint8Array(
      await (await fetch(first.download_url)).arrayBuffer(),
    );
    assert.equal(await sha256(got), await sha256(bigBytes));
  });

  test("a file whose name the API refuses fails alone, its name shown escaped; the others go", async () => {
    const bidi = join(dir, "a\u202Egnp.exe");
    await writeFile(bidi, "x");
    const ran = await run(
      ["upload", "-j", "-u", server.url, "-k", server.apiKey, small, bidi, big],
      { env: state() },
    );
    assert.equal(ran.code, 1, ran.stderr);
    assert.deepEqual(
      ran.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).file),
      [small, big],
    );
    assert.match(
      ran.stderr,
      /Cannot upload "a\\u202Egnp\.exe": name "a\\u202Egnp\.exe" contains the format character U\+202E/,
    );
    assert.ok(!ran.stderr.includes("\u202E"), "no raw bidi control");
  });

  test("a refused --name is a usage error", async () => {
    const ran = await run(
      ["upload", "-u", server.url, "-k", server.apiKey, "-n", "a/b", small],
      { env: state() },
    );
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, /contains a slash/);
  });

  test("bad --concurrency or --part-concurrency exits 2", async () => {
    const ran = await run(["upload", "-c", "0", "-u", server.url, small]);
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /^fileurls upload: --concurrency must be a whole number from 1 to 64, got "0"\n/,
    );
    const parts = await run([
      "upload",
      "--part-concurrency",
      "x",
      "-u",
      server.url,
      small,
    ]);
    assert.equal(parts.code, 2);
  });
});

/** `script` from util-linux, which runs a command on a pseudo-terminal. */
const hasScript =
  spawnSync("script", ["-qfec", "true", "/dev/null"]).status === 0;

/** Runs the CLI on a pseudo-terminal; stdout and stderr both land in it. */
function runOnTerminal(
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [...cliCommand(), ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: ROOT,
    env: cleanEnv(state()),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (text) => out += text);
  child.stderr!.setEncoding("utf8").on("data", (text) => out += text);
  return new Promise((done) =>
    child.once("close", (code) => done({ code, out }))
  );
}

describe("fileurls upload on a terminal", {
  skip: hasScript ? false : "no script (util-linux) to make a pseudo-terminal",
}, () => {
  test("shows live progress, then a kept line with how long the link works", async () => {
    const ran = await runOnTerminal([
      "upload",
      "--part-size",
      "1",
      "-u",
      server.url,
      "-k",
      server.apiKey,
      big,
      small,
    ]);
    assert.equal(ran.code, 0, ran.out);
    assert.match(
      ran.out.replaceAll("\x1b", "ESC"),
      /\rESC\[2Kbig\.bin {2}[0-9.]+ [KM]?i?B \/ 3\.0 MiB {2}\d+%/,
    );
    assert.match(
      ran.out,
      /✓ big\.bin {2}3\.0 MiB in \d+ s, link expires in 24 h\r?\n/,
    );
    assert.match(
      ran.out,
      /✓ a\.txt {2}6 B in \d+ s, link expires in 24 h\r?\n/,
    );
    const urls = ran.out.match(/http:\/\/\S+\?exp=\S+/g)!;
    assert.equal(urls.length, 2);
    assert.match(urls[0], /\/big\.bin\?/);
    assert.match(urls[1], /\/a\.txt\?/);
  });

  test("--quiet shows nothing but the URLs", async () => {
    const ran = await runOnTerminal([
      "upload",
      "-q",
      "-u",
      server.url,
      "-k",
      server.apiKey,
      small,
    ]);
    assert.equal(ran.code, 0, ran.out);
    assert.match(ran.out, /^http:\/\/\S+\/a\.txt\?exp=\S+\r\n$/);
  });
});
