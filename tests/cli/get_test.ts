/**
 * `fileurls get` as a process of the current runtime against a stand-in API
 * whose download breaks off or stalls: the file appears whole or not at
 * all. Under Node the built package's CLI runs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cleanEnv, cliCommand, run, running } from "./_cli.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-get-"));
});
after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** A new empty folder under the test's own. */
async function folder(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

/**
 * A stand-in API with one 1 MB file, named `name`, whose download sends
 * 300 KB and then breaks off, or stalls until the client goes.
 */
async function brokenDownloads(
  mode: "break" | "stall",
  name = "big.bin",
): Promise<{
  url: string;
  sent: Promise<void>;
  close(): Promise<void>;
}> {
  const size = 1_000_000;
  let onSent: () => void;
  const sent = new Promise<void>((done) => onSent = done);
  const server: Server = createServer((request, response) => {
    const json = (body: unknown) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (request.url === "/v1/files/big") {
      return json({
        id: "big",
        name,
        size,
        mime_type: "application/octet-stream",
        resource: "prediction",
        uploaded_at: new Date().toISOString(),
        expires_at: null,
      });
    }
    if (request.url === "/v1/files/big/download_url") {
      return json({
        download_url: `${origin}/download`,
        expires_at: new Date(Date.now() + 60_000).toISOString(),
      });
    }
    response.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": String(size),
    });
    response.write(new Uint8Array(300_000), () => {
      onSent();
      if (mode === "break") setTimeout(() => response.destroy(), 50);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    sent,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

describe("fileurls get against a stand-in API", () => {
  test("a name from the server that is not a plain file name is not written under, nor a folder that is not there", async () => {
    const api = await brokenDownloads("break", "../evil.bin");
    try {
      const cwd = await folder("unsafe");
      const env = { FILEURLS_BASE_URL: api.url, FILEURLS_API_KEY: "k" };
      const ran = await run(["get", "big"], { env, cwd });
      assert.equal(ran.code, 1);
      assert.equal(
        ran.stderr,
        'fileurls get: Cannot download "../evil.bin": its name contains a slash or backslash, so it is not written under it: pass --output FILE\n',
      );
      const missing = await run(["get", "big", "-o", "nowhere/x.bin"], {
        env,
        cwd,
      });
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr,
        'fileurls get: Cannot download "../evil.bin": cannot write "nowhere/x.bin": no such folder\n',
      );
      assert.deepEqual(await readdir(cwd), []);
      assert.deepEqual(
        await readdir(join(cwd, "..")).then((names) =>
          names.filter((name) => name.includes("evil"))
        ),
        [],
      );
    } finally {
      await api.close();
    }
  });

  test("a download that breaks off exits 1, and the folder stays empty", async () => {
    const api = await brokenDownloads("break");
    try {
      const cwd = await folder("broken");
      const ran = await run(["get", "big"], {
        env: { FILEURLS_BASE_URL: api.url, FILEURLS_API_KEY: "k" },
        cwd,
      });
      assert.equal(ran.code, 1);
      assert.equal(ran.stdout, "");
      assert.match(ran.stderr, /^fileurls get: Cannot download "big\.bin": /);
      assert.deepEqual(await readdir(cwd), []);
    } finally {
      await api.close();
    }
  });

  test("SIGINT midway exits 130, and the folder stays empty", {
    skip: process.platform === "win32",
  }, async () => {
    const api = await brokenDownloads("stall");
    try {
      const cwd = await folder("interrupted");
      const [command, ...prefix] = cliCommand();
      const child = spawn(command, [...prefix, "get", "big"], {
        cwd,
        env: cleanEnv({ FILEURLS_BASE_URL: api.url, FILEURLS_API_KEY: "k" }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      running.add(child);
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
      const exited = new Promise<number | null>((done) =>
        child.once("exit", (code) => {
          running.delete(child);
          done(code);
        })
      );
      await api.sent;
      // The temporary file is there while the bytes come.
      for (let i = 0; i < 100 && (await readdir(cwd)).length === 0; i++) {
        await new Promise((done) => setTimeout(done, 20));
      }
      assert.match(
        (await readdir(cwd)).join(),
        /^\.big\.bin\..*\.fileurls-part$/,
      );
      process.kill(child.pid!, "SIGINT");
      assert.equal(await exited, 130, stderr);
      assert.equal(stderr, "fileurls get: interrupted\n");
      assert.deepEqual(await readdir(cwd), []);
    } finally {
      await api.close();
    }
  });
});
