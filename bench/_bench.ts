/**
 * Helpers the benchmarks share: options, the test file, child processes
 * measured for wall time and peak RSS, medians and tables.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The bench folder. */
export const HERE: string = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT: string = resolve(HERE, "..");

/** A runtime that runs a client. */
export type Runtime = "deno" | "bun" | "node";

const ARGS = process.argv.slice(2);

/**
 * The value of `--name VALUE` on the command line.
 *
 * @param name The option's name, without dashes.
 * @param fallback The value when it is absent.
 * @returns The value.
 */
export function option(name: string, fallback: string): string {
  const index = ARGS.indexOf(`--${name}`);
  return index === -1 ? fallback : ARGS[index + 1];
}

/**
 * A binary of `node_modules/.bin`, else the one on `PATH`.
 *
 * @param name The binary, e.g. `"deno"`.
 * @returns Its path, or its name.
 */
export function bin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/** Where {@linkcode forNode} writes its bundles: in the repository, so that packages resolve. */
const NODE_BUILD = join(ROOT, ".tmp", `bench-${process.pid}`);

/**
 * A TypeScript file bundled to JavaScript for Node, packages left as
 * imports: Node users run the npm package's JavaScript, and Node's type
 * stripping (amaro, a WebAssembly build of swc) would add about 40 MiB to
 * the peak RSS and 0.1 s to the start-up of every measured process.
 *
 * @param script The TypeScript file.
 * @returns The path of the `.mjs` bundle; {@linkcode cleanUp} removes it.
 */
export async function forNode(script: string): Promise<string> {
  const esbuild = await import("esbuild");
  const outfile = join(NODE_BUILD, basename(script).replace(/\.ts$/, ".mjs"));
  await esbuild.build({
    entryPoints: [script],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outfile,
    logLevel: "error",
  });
  await esbuild.stop();
  return outfile;
}

/** Removes what {@linkcode forNode} wrote. */
export async function cleanUp(): Promise<void> {
  await rm(NODE_BUILD, { recursive: true, force: true });
}

/**
 * The command that runs a script on a runtime: TypeScript on Deno and Bun,
 * JavaScript (see {@linkcode forNode}) or TypeScript on Node.
 *
 * @param runtime The runtime.
 * @param script The file.
 * @returns The command.
 */
export function runScript(runtime: Runtime, script: string): string[] {
  if (runtime === "deno") return [bin("deno"), "run", "-A", script];
  if (runtime === "bun") return [bin("bun"), script];
  if (script.endsWith(".mjs")) return [bin("node"), script];
  return [bin("node"), "--experimental-strip-types", "--no-warnings", script];
}

/**
 * Writes a file of random bytes.
 *
 * @param path Where.
 * @param size Its size in bytes.
 */
export async function makeFile(path: string, size: number): Promise<void> {
  const handle = await open(path, "w");
  const block = new Uint8Array(1024 * 1024);
  try {
    for (let offset = 0; offset < size; offset += block.byteLength) {
      for (let i = 0; i < block.byteLength; i += 65536) {
        crypto.getRandomValues(block.subarray(i, i + 65536));
      }
      await handle.write(
        block.subarray(0, Math.min(block.byteLength, size - offset)),
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * The SHA-256 of a file, base64.
 *
 * @param path The file.
 * @returns The digest.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (
    const chunk of createReadStream(path, { highWaterMark: 1 << 20 })
  ) {
    hash.update(chunk as Uint8Array);
  }
  return hash.digest("base64");
}

/**
 * The composite SHA-256 of a file's parts, as S3 and the files API answer
 * it: the SHA-256 of the parts' digests, base64, `-`, the number of parts.
 *
 * @param path The file.
 * @param partSize The size of every part but the last.
 * @returns The checksum.
 */
export async function compositeSha256File(
  path: string,
  partSize: number,
): Promise<string> {
  const digests: Uint8Array[] = [];
  let hash = createHash("sha256");
  let inPart = 0;
  for await (const read of createReadStream(path, { highWaterMark: 1 << 20 })) {
    let chunk = read as Uint8Array;
    while (chunk.byteLength > 0) {
      const take = Math.min(chunk.byteLength, partSize - inPart);
      hash.update(chunk.subarray(0, take));
      inPart += take;
      chunk = chunk.subarray(take);
      if (inPart === partSize) {
        digests.push(hash.digest());
        hash = createHash("sha256");
        inPart = 0;
      }
    }
  }
  if (inPart > 0) digests.push(hash.digest());
  const joined = new Uint8Array(digests.length * 32);
  digests.forEach((digest, i) => joined.set(digest, i * 32));
  const sum = createHash("sha256").update(joined).digest("base64");
  return `${sum}-${digests.length}`;
}

/** What one measured process did. */
export interface Measured {
  /** Wall time from spawn to exit, in milliseconds. */
  wallMs: number;
  /** Peak RSS of the process (and any children it waited for), MiB. */
  rssMiB: number;
  /**
   * Peak private memory in MiB (Linux `RssAnon`, sampled every 10 ms): the
   * RSS less the pages mapped from files, such as the runtime's own
   * executable, which other processes share. 0 where it cannot be read.
   */
  anonMiB: number;
  /** CPU time (user and system) of the process and its children, ms. */
  cpuMs: number;
  /** Its last line of standard output, parsed as JSON, or `{}`. */
  result: Record<string, unknown>;
  /** Its exit code. */
  code: number;
  /** Its standard error. */
  stderr: string;
}

// Spawns the command and reports its wall time (spawn to exit) and peak RSS
// (getrusage of children); the timer starts after Python's own start-up.
const MEASURE = `
import json, resource, subprocess, sys, threading, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
anon = [0]
def sample():
  while p.poll() is None:
    try:
      with open("/proc/%d/status" % p.pid) as f:
        for line in f:
          if line.startswith("RssAnon:"):
            anon[0] = max(anon[0], int(line.split()[1]))
    except OSError:
      return
    time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
out, err = p.communicate()
ms = (time.perf_counter() - t) * 1000
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
lines = out.strip().splitlines()
print(json.dumps({"wallMs": ms, "rssKiB": usage.ru_maxrss, "anonKiB": anon[0],
  "cpuMs": (usage.ru_utime + usage.ru_stime) * 1000, "code": p.returncode,
  "last": lines[-1] if lines else ""}))
sys.stderr.write(err)
`;

/**
 * Runs a command in a process of its own, measured.
 *
 * @param command The command and its arguments.
 * @param env Extra environment variables.
 * @param options `allowFailure`: report another exit code than 0 instead of
 * throwing.
 * @returns Its wall time, peak RSS and last line of output.
 * @throws {Error} If it exits with another code than 0, unless allowed.
 */
export async function measure(
  command: string[],
  env: Record<string, string> = {},
  options: { allowFailure?: boolean } = {},
): Promise<Measured> {
  const { stdout, stderr } = await run(
    ["python3", "-c", MEASURE, ...command],
    env,
  );
  const outer = JSON.parse(stdout.trim().split("\n").at(-1)!);
  if (outer.code !== 0 && !options.allowFailure) {
    throw new Error(
      `Cannot run ${command.join(" ")}: exit code ${outer.code}: ${stderr}`,
    );
  }
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(outer.last);
  } catch {
    // Not JSON: curl prints nothing.
  }
  return {
    wallMs: outer.wallMs,
    rssMiB: outer.rssKiB / 1024,
    anonMiB: outer.anonKiB / 1024,
    cpuMs: outer.cpuMs,
    result,
    code: outer.code,
    stderr,
  };
}

/**
 * Runs a command to its end.
 *
 * @param command The command and its arguments.
 * @param env Extra environment variables.
 * @returns Its output and exit code.
 */
export function run(
  command: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((done, fail) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", fail);
    child.on("close", (code) => done({ stdout, stderr, code: code ?? 1 }));
  });
}

/**
 * Starts a server in a process of its own and waits for the line of its
 * standard output that `parse` accepts.
 *
 * @param command The command and its arguments.
 * @param parse Reads a line: a value once it is the one waited for.
 * @param env Extra environment variables.
 * @returns The process and what `parse` read.
 */
export function startServer<T>(
  command: string[],
  parse: (line: string) => T | undefined,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((done, fail) => {
    let text = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      for (const line of text.split("\n")) {
        const info = parse(line);
        if (info !== undefined) {
          child.stdout!.removeAllListeners("data");
          child.stdout!.resume();
          return done({ child, info });
        }
      }
    });
    child.on("error", fail);
    child.on(
      "exit",
      (code) =>
        fail(new Error(`Cannot start ${command.join(" ")}: exit code ${code}`)),
    );
  });
}

/**
 * The CPU time a running process has used so far (user and system, all its
 * threads), from `/proc/PID/stat`.
 *
 * @param pid The process.
 * @returns Milliseconds, or `undefined` where there is no `/proc` (not
 * Linux).
 */
export function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the whole line, in clock ticks (100 a second).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * The memory the machine can give without swapping (`MemAvailable` of
 * `/proc/meminfo`), for a bench's header, with a warning on standard error
 * when a run needs more. With too little, the kernel reclaims page cache to
 * make room for every new page written, which shows as system time in the
 * uploader and the server alike. `fileurls serve` on this project's 2-core
 * machine, receiving 1 GiB in parts from `fileurls upload` into `/dev/shm`,
 * took 4.3–5.5 s of CPU with 2 GiB available, and 2.9–3.3 s with 21 GiB.
 *
 * @param needed The bytes a run keeps in memory at once: its files, their
 * stored copies and the Blob inputs.
 * @returns E.g. `"21.0 GiB of memory available"`, or `""` where there is no
 * `/proc/meminfo` (not Linux).
 */
export function memoryAvailable(needed: number): string {
  let kib: number;
  try {
    const line = /^MemAvailable:\s+(\d+) kB$/m.exec(
      readFileSync("/proc/meminfo", "utf8"),
    );
    if (line === null) return "";
    kib = Number(line[1]);
  } catch {
    return "";
  }
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  if (kib * 1024 < needed) {
    process.stderr.write(
      `Warning: ${gib(kib * 1024)} GiB of memory available, and this run ` +
        `needs about ${gib(needed)} GiB: its figures will show the kernel ` +
        `reclaiming memory. Free some (files in /dev/shm, say) first.\n`,
    );
  }
  return `${gib(kib * 1024)} GiB of memory available`;
}

/**
 * Stops a server started by {@linkcode startServer}.
 *
 * @param child Its process.
 */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.stdin?.end();
  child.kill("SIGTERM");
  await exited;
}

/**
 * The median of some numbers.
 *
 * @param values The numbers, at least one.
 * @returns The median.
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The numbers' range, as `min–max`.
 *
 * @param values The numbers.
 * @param digits Digits after the point.
 * @returns The range.
 */
export function spread(values: number[], digits = 0): string {
  return `${Math.min(...values).toFixed(digits)}–${
    Math.max(...values).toFixed(digits)
  }`;
}

/**
 * A copy of `items` in an order drawn from `seed`: the same seed, the same
 * order.
 *
 * @param items The items.
 * @param seed Any whole number.
 * @returns The items, shuffled.
 */
export function shuffled<T>(items: T[], seed: number): T[] {
  let state = (seed * 2654435761) >>> 0 || 1;
  const random = () => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/**
 * Formats a Markdown table, numbers aligned right.
 *
 * @param head The column names.
 * @param rows The cells.
 * @returns The table's lines.
 */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i].length))
  );
  const numeric = head.map((_, i) =>
    rows.length > 0 && rows.some((row) => /^[0-9]/.test(row[i])) &&
    rows.every((row) => /^([-+]?[0-9.]|-$|$)/.test(row[i]))
  );
  const line = (cells: string[]) =>
    `| ${
      cells.map((cell, i) =>
        numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])
      ).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) =>
      numeric[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2)
    )
      .join("|")
  }|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}
