/**
 * How much memory the server needs to receive a large upload through
 * `filesRoute` with `fsStorage`, next to a bare server that only counts and
 * discards the bytes, measured in the same run.
 *
 * Each server runs in a process of its own, so the RSS measured is the
 * server's alone; the uploader writes an exact `Content-Length` body from one
 * reused 1 MiB buffer over a raw socket. Four rows per server runtime:
 *
 * - `sink`: a bare server that counts and drops the bytes, one `PUT`;
 * - `route`: `filesRoute` with `fsStorage`, one `PUT` of the whole file;
 * - `sink-parts`: the bare server, the file in parts (5 MiB, the client's default), 4 `PUT`s at a
 *   time, the baseline of the next row;
 * - `route-parts`: `filesRoute` with `fsStorage` receiving the file as a
 *   multipart upload, as the client sends it: `POST /files/uploads`, part
 *   URLs for each part's size and SHA-256, the parts 4 at a time, then
 *   `POST …/complete`. On Linux the peak is the kernel's
 * own high-water mark (`VmHWM`, reset before each upload through
 * `/proc/PID/clear_refs`); elsewhere the server samples its RSS every 20 ms.
 *
 * ```sh
 * deno run -A bench/server_memory.ts              # 1 GiB, server on Deno
 * bun bench/server_memory.ts --size 256MiB        # server on Bun
 * deno run -A bench/server_memory.ts --servers deno,bun,node
 * BENCH_SIZE=2GiB deno run -A bench/server_memory.ts
 * deno run -A bench/server_memory.ts --kinds sink-parts,route-parts \
 *   --part-size 16MiB --concurrency 2 --repeats 1
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
import { median, memoryAvailable, shuffled } from "./_bench.ts";

type Runtime = "deno" | "bun" | "node";
type Kind = "sink" | "route" | "sink-parts" | "route-parts";
const KINDS: Kind[] = ["sink", "route", "sink-parts", "route-parts"];

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
  if (kind === "route" || kind === "route-parts") {
    const { Hono } = await import("hono");
    const { filesRoute, fsStorage } = await import("../src/hono/mod.ts");
    const app = new Hono();
    app.route(
      "/v1",
      filesRoute({
        storage: fsStorage({ dir }),
        secret: SECRET,
        public: true,
        // Any size the bench is run with (the default is 1 GiB).
        maxSize: 5 * 1024 ** 4,
      }),
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
  kind: Kind;
  bytes: number;
  mbps: number;
  before: number;
  peak: number;
  status: number;
}

/** The bytes the raw uploader sends for a body of `length` bytes. */
function pattern(length: number): Uint8Array<ArrayBuffer> {
  const chunk = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += chunk.byteLength) {
    bytes.set(
      chunk.subarray(0, Math.min(chunk.byteLength, length - offset)),
      offset,
    );
  }
  return bytes;
}

async function sha256(length: number): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", pattern(length));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Runs `task` over `items`, `concurrency` at a time. */
async function pool<T>(
  items: T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) {
    throw new Error(
      `Cannot POST ${new URL(url).pathname}: ${res.status} ${text}`,
    );
  }
  return JSON.parse(text);
}

/** `…/{id}/parts?{same query}`: a sub-resource of a capability URL. */
function subresource(uploadUrl: string, name: string): string {
  const url = new URL(uploadUrl);
  url.pathname = `${url.pathname}/${name}`;
  return url.href;
}

interface Plan {
  partSize: number;
  concurrency: number;
}

/**
 * Sends `size` bytes as parts of `partSize`, `concurrency` at a time: to the
 * bare sink, or as the route's multipart upload. Answers the download URL.
 */
async function sendParts(
  server: Server,
  kind: Kind,
  size: number,
  plan: Plan,
  type: string,
  digests: Map<number, string>,
): Promise<string | undefined> {
  let partSize = plan.partSize;
  let uploadUrl: string | undefined;
  let downloadUrl: string | undefined;
  if (kind === "route-parts") {
    const started = await post(`${server.origin}/v1/files/uploads`, {
      name: "big.bin",
      size,
      resource: "prediction",
      mime_type: type,
      part_size: partSize,
    }) as { upload_url: string; download_url: string; part_size: number };
    uploadUrl = started.upload_url;
    downloadUrl = started.download_url;
    partSize = started.part_size;
  }
  const parts: { number: number; size: number; sha256: string }[] = [];
  for (let offset = 0; offset < size; offset += partSize) {
    const length = Math.min(partSize, size - offset);
    if (!digests.has(length)) digests.set(length, await sha256(length));
    parts.push({
      number: parts.length + 1,
      size: length,
      sha256: digests.get(length)!,
    });
  }
  const urls: string[] = [];
  for (let i = 0; i < parts.length; i += 100) {
    if (uploadUrl === undefined) {
      urls.push(
        ...parts.slice(i, i + 100).map((p) =>
          `${server.origin}/sink/${p.number}`
        ),
      );
      continue;
    }
    const signed = await post(subresource(uploadUrl, "parts"), {
      parts: parts.slice(i, i + 100),
    }) as { parts: { url: string }[] };
    urls.push(...signed.parts.map((p) => p.url));
  }
  await pool(parts, plan.concurrency, async (part) => {
    const answer = await upload(urls[part.number - 1], part.size, type);
    if (answer.status !== 200 && answer.status !== 201) {
      throw new Error(
        `Cannot upload part ${part.number}: ${answer.status} ${answer.body}`,
      );
    }
  });
  if (uploadUrl !== undefined) {
    const done = await post(subresource(uploadUrl, "complete"), {
      parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
    }) as { size: number };
    if (done.size !== size) {
      throw new Error(`Cannot complete: ${done.size} bytes, not ${size}`);
    }
  }
  return downloadUrl;
}

const LABELS: Record<Kind, string> = {
  sink: "bare sink, 1 PUT",
  route: "filesRoute + fsStorage, 1 PUT",
  "sink-parts": "bare sink, parts",
  "route-parts": "filesRoute + fsStorage, multipart",
};

async function measure(
  runtime: Runtime,
  kind: Kind,
  size: number,
  plan: Plan,
  digests: Map<number, string>,
) {
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
    let status = 201;
    if (kind === "sink" || kind === "route") {
      const answer = await upload(url, size, type);
      if (answer.status !== 201) {
        throw new Error(`Cannot upload: ${answer.status} ${answer.body}`);
      }
      status = answer.status;
    } else {
      downloadUrl = await sendParts(server, kind, size, plan, type, digests);
    }
    const seconds = (performance.now() - started) / 1000;
    const { peak } = await memory(server);
    if (downloadUrl !== undefined) {
      const head = await fetch(downloadUrl, { method: "HEAD" });
      if (head.headers.get("content-length") !== String(size)) {
        throw new Error("Cannot verify the upload: stored size differs");
      }
    }
    const how = kind.endsWith("parts")
      ? ` (${mib(plan.partSize).replace(/\.0$/, "")} MiB × ${plan.concurrency})`
      : "";
    return {
      server: `${LABELS[kind]}${how} (${runtime})`,
      kind,
      bytes: size,
      mbps: size / 1e6 / seconds,
      before,
      peak: Math.max(peak, before),
      status,
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

/** The most a route's RSS may grow while it receives a file. */
const GROWTH_TARGET = 64 * 1024 * 1024;

async function main(): Promise<void> {
  const size = parseSize(
    flag("size") ?? process.env.BENCH_SIZE ?? String(1024 ** 3),
  );
  const runtimes = (flag("servers") ?? currentRuntime()).split(
    ",",
  ) as Runtime[];
  const kinds = (flag("kinds") ?? KINDS.join(",")).split(",") as Kind[];
  const plan = {
    partSize: parseSize(flag("part-size") ?? "5MiB"),
    concurrency: Number(flag("concurrency") ?? 4),
  };
  const repeats = Number(flag("repeats") ?? 3);
  // The file in the page cache, and the copy each server stores.
  const memory = memoryAvailable(3 * size);
  const digests = new Map<number, string>();
  const runs = new Map<string, Row[]>();
  for (let repeat = 0; repeat < repeats; repeat++) {
    // A new order each repeat, so that no row always runs first.
    const jobs = runtimes.flatMap((runtime) =>
      kinds.map((kind) => ({ runtime, kind }))
    );
    const order = shuffled(jobs, repeat + 1);
    for (const { runtime, kind } of order) {
      const row = await measure(runtime, kind, size, plan, digests);
      runs.set(row.server, [...runs.get(row.server) ?? [], row]);
    }
  }
  const rows = runtimes.flatMap((runtime) =>
    kinds.map((kind) =>
      [...runs.values()].find((list) =>
        list[0].kind === kind && list[0].server.endsWith(`(${runtime})`)
      )!
    )
  );
  console.log(
    `Server RSS while receiving ${
      mib(size)
    } MiB over loopback, median of ${repeats} ` +
      `(uploader: ${currentRuntime()}, ${process.platform}; ${memory})\n`,
  );
  const table = [
    [
      "server",
      "bytes",
      "MB/s",
      "RSS before MiB",
      "RSS peak MiB",
      "growth MiB",
      "growth spread",
      "target (route: ≤ 64 MiB growth)",
    ],
    ...rows.map((list) => {
      const growth = median(list.map((row) => row.peak - row.before));
      const growths = list.map((row) => row.peak - row.before);
      return [
        list[0].server,
        String(list[0].bytes),
        median(list.map((row) => row.mbps)).toFixed(0),
        mib(median(list.map((row) => row.before))),
        mib(median(list.map((row) => row.peak))),
        mib(growth),
        `${mib(Math.min(...growths))}–${mib(Math.max(...growths))}`,
        list[0].kind.startsWith("route")
          ? growth <= GROWTH_TARGET ? "yes" : "no"
          : "baseline",
      ];
    }),
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
