/**
 * Uploads to S3: the same file (1 GiB by default) sent to s3rver (a real S3
 * wire server, on loopback, writing to a temporary folder) by
 * `@aws-sdk/lib-storage`'s `Upload` on Node, with its default part and
 * queue sizes and with 8 MiB parts, 4 at a time, and by the fileurls client
 * on Node through `filesRoute({ storage: s3Storage(…) })` served on
 * loopback: the route starts the multipart upload and signs presigned part
 * URLs, and the client sends every part straight to the bucket.
 *
 * lib-storage with its defaults is the baseline. Both run on Node as
 * JavaScript (bundled with esbuild, packages left as imports), as npm users
 * run them. Each upload runs in a process of its own, timed from spawn to exit (Node's start-up and loading
 * the SDK or client included), its peak RSS read with `getrusage`; each row
 * is repeated (3 times by default) in an order drawn anew for each repeat,
 * and the table shows medians and the range. After each upload the object's
 * size is checked, and once per row its SHA-256 (outside the timing); then
 * the object is deleted.
 *
 * ```sh
 * deno task bench:s3                       # or: bun bench/s3.ts
 * deno run -A bench/s3.ts --size-mib 256 --repeats 1
 * ```
 *
 * Options: `--size-mib N` (1024), `--repeats N` (3), `--seed N` (1),
 * `--runtimes` for the fileurls client (node).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { AwsClient } from "aws4fetch";
import {
  bin,
  cleanUp,
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

interface Job {
  /** Names the row. */
  name: string;
  /** `lib-storage` or the runtime of the fileurls client. */
  uploader: "lib-storage" | Runtime;
  input: "stream" | "path";
  partSize?: number;
  queueSize?: number;
  /** lib-storage sends SHA-256 checksums of its parts. */
  sha256?: boolean;
}

interface S3Info {
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

interface Sample {
  mbps: number;
  rssMiB: number;
  uploadMbps: number;
}

const MIB = 1024 * 1024;
const API_KEY = "fu_bench_key";

const sizeMiB = Number(option("size-mib", "1024"));
const size = sizeMiB * MIB;
const repeats = Number(option("repeats", "3"));
const seed = Number(option("seed", "1"));
const runtimes = option("runtimes", "node").split(",") as Runtime[];
const log = (text: string) => process.stderr.write(`${text}\n`);

const JOBS: Job[] = [
  { name: "lib-storage (defaults)", uploader: "lib-storage", input: "stream" },
  {
    name: "lib-storage 8 MiB × 4",
    uploader: "lib-storage",
    input: "stream",
    partSize: 8 * MIB,
    queueSize: 4,
  },
  {
    // The same work as fileurls: a SHA-256 per part, checked by the bucket.
    name: "lib-storage + SHA-256",
    uploader: "lib-storage",
    input: "stream",
    sha256: true,
  },
  ...runtimes.flatMap((runtime) =>
    (["path", "stream"] as const).map((input) => ({
      name: `fileurls (${runtime})`,
      uploader: runtime,
      input,
    }))
  ),
];

function jobKey(job: Job): string {
  return `${job.name} ${job.input}`;
}

interface Context {
  /** The scripts of one upload, bundled for Node. */
  scripts: { libStorage: string; fileurls: string };
  file: string;
  whole: string;
  env: Record<string, string>;
  base: string;
  bucketUrl: string;
  admin: AwsClient;
  /** Uploads so far, to name lib-storage's keys. */
  uploads: number;
}

async function uploadOnce(
  context: Context,
  job: Job,
  checkSha: boolean,
): Promise<Sample> {
  const { scripts, file, whole, env, base, bucketUrl, admin } = context;
  let measured: Measured;
  let key: string;
  if (job.uploader === "lib-storage") {
    context.uploads += 1;
    key = `lib-storage-${context.uploads}.bin`;
    measured = await measure([
      ...runScript("node", scripts.libStorage),
      file,
      key,
      ...(job.partSize ? ["--part-size", String(job.partSize)] : []),
      ...(job.queueSize ? ["--queue-size", String(job.queueSize)] : []),
      ...(job.sha256 ? ["--sha256"] : []),
    ], env);
  } else {
    measured = await measure([
      ...runScript(
        job.uploader,
        job.uploader === "node"
          ? scripts.fileurls
          : join(HERE, "_upload_one.ts"),
      ),
      job.input,
      file,
      base,
      "--api-key",
      API_KEY,
    ]);
    if (measured.result.size !== size || !measured.result.multipart) {
      throw new Error(
        `Cannot verify the upload: the client answered ${
          JSON.stringify(measured.result)
        }`,
      );
    }
    key = String(measured.result.id);
  }
  const url = `${bucketUrl}/${key}`;
  const head = await admin.fetch(url, { method: "HEAD" });
  if (head.headers.get("content-length") !== String(size)) {
    throw new Error(
      `Cannot verify the upload: ${head.status}, ${
        head.headers.get("content-length")
      } bytes stored, not ${size}`,
    );
  }
  if (checkSha) {
    const response = await admin.fetch(url);
    const hash = createHash("sha256");
    for await (const chunk of response.body!) hash.update(chunk);
    if (hash.digest("base64") !== whole) {
      throw new Error("Cannot verify the upload: the SHA-256 differs");
    }
  }
  const gone = await admin.fetch(url, { method: "DELETE" });
  await gone.body?.cancel();
  return {
    mbps: size / 1e6 / (measured.wallMs / 1000),
    rssMiB: measured.rssMiB,
    uploadMbps: size / 1e6 / (Number(measured.result.uploadMs) / 1000),
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-bench-s3-"));
  const file = join(dir, "bench.bin");
  // The file, its copy in the page cache, and s3rver's parts and object.
  const memory = memoryAvailable(4 * size);
  log(`Writing a ${sizeMiB} MiB file…`);
  await makeFile(file, size);
  const whole = await sha256File(file);
  const scripts = {
    libStorage: await forNode(join(HERE, "_s3_one.ts")),
    fileurls: await forNode(join(HERE, "_upload_one.ts")),
  };
  const servers = [];
  try {
    const s3 = await startServer<S3Info>(
      [bin("node"), "tests/_s3rver_main.mjs", "bench"],
      (line) => line.startsWith("{") ? JSON.parse(line) : undefined,
    );
    servers.push(s3.child);
    const env = { BENCH_S3: JSON.stringify(s3.info), BENCH_API_KEY: API_KEY };
    const route = await startServer(
      runScript("node", join(HERE, "_s3_route.ts")),
      (line) => line.startsWith("{") ? JSON.parse(line).port : undefined,
      env,
    );
    servers.push(route.child);
    const base = `http://127.0.0.1:${route.info}/v1`;
    const bucketUrl = `http://127.0.0.1:${s3.info.port}/${s3.info.bucket}`;
    const admin = new AwsClient({
      accessKeyId: s3.info.accessKeyId,
      secretAccessKey: s3.info.secretAccessKey,
      service: "s3",
      region: "us-east-1",
    });

    const context: Context = {
      scripts,
      file,
      whole,
      env,
      base,
      bucketUrl,
      admin,
      uploads: 0,
    };

    // Unmeasured: fills the compile caches and s3rver's folders.
    const warm = join(dir, "warm.bin");
    await makeFile(warm, 16 * MIB);
    await measure([
      ...runScript("node", scripts.libStorage),
      warm,
      "warm.bin",
    ], env);
    await (await admin.fetch(`${bucketUrl}/warm.bin`, { method: "DELETE" }))
      .body?.cancel();
    for (const runtime of runtimes) {
      const { result } = await measure([
        ...runScript(
          runtime,
          runtime === "node" ? scripts.fileurls : join(HERE, "_upload_one.ts"),
        ),
        "path",
        warm,
        base,
        "--api-key",
        API_KEY,
      ]);
      await (await admin.fetch(`${bucketUrl}/${result.id}`, {
        method: "DELETE",
      })).body?.cancel();
    }
    await rm(warm);

    const samples = new Map<string, Sample[]>();
    const failures = new Map<string, string>();
    for (let repeat = 0; repeat < repeats; repeat++) {
      const order = shuffled(JOBS, seed + repeat);
      for (const [i, job] of order.entries()) {
        const name = jobKey(job);
        if (failures.has(name)) continue;
        try {
          const sample = await uploadOnce(context, job, !samples.has(name));
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

    const stats = (job: Job) => {
      const list = samples.get(jobKey(job));
      if (!list) return undefined;
      return {
        list,
        mbps: median(list.map((s) => s.mbps)),
        rss: median(list.map((s) => s.rssMiB)),
        upload: median(list.map((s) => s.uploadMbps)),
      };
    };
    const baseline = stats(JOBS[0]);
    const matched = stats(JOBS[1]);
    const meets = (
      ours: { mbps: number; rss: number },
      theirs?: { mbps: number; rss: number },
    ) =>
      theirs === undefined
        ? "-"
        : ours.mbps >= theirs.mbps && ours.rss <= theirs.rss
        ? "yes"
        : `no: ${
          [
            ...(ours.mbps < theirs.mbps ? ["speed"] : []),
            ...(ours.rss > theirs.rss ? ["RSS"] : []),
          ].join(", ")
        }`;
    const rows = JOBS.map((job) => {
      const row = stats(job);
      const parts = job.uploader === "lib-storage"
        ? job.partSize
          ? `${job.partSize / MIB} MiB × ${job.queueSize}`
          : "5 MiB × 4 (defaults)"
        : "5 MiB × 4 (defaults)";
      if (row === undefined) {
        return [
          job.name,
          job.input,
          parts,
          "failed",
          "",
          "",
          "",
          "",
          "",
          failures.get(jobKey(job)) ?? "",
        ];
      }
      return [
        job.name,
        job.input,
        parts,
        row.mbps.toFixed(0),
        spread(row.list.map((s) => s.mbps)),
        row.rss.toFixed(0),
        baseline ? (row.mbps / baseline.mbps).toFixed(2) : "-",
        baseline ? (row.rss / baseline.rss).toFixed(2) : "-",
        row.upload.toFixed(0),
        job.uploader === "lib-storage"
          ? job === JOBS[0] ? "baseline" : "-"
          : `${meets(row, baseline)} / ${meets(row, matched)}`,
      ];
    });
    const nodeVersion = (await run([bin("node"), "--version"])).stdout.trim();
    const sdk = JSON.parse(
      (await run([
        bin("node"),
        "-p",
        "JSON.stringify(require('@aws-sdk/lib-storage/package.json').version)",
      ])).stdout,
    );
    console.log(
      `Upload of ${sizeMiB} MiB to s3rver on loopback, median of ${repeats} ` +
        `(order shuffled per repeat, seed ${seed})\n` +
        `node ${nodeVersion}, @aws-sdk/lib-storage ${sdk}; ${process.platform}; ${memory}\n`,
    );
    console.log(table([
      "uploader",
      "input",
      "parts × at once",
      "MB/s",
      "spread",
      "peak RSS MiB",
      "speed vs lib-storage",
      "RSS vs lib-storage",
      "upload-only MB/s",
      "target (vs defaults / vs 8 MiB × 4)",
    ], rows));
    console.log(
      `\nMB/s: the file's size over the process's wall time, spawn to exit.\n` +
        `upload-only: from the input being ready to the upload's end, measured inside the process.\n` +
        `target: at least lib-storage's MB/s at no more than its peak RSS.`,
    );
  } finally {
    for (const child of servers) await stopServer(child);
    await rm(dir, { recursive: true, force: true });
    await cleanUp();
  }
}

await main();
