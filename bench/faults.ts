/**
 * The fault suite: attacks on `fileurls serve`, on loopback only, bounded in
 * count and time, on each runtime; prints one row per attack and runtime
 * with what happened and whether the server recovered (a full upload and
 * download of 1 MiB, SHA-256 checked, right after the attack).
 *
 * ```sh
 * deno run -A bench/faults.ts                       # every attack, Deno, Bun, Node
 * deno run -A bench/faults.ts --runtimes deno --timeout 5
 * deno run -A bench/faults.ts --attacks slowloris,disk-full
 * ```
 *
 * `--timeout` is the server's `--timeout` (default 30 s, as `fileurls serve`).
 * Attacks (`--attacks`, comma-separated):
 *
 * - `slowloris`: 100 connections that send nothing, 100 that drip a request
 *   head at 1 byte / 5 s, 100 uploads that drip their body at 1 byte / 5 s,
 *   100 idle keep-alive connections, an upload that stalls half-way then is
 *   retried, and one steady upload at 1 KiB/s for 1.5 × the timeout;
 * - `descriptors`: the server under `prlimit --nofile=128:128`, 150 idle
 *   connections held, then released;
 * - `disk-full`: `--data` on a 8 MiB tmpfs, a 16 MiB upload (needs root to
 *   mount; skipped, saying why, otherwise);
 * - `kill-9`: SIGKILL mid-upload, then a restart on the same `--data`;
 * - `sigterm`: SIGTERM mid-upload (the upload drips, so it cannot finish in
 *   the grace time);
 * - `concurrent`: 200 uploads of 1 MiB at once, each downloaded and checked;
 * - `endless-answer`: the client (`files.upload()`, in a process of each
 *   runtime) against an API whose answer never ends: its error and peak RSS.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  cleanUp,
  forNode,
  measure,
  option,
  ROOT,
  runScript,
  type Runtime,
  table,
} from "./_bench.ts";
import {
  openSlow,
  putHead,
  type SlowConnection,
} from "../tests/_slow_client.ts";
import { postUrls } from "../tests/cli/_cli.ts";

const RUNTIMES = option("runtimes", "deno,bun,node").split(",") as Runtime[];
const TIMEOUT_S = Number(option("timeout", "30"));
const ATTACKS = option(
  "attacks",
  "slowloris,descriptors,disk-full,kill-9,sigterm,concurrent,endless-answer",
).split(",");
const CLI = join(ROOT, "src", "cli", "main.ts");

/** A row of the table. */
interface Row {
  attack: string;
  runtime: Runtime;
  outcome: string;
  recovered: string;
}

/** A running `fileurls serve`. */
interface Serving {
  child: ChildProcess;
  url: string;
  port: number;
  apiKey: string;
  data: string;
  stderr(): string;
  exited: Promise<number | null>;
}

let nodeCli: string | undefined;

async function serve(
  runtime: Runtime,
  data: string,
  wrapper: string[] = [],
  port = 0,
): Promise<Serving> {
  const script = runtime === "node" ? (nodeCli ??= await forNode(CLI)) : CLI;
  const command = [
    ...wrapper,
    ...runScript(runtime, script),
    "serve",
    "--port",
    String(port),
    "--data",
    data,
    "--timeout",
    String(TIMEOUT_S),
  ];
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FILEURLS_API_KEY: "", FILEURLS_SECRET: "" },
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code) => done(code))
  );
  return await new Promise((ready, failed) => {
    exited.then((code) =>
      failed(new Error(`fileurls serve exited with ${code}: ${stderr}`))
    );
    child.stdout!.setEncoding("utf8").on("data", (text) => {
      stdout += text;
      const url = /^fileurls serving (\S+)$/m.exec(stdout)?.[1];
      const apiKey = /^API key: (\S+)$/m.exec(stdout)?.[1];
      if (url === undefined || apiKey === undefined) return;
      ready({
        child,
        url,
        port: Number(new URL(url).port),
        apiKey,
        data,
        stderr: () => stderr,
        exited,
      });
    });
  });
}

async function stop(server: Serving): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGKILL");
    await server.exited.catch(() => {});
  }
}

interface Urls {
  upload_url: string;
  download_url: string;
}

async function createUrls(
  server: Serving,
  name: string,
  size: number,
): Promise<Urls> {
  const res = await postUrls(
    server,
    {
      name,
      size,
      mime_type: "application/octet-stream",
    },
    {},
    AbortSignal.timeout(10_000),
  );
  if (res.status !== 201) {
    throw new Error(`POST /files/urls: ${res.status} ${await res.text()}`);
  }
  return await res.json();
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Uploads and downloads `bytes`; returns what went wrong, or `undefined`. */
async function roundTrip(
  server: Serving,
  bytes: Uint8Array,
  name = "check.bin",
): Promise<string | undefined> {
  try {
    const urls = await createUrls(server, name, bytes.byteLength);
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: bytes as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(30_000),
    });
    if (put.status !== 201) return `PUT ${put.status} ${await put.text()}`;
    const got = new Uint8Array(
      await (await fetch(urls.download_url, {
        signal: AbortSignal.timeout(30_000),
      })).arrayBuffer(),
    );
    return sha256(got) === sha256(bytes) ? undefined : "SHA-256 differs";
  } catch (error) {
    return describe(error);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** "yes (…)" once a round trip succeeds within `withinMs`, else "no: …". */
async function recovered(server: Serving, withinMs = 15_000): Promise<string> {
  const start = Date.now();
  const bytes = randomBytes(1024 * 1024);
  let problem: string | undefined = "not tried";
  while (Date.now() - start < withinMs) {
    if (server.child.exitCode !== null) {
      return `no: exited with ${server.child.exitCode}`;
    }
    problem = await roundTrip(server, bytes);
    if (problem === undefined) {
      return `yes, ${((Date.now() - start) / 1000).toFixed(1)} s`;
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  return `no: ${problem}`;
}

async function partials(data: string): Promise<number> {
  try {
    return (await readdir(join(data, "files"))).filter((name) =>
      name.startsWith(".partial")
    ).length;
  } catch {
    return 0;
  }
}

function seconds(values: number[]): string {
  if (values.length === 0) return "none";
  const low = Math.min(...values) / 1000;
  const high = Math.max(...values) / 1000;
  return low.toFixed(1) === high.toFixed(1)
    ? `${low.toFixed(1)} s`
    : `${low.toFixed(1)}–${high.toFixed(1)} s`;
}

/** Waits for every connection to close, or `limitMs`; closes the rest. */
async function closings(
  connections: SlowConnection[],
  limitMs: number,
): Promise<{ closed: number[]; open: number; statuses: string[] }> {
  const closed: number[] = [];
  const statuses: string[] = [];
  let open = 0;
  await Promise.all(connections.map(async (connection) => {
    try {
      const { ms, received } = await connection.closedWithin(limitMs);
      closed.push(ms);
      const status = /^HTTP\/1\.1 (\d+)/.exec(received)?.[1];
      if (status !== undefined) statuses.push(status);
    } catch {
      open++;
    }
  }));
  return { closed, open, statuses };
}

function statusSummary(statuses: string[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) {
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${n}×${status}`).join(", ");
}

async function slowloris(runtime: Runtime, dir: string): Promise<Row[]> {
  const server = await serve(runtime, join(dir, "slowloris"));
  const limit = TIMEOUT_S * 1000 * 2 + 10_000;
  const rows: Row[] = [];
  try {
    const many = (n: number) =>
      Promise.all(Array.from({ length: n }, () => openSlow(server.port)));
    const silent = await many(100);
    const heads = await many(100);
    for (const head of heads) {
      head.drip(
        "GET /v1/files/urls HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaa\r\n\r\n",
        5000,
      );
    }
    const bodies = await many(100);
    await Promise.all(bodies.map(async (body, i) => {
      const urls = await createUrls(server, `drip-${i}.bin`, 1024);
      body.write(putHead(urls.upload_url, 1024));
      body.drip(new Uint8Array(1024), 5000);
    }));
    const idle = await many(100);
    for (const connection of idle) {
      connection.write("GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    const size = 1024 * 1024;
    const stalledUrls = await createUrls(server, "stalled.bin", size);
    const stalled = await openSlow(server.port);
    stalled.write(putHead(stalledUrls.upload_url, size));
    stalled.write(new Uint8Array(size / 2));
    // 1 KiB/s for 1.5 × the timeout.
    const steadySize = Math.ceil(TIMEOUT_S * 1.5) * 1024;
    const steadyUrls = await createUrls(server, "steady.bin", steadySize);
    const steady = await openSlow(server.port);
    steady.write(putHead(steadyUrls.upload_url, steadySize));
    steady.drip(new Uint8Array(steadySize).fill(1), 1000, 1024);

    const [a, b, c, d, e, f] = await Promise.all([
      closings(silent, limit),
      closings(heads, limit),
      closings(bodies, limit),
      closings(idle, limit),
      closings([stalled], limit),
      closings([steady], TIMEOUT_S * 1500 + limit),
    ]);
    const retry = await fetch(stalledUrls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(size),
    });
    const left = await partials(server.data);
    const back = await recovered(server);
    const row = (attack: string, outcome: string) =>
      rows.push({ attack, runtime, outcome, recovered: back });
    const report = (x: typeof a) =>
      `${x.closed.length} closed after ${seconds(x.closed)}` +
      (x.open > 0 ? `, ${x.open} still open at ${limit / 1000} s` : "") +
      (x.statuses.length > 0 ? ` (${statusSummary(x.statuses)})` : "");
    row("silent connections ×100", report(a));
    row("request head at 1 B/5 s ×100", report(b));
    row("upload body at 1 B/5 s ×100", `${report(c)}; ${left} partials left`);
    row("idle keep-alive ×100", report(d));
    row(
      "upload stalls half-way, then retried",
      `${report(e)}; retry ${retry.status}`,
    );
    row(
      `steady upload at 1 KiB/s for ${Math.ceil(TIMEOUT_S * 1.5)} s`,
      f.statuses[0] === "201"
        ? `201, not cut (closed as idle after ${seconds(f.closed)})`
        : report(f),
    );
  } finally {
    await stop(server);
  }
  return rows;
}

async function descriptors(runtime: Runtime, dir: string): Promise<Row[]> {
  const server = await serve(runtime, join(dir, "descriptors"), [
    "prlimit",
    "--nofile=128:128",
  ]);
  try {
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: 150 }, () =>
        new Promise<void>((done) => {
          const socket = connect(server.port, "127.0.0.1");
          socket.on("error", () => done());
          socket.once("connect", () => done());
          sockets.push(socket);
        })),
    );
    await new Promise((done) => setTimeout(done, 1000));
    const during = await roundTrip(server, randomBytes(1024));
    for (const socket of sockets) socket.destroy();
    const back = await recovered(server);
    return [{
      attack: "150 idle connections, 128 descriptors",
      runtime,
      outcome: `${
        server.child.exitCode === null
          ? "stays up"
          : `exited ${server.child.exitCode}`
      }; while held: ${during === undefined ? "served" : "refused"}`,
      recovered: back,
    }];
  } finally {
    await stop(server);
  }
}

async function diskFull(runtime: Runtime, dir: string): Promise<Row[]> {
  const data = join(dir, "disk-full");
  await mkdir(data, { recursive: true });
  const mounted = spawnSync("mount", [
    "-t",
    "tmpfs",
    "-o",
    "size=8m",
    "tmpfs",
    data,
  ]);
  if (mounted.status !== 0) {
    return [{
      attack: "disk full (8 MiB tmpfs)",
      runtime,
      outcome: `skipped: cannot mount a tmpfs (${
        mounted.stderr.toString().trim() || "not root"
      })`,
      recovered: "-",
    }];
  }
  let server: Serving | undefined;
  try {
    server = await serve(runtime, data);
    const size = 16 * 1024 * 1024;
    const urls = await createUrls(server, "big.bin", size);
    const res = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(size),
    }).catch((error) => error as Error);
    const answer = res instanceof Error
      ? `connection error: ${res.message}`
      : `${res.status} ${
        (await res.json().catch(() => ({})))?.error?.type ?? ""
      }`;
    const left = await partials(data);
    return [{
      attack: "16 MiB upload, 8 MiB tmpfs",
      runtime,
      outcome: `${answer}; ${left} partials left`,
      recovered: await recovered(server),
    }];
  } finally {
    if (server) await stop(server);
    spawnSync("umount", [data]);
  }
}

async function kill9(runtime: Runtime, dir: string): Promise<Row[]> {
  const data = join(dir, "kill-9");
  let server = await serve(runtime, data);
  const size = 8 * 1024 * 1024;
  const urls = await createUrls(server, "killed.bin", size);
  const uploader = await openSlow(server.port);
  uploader.write(putHead(urls.upload_url, size));
  uploader.write(new Uint8Array(size / 2));
  await new Promise((done) => setTimeout(done, 500));
  server.child.kill("SIGKILL");
  await server.exited;
  uploader.destroy();
  const leftAfterKill = await partials(data);
  // The same port, so that the upload URL still reaches it.
  server = await serve(runtime, data, [], server.port);
  try {
    // Swept once nothing wrote it for twice the timeout, at the next sweep
    // (every minute, or every twice the timeout).
    const restarted = Date.now();
    const sweptWithin = Math.max(60_000, 4 * TIMEOUT_S * 1000) + 5000;
    while (await partials(data) > 0 && Date.now() - restarted < sweptWithin) {
      await new Promise((done) => setTimeout(done, 1000));
    }
    const leftAfterStart = await partials(data);
    const sweptAfter = ((Date.now() - restarted) / 1000).toFixed(0);
    const retry = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(size),
    });
    return [{
      attack: "SIGKILL mid-upload, restart",
      runtime,
      outcome:
        `partials: ${leftAfterKill} after the kill, ${leftAfterStart} ${sweptAfter} s after the restart; retry ${retry.status}`,
      recovered: await recovered(server),
    }];
  } finally {
    await stop(server);
  }
}

async function sigterm(runtime: Runtime, dir: string): Promise<Row[]> {
  const data = join(dir, "sigterm");
  const server = await serve(runtime, data);
  try {
    const size = 1024 * 1024;
    const urls = await createUrls(server, "term.bin", size);
    const uploader = await openSlow(server.port);
    uploader.write(putHead(urls.upload_url, size));
    // 64 KiB a second: 16 s, longer than the grace time (10 s).
    uploader.drip(new Uint8Array(size), 1000, 64 * 1024);
    await new Promise((done) => setTimeout(done, 1000));
    const start = Date.now();
    // Not child.kill(): under Deno it reports the signal as the cause of
    // death even when the child handled it and exited.
    process.kill(server.child.pid!, "SIGTERM");
    const [{ received }, code] = await Promise.all([
      uploader.closedWithin(30_000).catch(() => ({ received: "still open" })),
      server.exited,
    ]);
    const took = ((Date.now() - start) / 1000).toFixed(1);
    const status = /^HTTP\/1\.1 (\d+)/.exec(received)?.[1] ?? "no answer";
    const retryAfter = /\r\nretry-after: *(\S+)/i.exec(received)?.[1];
    return [{
      attack: "SIGTERM mid-upload",
      runtime,
      outcome: `upload answered ${status}${
        retryAfter ? ` (Retry-After ${retryAfter})` : ""
      }; exit ${code} after ${took} s; ${await partials(data)} partials left`,
      recovered: "-",
    }];
  } finally {
    await stop(server);
  }
}

async function concurrent(runtime: Runtime, dir: string): Promise<Row[]> {
  const server = await serve(runtime, join(dir, "concurrent"));
  try {
    const start = Date.now();
    const problems = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => roundTrip(server, randomBytes(1024 * 1024), `c${i}.bin`),
      ),
    );
    const failed = problems.filter((problem) => problem !== undefined);
    return [{
      attack: "200 uploads of 1 MiB at once",
      runtime,
      outcome: `${200 - failed.length}/200 stored, SHA-256 equal, in ${
        ((Date.now() - start) / 1000).toFixed(1)
      } s${failed.length > 0 ? `; first failure: ${failed[0]}` : ""}`,
      recovered: await recovered(server),
    }];
  } finally {
    await stop(server);
  }
}

/** An API whose every answer is an endless JSON string. */
function endlessApi(): Promise<Server> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(201, { "content-type": "application/json" });
    res.write('{"upload_url":"');
    const more = () => {
      while (res.write(chunk));
    };
    res.on("drain", more);
    res.on("close", () => res.off("drain", more));
    more();
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => done(server))
  );
}

async function endlessAnswer(runtime: Runtime, dir: string): Promise<Row[]> {
  const api = await endlessApi();
  try {
    await mkdir(dir, { recursive: true });
    const file = join(dir, "endless.bin");
    await writeFile(file, randomBytes(1024));
    const port = (api.address() as { port: number }).port;
    let script = join(ROOT, "bench", "_upload_one.ts");
    if (runtime === "node") script = await forNode(script);
    const measured = await measure(
      [
        ...runScript(runtime, script),
        "path",
        file,
        `http://127.0.0.1:${port}/v1`,
        "--api-key",
        "key",
      ],
      {},
      { allowFailure: true },
    );
    // deno-lint-ignore no-control-regex
    const plain = measured.stderr.replace(/\x1b\[[0-9;]*m/g, "");
    const error = /(\w*Error): (Cannot [^\n]*)/.exec(plain)?.slice(1).join(
      ": ",
    ) ?? `exit ${measured.code}`;
    return [{
      attack: "endless answer to POST /files/urls",
      runtime,
      outcome: `${error.slice(0, 110)}; peak RSS ${
        measured.rssMiB.toFixed(0)
      } MiB in ${(measured.wallMs / 1000).toFixed(1)} s`,
      recovered: "-",
    }];
  } finally {
    api.closeAllConnections();
    api.close();
  }
}

const ATTACK_RUNNERS: Record<
  string,
  (runtime: Runtime, dir: string) => Promise<Row[]>
> = {
  slowloris,
  descriptors,
  "disk-full": diskFull,
  "kill-9": kill9,
  sigterm,
  concurrent,
  "endless-answer": endlessAnswer,
};

const rows: Row[] = [];
const dir = await mkdtemp(join(tmpdir(), "fileurls-faults-"));
try {
  console.error(
    `fault suite: ${ATTACKS.join(", ")} on ${
      RUNTIMES.join(", ")
    }; server --timeout ${TIMEOUT_S}`,
  );
  for (const runtime of RUNTIMES) {
    for (const attack of ATTACKS) {
      const runner = ATTACK_RUNNERS[attack];
      if (runner === undefined) throw new Error(`Unknown attack: ${attack}`);
      const started = Date.now();
      try {
        rows.push(...await runner(runtime, join(dir, `${runtime}-${attack}`)));
      } catch (error) {
        rows.push({
          attack,
          runtime,
          outcome: `the attack failed: ${describe(error)}`.slice(0, 160),
          recovered: "-",
        });
      }
      console.error(
        `  ${runtime} ${attack}: ${
          ((Date.now() - started) / 1000).toFixed(0)
        } s`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await cleanUp();
}
console.log(
  table(
    ["attack", "runtime", "outcome", "recovered"],
    rows.map((row) => [row.attack, row.runtime, row.outcome, row.recovered]),
  ),
);
