/**
 * How much memory the server needs to receive a large upload through
 * `filesRoute` with `fsStorage`, next to a bare server that only counts and
 * discards the bytes, measured in the same run.
 *
 * Each server runs in a process of its own, so the RSS measured is the
 * server's alone; the uploader writes an exact `Content-Length` body from one
 * reused 1 MiB buffer over a raw socket. On Linux the peak is the kernel's
 * own high-water mark (`VmHWM`, reset before each upload through
 * `/proc/PID/clear_refs`); elsewhere the server samples its RSS every 20 ms.
 *
 * ```sh
 * deno run -A bench/server_memory.ts              # 1 GiB, server on Deno
 * bun bench/server_memory.ts --size 256MiB        # server on Bun
 * deno run -A bench/server_memory.ts --servers deno,bun,node
 * BENCH_SIZE=2GiB deno run -A bench/server_memory.ts
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type Runtime = "deno" | "bun" | "node";
type Kind = "sink" | "route";

const SECRET = "bench secret bench secret bench secret";
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const args = process.argv.slice(2);

function flag(name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

function currentRuntime(): Runtime {
  const global = globalThis as Record<string, unknown>;
  if (global.Deno !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  return "node";
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/i.exec(
    text.trim(),
  );
  if (match === null) {
    throw new TypeError(
      `Cannot run the benchmark: size ${JSON.stringify(text)} is not e.g. 1GiB`,
    );
  }
  const units: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
  };
  return Math.round(Number(match[1]) * units[(match[2] ?? "b").toLowerCase()]);
}

// ------------------------------------------------------------ server side

/** Samples this process's RSS, for systems without `/proc`. */
function sampler(): { stats(): { rss: number; peak: number }; reset(): void } {
  let peak = 0;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
    return rss;
  };
  const timer = setInterval(sample, 20);
  (timer as { unref?: () => void }).unref?.();
  return {
    stats: () => ({ rss: sample(), peak }),
    reset: () => {
      peak = 0;
      sample();
    },
  };
}

async function serve(kind: Kind, dir: string): Promise<void> {
  const memory = sampler();
  let handler: (request: Request) => Response | Promise<Response>;
  if (kind === "route") {
    const { Hono } = await import("hono");
    const { filesRoute, fsStorage } = await import("../src/hono/mod.ts");
    const app = new Hono();
    app.route(
      "/v1",
      filesRoute({ storage: fsStorage({ dir }), secret: SECRET, public: true }),
    );
    handler = app.fetch;
  } else {
    handler = async (request) => {
      let bytes = 0;
      for await (const chunk of request.body ?? []) bytes += chunk.byteLength;
      return Response.json({ bytes }, { status: 201 });
    };
  }
  const fetch = (request: Request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/__stats") return Response.json(memory.stats());
    if (pathname === "/__reset") {
      memory.reset();
      return new Response(null, { status: 204 });
    }
    return handler(request);
  };
  const port = await listen(fetch);
  console.log(JSON.stringify({ port }));
}

async function listen(
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<number> {
  const global = globalThis as Record<string, unknown>;
  const runtime = currentRuntime();
  if (runtime === "deno") {
    const deno = global.Deno as {
      serve(
        options: { port: number; hostname: string; onListen(): void },
        handler: typeof fetch,
      ): { addr: { port: number } };
    };
    return deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      fetch,
    ).addr.port;
  }
  if (runtime === "bun") {
    const bun = global.Bun as {
      serve(options: {
        port: number;
        hostname: string;
        maxRequestBodySize: number;
        fetch: typeof fetch;
      }): { port: number };
    };
    return bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch,
    }).port;
  }
  const { serve } = await import("@hono/node-server");
  return await new Promise((done) => {
    serve(
      { fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false },
      (info) => done(info.port),
    );
  });
}

// ------------------------------------------------------------- bench side

interface Server {
  child: ChildProcess;
  origin: string;
}

function command(runtime: Runtime): string[] {
  const file = fileURLToPath(import.meta.url);
  const local = (name: string) => {
    const path = join(ROOT, "node_modules", ".bin", name);
    return existsSync(path) ? path : name;
  };
  const exec = (name: Runtime) =>
    name === currentRuntime() ? process.execPath : local(name);
  if (runtime === "deno") return [exec("deno"), "run", "-A", file];
  if (runtime === "bun") return [exec("bun"), file];
  return [exec("node"), "--experimental-strip-types", "--no-warnings", file];
}

async function start(runtime: Runtime, kind: Kind, dir: string) {
  const [bin, ...rest] = command(runtime);
  const child = spawn(bin, [...rest, "--serve", kind, "--dir", dir], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((done, fail) => {
    let text = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      const line = text.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) done(JSON.parse(line).port);
    });
    child.on(
      "exit",
      (code) =>
        fail(new Error(`Cannot start the ${kind} server: exit code ${code}`)),
    );
  });
  return { child, origin: `http://127.0.0.1:${port}` } satisfies Server;
}

function procStatus(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

async function memory(server: Server): Promise<{ rss: number; peak: number }> {
  const pid = server.child.pid!;
  const rss = procStatus(pid, "VmRSS");
  const peak = procStatus(pid, "VmHWM");
  if (rss !== undefined && peak !== undefined) return { rss, peak };
  return await (await fetch(`${server.origin}/__stats`)).json();
}

async function resetPeak(server: Server): Promise<void> {
  try {
    writeFileSync(`/proc/${server.child.pid}/clear_refs`, "5");
  } catch {
    // Not Linux: the server's own sampler keeps the peak.
  }
  await (await fetch(`${server.origin}/__reset`)).body?.cancel();
}

/** PUTs `size` bytes with an exact Content-Length over a raw socket. */
function upload(
  url: string,
  size: number,
  type: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const head = `PUT ${target.pathname}${target.search} HTTP/1.1\r\n` +
    `Host: ${target.host}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${size}\r\nConnection: close\r\n\r\n`;
  const chunk = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  return new Promise((done, fail) => {
    const socket = connect(Number(target.port), target.hostname);
    const received: Uint8Array[] = [];
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const part = size - sent >= chunk.byteLength
          ? chunk
          : chunk.subarray(0, size - sent);
        sent += part.byteLength;
        if (!socket.write(part)) return void socket.once("drain", pump);
      }
    };
    socket.on("connect", () => {
      socket.write(head);
      pump();
    });
    socket.on("data", (data: Uint8Array) => received.push(data));
    socket.on("error", fail);
    socket.on("end", () => {
      const text = new TextDecoder().decode(
        new Uint8Array(received.flatMap((part) => [...part])),
      );
      done({
        status: Number(text.split(" ")[1]),
        body: text.slice(text.indexOf("\r\n\r\n") + 4),
      });
      socket.destroy();
    });
  });
}

interface Row {
  server: string;
  bytes: number;
  mbps: number;
  before: number;
  peak: number;
  status: number;
}

async function measure(runtime: Runtime, kind: Kind, size: number) {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-bench-"));
  const server = await start(runtime, kind, dir);
  try {
    let url = `${server.origin}/sink`;
    const type = "application/octet-stream";
    let downloadUrl: string | undefined;
    if (kind === "route") {
      const res = await fetch(`${server.origin}/v1/files/urls`, {
        method: "POST",
        body: JSON.stringify({
          name: "big.bin",
          size,
          resource: "prediction",
          mime_type: type,
        }),
      });
      if (res.status !== 201) {
        throw new Error(
          `Cannot create URLs: ${res.status} ${await res.text()}`,
        );
      }
      const json = await res.json();
      url = json.upload_url;
      downloadUrl = json.download_url;
    }
    await new Promise((wait) => setTimeout(wait, 300));
    const before = (await memory(server)).rss;
    await resetPeak(server);
    const started = performance.now();
    const answer = await upload(url, size, type);
    const seconds = (performance.now() - started) / 1000;
    const { peak } = await memory(server);
    if (answer.status !== 201) {
      throw new Error(`Cannot upload: ${answer.status} ${answer.body}`);
    }
    if (downloadUrl !== undefined) {
      const head = await fetch(downloadUrl, { method: "HEAD" });
      if (head.headers.get("content-length") !== String(size)) {
        throw new Error("Cannot verify the upload: stored size differs");
      }
    }
    return {
      server: `${
        kind === "route" ? "filesRoute + fsStorage" : "bare sink"
      } (${runtime})`,
      bytes: size,
      mbps: size / 1e6 / seconds,
      before,
      peak: Math.max(peak, before),
      status: answer.status,
    } satisfies Row;
  } finally {
    server.child.kill();
    await new Promise((done) => server.child.once("exit", done));
    await rm(dir, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

async function main(): Promise<void> {
  const size = parseSize(
    flag("size") ?? process.env.BENCH_SIZE ?? String(1024 ** 3),
  );
  const runtimes = (flag("servers") ?? currentRuntime()).split(
    ",",
  ) as Runtime[];
  const rows: Row[] = [];
  for (const runtime of runtimes) {
    for (const kind of ["sink", "route"] as const) {
      rows.push(await measure(runtime, kind, size));
    }
  }
  console.log(
    `Server RSS while receiving ${mib(size)} MiB over loopback ` +
      `(uploader: ${currentRuntime()}, ${process.platform})\n`,
  );
  const table = [
    [
      "server",
      "bytes",
      "MB/s",
      "RSS before MiB",
      "RSS peak MiB",
      "growth MiB",
    ],
    ...rows.map((row) => [
      row.server,
      String(row.bytes),
      row.mbps.toFixed(0),
      mib(row.before),
      mib(row.peak),
      mib(row.peak - row.before),
    ]),
  ];
  const widths = table[0].map((_, i) =>
    Math.max(...table.map((r) => r[i].length))
  );
  for (const [index, row] of table.entries()) {
    console.log(
      `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`,
    );
    if (index === 0) {
      console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    }
  }
}

if (flag("serve") !== undefined) {
  await serve(flag("serve") as Kind, flag("dir")!);
} else {
  await main();
}
