/**
 * Upload throughput and client memory: a file (1 GiB by default) uploaded
 * from a path, from a Blob in memory and from a non-seekable ReadableStream,
 * by the fileurls client on Deno, Bun and Node, to two targets:
 *
 * - `sink`: a loopback server that speaks the files API's protocol (one
 *   `PUT`, or a multipart upload: start, part URLs, parts, complete) and
 *   discards the bytes, counting them (`bench/_sink.mjs`);
 * - `serve`: `fileurls serve` on Deno, with `fsStorage` in a fresh data
 *   folder.
 *
 * `curl -f -T FILE` of the same file to the same target in the same run is
 * the baseline: to the sink's single-`PUT` URL, and to an upload URL of
 * `POST /v1/files/urls` of `fileurls serve`. A third target, `read`, is the
 * floor under each upload: the same process reads the same input to its
 * end, uploading nothing (a path in parts of 5 MiB into one buffer), so the
 * table shows what the input alone costs in time and memory (e.g. a Node
 * stream of `Readable.toWeb(createReadStream())`).
 *
 * Every upload, curl's included, runs in a process of its own, timed from
 * spawn to exit (runtime start-up, reading the file and, for the Blob input,
 * building the Blob included), its peak RSS read with `getrusage`. Deno and
 * Bun run the TypeScript client; Node runs it bundled to JavaScript, as npm
 * users get it (Node's type stripping alone adds about 40 MiB of RSS). Each row
 * is repeated (3 times by default) in an order drawn anew for each repeat;
 * the table shows medians and the range. After each upload the target's
 * byte count (sink) or the stored file's size (serve) is checked, and once
 * per row the stored file's SHA-256, outside the timing.
 *
 * ```sh
 * deno task bench                                   # or: bun bench/upload.ts
 * deno run -A bench/upload.ts --size-mib 256 --runtimes deno,bun --repeats 1
 * deno run -A bench/upload.ts --targets sink --part-size 16777216 --concurrency 2
 * ```
 *
 * Options: `--size-mib N` (1024), `--runtimes` (deno,bun,node), `--inputs`
 * (path,blob,stream), `--targets` (read,sink,serve), `--repeats N` (3), `--seed N`
 * (1), and `--part-size BYTES`, `--concurrency N` for the client (its
 * defaults: 5 MiB, 4).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  bin,
  cleanUp,
  compositeSha256File,
  cpuMsOf,
  forNode,
  HERE,
  makeFile,
  measure,
  type Measured,
  median,
  memoryAvailable,
  option,
  run,
  runScript,
  type Runtime,
  sha256File,
  shuffled,
  spread,
  startServer,
  stopServer,
  table,
} from "./_bench.ts";

type Target = "read" | "sink" | "serve";
type Input = "path" | "blob" | "stream";

interface Job {
  target: Target;
  uploader: "curl" | Runtime;
  input: Input;
}

interface Sample {
  mbps: number;
  rssMiB: number;
  /** Peak private (anonymous) memory, MiB; 0 where unknown. */
  anonMiB: number;
  uploadMbps?: number;
  /** CPU seconds of the uploader's process. */
  clientCpu: number;
  /** CPU seconds of the target's process during the upload, if known. */
  serverCpu?: number;
}

const MIB = 1024 * 1024;
const API_KEY = "fu_bench_key";
const TYPE = "application/octet-stream";
const RSS_TARGET_MIB = 96;
const SPEED_TARGET = 0.8;

const sizeMiB = Number(option("size-mib", "1024"));
const size = sizeMiB * MIB;
const repeats = Number(option("repeats", "3"));
const seed = Number(option("seed", "1"));
const partSizeOption = option("part-size", "");
const concurrencyOption = option("concurrency", "");
const runtimes = option("runtimes", "deno,bun,node").split(",")
  .filter((name) =>
    ["deno", "bun", "node"].includes(name) &&
    existsSync(bin(name))
  ) as Runtime[];
const inputs = option("inputs", "path,blob,stream").split(",") as Input[];
const targets = option("targets", "read,sink,serve").split(",") as Target[];
// The part size the targets use: the client's, at least 5 MiB.
const partSize = Math.max(Number(partSizeOption || 5 * MIB), 5 * MIB);

const dir = await mkdtemp(join(tmpdir(), "fileurls-bench-"));
const file = join(dir, "bench.bin");
const dataDir = join(dir, "data");
const log = (text: string) => process.stderr.write(`${text}\n`);
const UPLOAD_ONE = join(HERE, "_upload_one.ts");
/** The script of one upload, per runtime: JavaScript for Node. */
const scripts: Record<Runtime, string> = {
  deno: UPLOAD_ONE,
  bun: UPLOAD_ONE,
  node: UPLOAD_ONE,
};

interface Targets {
  sink?: string;
  serve?: string;
}

/** The targets' processes, for their CPU time. */
const targetPids: Partial<Record<Target, number>> = {};

/** `POST {base}/files/urls` for the file: its upload URL and id. */
async function createUrls(
  base: string,
  apiKey?: string,
): Promise<{ url: string; id: string }> {
  const response = await fetch(`${base}/files/urls`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({
      name: "bench.bin",
      size,
      resource: "prediction",
      mime_type: TYPE,
    }),
  });
  if (response.status !== 201) {
    throw new Error(
      `Cannot create URLs: ${response.status} ${await response.text()}`,
    );
  }
  const { upload_url: url } = await response.json();
  const id = /\/(?:upload|files)\/([\w-]+)(?:\?|$)/.exec(url)![1];
  return { url, id };
}

async function uploadOnce(
  job: Job,
  bases: Targets,
  sums: { whole: string; composite: string },
  checkSha: boolean,
): Promise<Sample> {
  if (job.target === "read") return await readOnce(job);
  const base = bases[job.target]!;
  const apiKey = job.target === "serve" ? API_KEY : undefined;
  const pid = targetPids[job.target];
  const serverBefore = pid === undefined ? undefined : cpuMsOf(pid);
  let measured: Measured;
  let id: string;
  if (job.uploader === "curl") {
    const urls = await createUrls(base, apiKey);
    id = urls.id;
    measured = await measure([
      "curl",
      "-f",
      "-sS",
      "-o",
      "/dev/null",
      "-H",
      `content-type: ${TYPE}`,
      "-T",
      file,
      urls.url,
    ]);
  } else {
    measured = await measure([
      ...runScript(job.uploader, scripts[job.uploader]),
      job.input,
      file,
      base,
      ...(apiKey ? ["--api-key", apiKey] : []),
      ...(partSizeOption ? ["--part-size", partSizeOption] : []),
      ...(concurrencyOption ? ["--concurrency", concurrencyOption] : []),
    ]);
    const result = measured.result;
    id = String(result.id);
    const multipart = size > Number(partSizeOption || 5 * MIB);
    if (result.size !== size || result.multipart !== multipart) {
      throw new Error(
        `Cannot verify the upload: the client answered ${
          JSON.stringify(result)
        }`,
      );
    }
    if (multipart && result.sha256 !== sums.composite) {
      throw new Error(
        `Cannot verify the upload: composite SHA-256 ${result.sha256}, not ${sums.composite}`,
      );
    }
  }
  const serverAfter = pid === undefined ? undefined : cpuMsOf(pid);
  const serverCpu = serverBefore !== undefined && serverAfter !== undefined
    ? (serverAfter - serverBefore) / 1000
    : undefined;
  if (job.target === "sink") {
    const received =
      await (await fetch(`${base.replace(/\/v1$/, "")}/__received/${id}`))
        .json();
    if (received.received !== size || !received.complete) {
      throw new Error(
        `Cannot verify the upload: the sink got ${JSON.stringify(received)}`,
      );
    }
  } else {
    const stored = join(dataDir, "files", id);
    const info = await stat(join(stored, "data"));
    if (info.size !== size) {
      throw new Error(
        `Cannot verify the upload: ${info.size} bytes stored, not ${size}`,
      );
    }
    if (checkSha && await sha256File(join(stored, "data")) !== sums.whole) {
      throw new Error("Cannot verify the upload: the stored SHA-256 differs");
    }
    await rm(stored, { recursive: true, force: true });
  }
  const mbps = size / 1e6 / (measured.wallMs / 1000);
  const uploadMs = Number(measured.result.uploadMs);
  return {
    mbps,
    rssMiB: measured.rssMiB - (job.input === "blob" ? sizeMiB : 0),
    anonMiB: measured.anonMiB - (job.input === "blob" ? sizeMiB : 0),
    ...(uploadMs > 0 ? { uploadMbps: size / 1e6 / (uploadMs / 1000) } : {}),
    clientCpu: measured.cpuMs / 1000,
    ...(serverCpu !== undefined ? { serverCpu } : {}),
  };
}

/** Reads the input to its end in the uploader's process, uploading nothing. */
async function readOnce(job: Job): Promise<Sample> {
  const measured = await measure([
    ...runScript(job.uploader as Runtime, scripts[job.uploader as Runtime]),
    job.input,
    file,
    "-",
  ]);
  if (measured.result.size !== size) {
    throw new Error(
      `Cannot verify the read: ${measured.result.size} bytes, not ${size}`,
    );
  }
  const uploadMs = Number(measured.result.uploadMs);
  return {
    mbps: size / 1e6 / (measured.wallMs / 1000),
    rssMiB: measured.rssMiB - (job.input === "blob" ? sizeMiB : 0),
    anonMiB: measured.anonMiB - (job.input === "blob" ? sizeMiB : 0),
    ...(uploadMs > 0 ? { uploadMbps: size / 1e6 / (uploadMs / 1000) } : {}),
    clientCpu: measured.cpuMs / 1000,
  };
}

function jobName(job: Job): string {
  return `${job.target} ${job.uploader} ${job.input}`;
}

async function versions(): Promise<string> {
  const first = async (command: string[]) =>
    (await run(command)).stdout.split("\n")[0].trim();
  const parts = [`curl ${(await first(["curl", "--version"])).split(" ")[1]}`];
  for (const runtime of runtimes) {
    const version = await first([bin(runtime), "--version"]);
    parts.push(`${runtime} ${version.replace(/^(deno|v)\s*/, "")}`);
  }
  return parts.join(", ");
}

async function main(): Promise<void> {
  // The file, its copy in the page cache, a Blob of it and a stored copy.
  const memory = memoryAvailable(4 * size);
  log(`Writing a ${sizeMiB} MiB file…`);
  await makeFile(file, size);
  if (runtimes.includes("node")) scripts.node = await forNode(UPLOAD_ONE);
  const sums = {
    whole: await sha256File(file),
    composite: await compositeSha256File(file, partSize),
  };
  const bases: Targets = {};
  const servers = [];
  try {
    if (targets.includes("sink")) {
      const sink = await startServer(
        [bin("node"), join(HERE, "_sink.mjs")],
        (line) => line.startsWith("{") ? JSON.parse(line).port : undefined,
      );
      servers.push(sink.child);
      targetPids.sink = sink.child.pid;
      bases.sink = `http://127.0.0.1:${sink.info}/v1`;
    }
    if (targets.includes("serve")) {
      const serve = await startServer(
        [
          ...runScript("deno", "src/cli/main.ts"),
          "serve",
          "--data",
          dataDir,
          "--port",
          "0",
          "--api-key",
          API_KEY,
        ],
        (line) => /^fileurls serving (\S+)/.exec(line)?.[1],
      );
      servers.push(serve.child);
      targetPids.serve = serve.child.pid;
      bases.serve = serve.info;
    }

    // Unmeasured: fills the runtimes' compile caches.
    const warm = join(dir, "warm.bin");
    await makeFile(warm, 16 * MIB);
    for (const runtime of runtimes) {
      await measure([
        ...runScript(runtime, scripts[runtime]),
        "path",
        warm,
        bases.sink ?? bases.serve!,
        "--api-key",
        API_KEY,
      ]);
    }
    await rm(warm);

    const jobs: Job[] = [];
    for (const target of targets) {
      if (target !== "read") {
        jobs.push({ target, uploader: "curl", input: "path" });
      }
      for (const runtime of runtimes) {
        for (const input of inputs) {
          jobs.push({ target, uploader: runtime, input });
        }
      }
    }
    const samples = new Map<string, Sample[]>();
    const failures = new Map<string, string>();
    for (let repeat = 0; repeat < repeats; repeat++) {
      const order = shuffled(jobs, seed + repeat);
      for (const [i, job] of order.entries()) {
        const name = jobName(job);
        if (failures.has(name)) continue;
        try {
          const checkSha = !samples.has(name);
          const sample = await uploadOnce(job, bases, sums, checkSha);
          samples.set(name, [...samples.get(name) ?? [], sample]);
          log(
            `[${repeat + 1}/${repeats} ${i + 1}/${order.length}] ${name}: ${
              sample.mbps.toFixed(0)
            } MB/s, ${sample.rssMiB.toFixed(0)} MiB`,
          );
        } catch (error) {
          failures.set(name, (error as Error).message.split("\n")[0]);
          log(`${name}: failed: ${(error as Error).message}`);
        }
      }
    }

    const rows: string[][] = [];
    for (const target of targets) {
      const curl = samples.get(jobName({
        target,
        uploader: "curl",
        input: "path",
      }));
      const curlMbps = curl ? median(curl.map((s) => s.mbps)) : NaN;
      for (const job of jobs.filter((j) => j.target === target)) {
        const name = jobName(job);
        const list = samples.get(name);
        const label = job.uploader === "curl" ? "curl -T" : job.uploader;
        const input = job.input === "blob" ? "blob *" : job.input;
        if (failures.has(name) || !list) {
          rows.push([
            target,
            label,
            input,
            "failed",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            failures.get(name) ?? "",
          ]);
          continue;
        }
        const mbps = median(list.map((s) => s.mbps));
        const rss = median(list.map((s) => s.rssMiB));
        const anon = median(list.map((s) => s.anonMiB));
        const ratio = mbps / curlMbps;
        const uploads = list.flatMap((s) => s.uploadMbps ?? []);
        const misses = [
          ...(ratio < SPEED_TARGET ? ["speed"] : []),
          ...(rss > RSS_TARGET_MIB ? ["RSS"] : []),
        ];
        rows.push([
          target,
          label,
          input,
          mbps.toFixed(0),
          spread(list.map((s) => s.mbps)),
          rss.toFixed(0),
          anon > 0 ? anon.toFixed(0) : "-",
          target === "read" ? "-" : ratio.toFixed(2),
          uploads.length ? median(uploads).toFixed(0) : "-",
          median(list.map((s) => s.clientCpu)).toFixed(2),
          list.every((s) => s.serverCpu !== undefined)
            ? median(list.map((s) => s.serverCpu!)).toFixed(2)
            : "-",
          job.uploader === "curl"
            ? "baseline"
            : target === "read"
            ? "floor"
            : misses.length
            ? `no: ${misses.join(", ")}`
            : "yes",
        ]);
      }
    }
    console.log(
      `Upload of ${sizeMiB} MiB over loopback, median of ${repeats} ` +
        `(order shuffled per repeat, seed ${seed}); part size ${
          partSizeOption || "default (5 MiB)"
        }, concurrency ${concurrencyOption || "default (4)"}\n` +
        `${await versions()}; ${process.platform}; ${memory}\n`,
    );
    console.log(table([
      "target",
      "uploader",
      "input",
      "MB/s",
      "spread",
      "peak RSS MiB",
      "private MiB",
      "vs curl",
      "upload-only MB/s",
      "client CPU s",
      "target CPU s",
      `target (≥${SPEED_TARGET}× curl, ≤${RSS_TARGET_MIB} MiB)`,
    ], rows));
    console.log(
      `\nMB/s: the file's size over the process's wall time, spawn to exit.\n` +
        `* blob: peak RSS minus the Blob's own ${sizeMiB} MiB; its time includes reading the file into the Blob.\n` +
        `private: the peak of the process's anonymous memory (RssAnon, sampled every 10 ms): its RSS less the pages mapped from files, such as the runtime's executable.\n` +
        `read: the input read to its end in the uploader's process, nothing uploaded: what the input alone costs.\n` +
        `upload-only: from the input being ready to the upload's end, measured inside the process.\n` +
        `CPU s: user and system time of the uploader's process, and of the target's process while it received the upload (Linux only); ` +
        `on ${cpus().length} cores, MB/s can be at most ${cpus().length} × size / (client + target CPU).`,
    );
  } finally {
    for (const child of servers) await stopServer(child);
    await rm(dir, { recursive: true, force: true });
    await cleanUp();
  }
}

await main();
