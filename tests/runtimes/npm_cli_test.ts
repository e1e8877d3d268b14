import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";

// The npm build sets this to the packed tarball when it runs the tests on
// Node; elsewhere there is no package to run.
const tarball = process.env.FILEURLS_NPM_TARBALL;

/** Runs `npx fileurls ...` from the tarball, with this Node first on PATH. */
function npx(args: string[], cwd: string): ChildProcess {
  return spawn(
    "npx",
    ["--yes", "--prefer-offline", "--package", tarball!, "fileurls", ...args],
    {
      cwd,
      detached: true,
      env: {
        ...process.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
        FILEURLS_API_KEY: "",
        FILEURLS_BASE_URL: "",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
}

// Registered where the npm build runs the tests, which hands over the tarball.
(tarball ? describe : () => {})(
  "the fileurls command of the npm package",
  () => {
    let dir: string;
    let server: ChildProcess | undefined;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "fileurls-npx-"));
    });
    after(async () => {
      if (server?.pid !== undefined && server.exitCode === null) {
        const exited = new Promise((done) => server!.once("exit", done));
        process.kill(-server.pid, "SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    });

    test("npx fileurls serve, then npx fileurls upload, serves the file back", async () => {
      server = npx(["serve", "--port", "0", "--data", join(dir, "data")], dir);
      let output = "";
      const started = await new Promise<{ url: string; key: string }>(
        (resolve, reject) => {
          server!.once(
            "exit",
            (code) => reject(new Error(`serve exited ${code}`)),
          );
          server!.stdout!.setEncoding("utf8");
          server!.stdout!.on("data", (chunk: string) => {
            output += chunk;
            const url = /serving (http:\S+)/.exec(output)?.[1];
            const key = /API key: (\S+)/.exec(output)?.[1];
            if (url && key) resolve({ url, key });
          });
        },
      );
      const file = join(dir, "notes.txt");
      const text = "fileurls from the npm package\n";
      await writeFile(file, text);
      const upload = npx(
        ["upload", file, "--base-url", started.url, "--api-key", started.key],
        dir,
      );
      let printed = "";
      upload.stdout!.setEncoding("utf8");
      upload.stdout!.on("data", (chunk: string) => printed += chunk);
      const code = await new Promise((done) => upload.once("exit", done));
      assert.equal(code, 0);
      const lines = printed.trim().split("\n");
      assert.equal(lines.length, 1);
      assert.match(lines[0], /\/notes\.txt\?/);
      const download = await fetch(lines[0]);
      assert.equal(download.status, 200);
      assert.equal(download.headers.get("content-type"), "text/plain");
      assert.equal(await download.text(), text);
    });
  },
);

// An ES module package: `require()` loads it where Node loads ES modules
// that way (20.19, 22.12 and later), and says why it cannot elsewhere.
(tarball ? describe : () => {})("require() of the npm package", () => {
  test("loads every entry point, or fails with ERR_REQUIRE_ESM", () => {
    const script = `
      const client = require("fileurls");
      const hono = require("fileurls/hono");
      console.log(typeof client.Client, typeof client.uploadTo, typeof hono.filesRoute);
    `;
    const child = spawnSync(process.execPath, ["-e", script], {
      encoding: "utf8",
    });
    const features = process.features as { require_module?: boolean };
    if (features.require_module) {
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stdout.trim(), "function function function");
    } else {
      assert.notEqual(child.status, 0);
      assert.match(child.stderr, /ERR_REQUIRE_ESM/);
    }
  });
});
