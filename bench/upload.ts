/**
 * Upload throughput and memory: a file (256 MiB by default) uploaded from a
 * path, from a Blob and from a non-seekable ReadableStream, by each runtime
 * found, to a loopback sink that counts bytes; `curl -T` of the same file to
 * the same sink in the same run is the baseline.
 *
 *     deno task bench                      # or: bun bench/upload.ts
 *     deno run -A bench/upload.ts --size-mib 64 --runtimes deno,bun
 *
 * Each upload runs in a process of its own, started by a small Python
 * wrapper that reports the child's peak RSS (`getrusage`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const sizeMiB = Number(option("size-mib", "256"));
const size = sizeMiB * 1024 * 1024;
const bin = join(root, "node_modules", ".bin");
const RUNTIMES: Record<string, string[]> = {
  deno: [join(bin, "deno"), "run", "-A", join(here, "_upload_one.ts")],
  bun: [join(bin, "bun"), join(here, "_upload_one.ts")],
  node: [
    join(bin, "node"),
    "--experimental-strip-types",
    "--no-warnings",
    join(here, "_upload_one.ts"),
  ],
};
const runtimes = option("runtimes", "deno,bun,node").split(",")
  .filter((name) => RUNTIMES[name] && existsSync(RUNTIMES[name][0]));

const MEASURE = `
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
ms = (time.perf_counter() - t) * 1000
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "{}")
print(f'{{"wallMs": {ms}, "rssKiB": {rss}, "code": {p.returncode}}}')
sys.stderr.write(p.stderr)
`;

function run(
  command: string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((done, fail) => {
    const child = spawn(command[0], command.slice(1));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", fail);
    child.on("close", (code) => done({ stdout, stderr, code: code ?? 1 }));
  });
}

async function measure(
  command: string[],
): Promise<{ ms: number; rssMiB: number }> {
  const { stdout, stderr } = await run(["python3", "-c", MEASURE, ...command]);
  const [inner, outer] = stdout.trim().split("\n").map((l) => JSON.parse(l));
  if (outer.code !== 0) {
    throw new Error(`Cannot run ${command.join(" ")}: ${stderr}`);
  }
  return { ms: inner.ms ?? outer.wallMs, rssMiB: outer.rssKiB / 1024 };
}

const dir = await mkdtemp(join(tmpdir(), "fileurls-bench-"));
const file = join(dir, "bench.bin");
{
  const handle = await open(file, "w");
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < sizeMiB; i++) {
    crypto.getRandomValues(block.subarray(0, 65536));
    await handle.write(block);
  }
  await handle.close();
}

const sink = spawn("node", [join(here, "_sink.mjs")], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port: number = await new Promise((done) =>
  sink.stdout.once("data", (d) => done(JSON.parse(String(d)).port))
);
const baseUrl = `http://127.0.0.1:${port}/v1`;

try {
  const rows: string[][] = [];
  const curl = await measure([
    "curl",
    "-sS",
    "-o",
    "/dev/null",
    "-T",
    file,
    `http://127.0.0.1:${port}/upload/curl`,
  ]);
  const mbps = (ms: number) => size / 1e6 / (ms / 1000);
  rows.push([
    "curl -T",
    "path",
    mbps(curl.ms).toFixed(0),
    curl.rssMiB.toFixed(0),
    "1.00",
  ]);
  for (const runtime of runtimes) {
    for (const kind of ["path", "blob", "stream"]) {
      const result = await measure([
        ...RUNTIMES[runtime],
        kind,
        file,
        baseUrl,
      ]);
      rows.push([
        runtime,
        kind,
        mbps(result.ms).toFixed(0),
        result.rssMiB.toFixed(0),
        (mbps(result.ms) / mbps(curl.ms)).toFixed(2),
      ]);
    }
  }
  const head = ["uploader", "input", "MB/s", "peak RSS MiB", "speed vs curl"];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  console.log(`Upload of ${sizeMiB} MiB to a loopback sink\n`);
  console.log(line(head));
  console.log("| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |");
  for (const row of rows) console.log(line(row));
} finally {
  sink.kill();
  await rm(dir, { recursive: true, force: true });
}
