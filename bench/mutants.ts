/**
 * The mutation check, run by hand: in a scratch copy of the repository, make
 * each change a reviewer would try (gather a whole body, accept a wrong
 * `Content-Length`, skip the signature check, retry timeouts, …), run the
 * tests that guard it on Deno, and print which test caught it. A mutant that
 * no test catches is a promise without a test.
 *
 * ```sh
 * deno run -A bench/mutants.ts               # every mutant
 * deno run -A bench/mutants.ts --only retry  # those whose name contains "retry"
 * ```
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { bin, option, ROOT, table } from "./_bench.ts";

/** One change to the source, and the tests that should catch it. */
interface Mutant {
  name: string;
  file: string;
  from: string;
  to: string;
  tests: string[];
}

const MUTANTS: Mutant[] = [
  {
    name: "fsStorage gathers the whole body before writing",
    file: "src/storage/_fs.ts",
    from: "new Uint8Array(Math.min(WRITE_BUFFER, Math.max(size, 1)))",
    to: "new Uint8Array(Math.max(size, 1))",
    tests: ["tests/storage/fs_streaming_test.ts"],
  },
  {
    name: "a body that ends short is not refused by its count",
    file: "src/storage/_common.ts",
    from: "if (this.received !== this.#size) {",
    to: "if (this.received > this.#size) {",
    tests: ["tests/_byte_stream_test.ts", "tests/hono/upload_test.ts"],
  },
  {
    name: "a byte stream reads into a buffer of its own, not its reader's",
    file: "src/_byte_stream.ts",
    from: "const given = controller.byobRequest?.view;",
    to: "const given = undefined as ArrayBufferView | undefined;",
    tests: ["tests/_byte_stream_test.ts", "tests/storage/fs_streaming_test.ts"],
  },
  {
    name: "a Blob's part read through its byte stream loses a byte",
    file: "src/client/_source.ts",
    from: "        return read.bytes;",
    to: "        return read.bytes.subarray(1);",
    tests: ["tests/client/multipart_test.ts"],
  },
  {
    name: "the route gathers a PUT's whole body before storing it",
    file: "src/hono/upload.ts",
    from: "const body = counter.stream;",
    to:
      "const body = new Blob([await new Response(counter.stream).arrayBuffer()]).stream();",
    tests: ["tests/storage/fs_streaming_test.ts"],
  },
  {
    name: "the route accepts a smaller Content-Length",
    file: "src/hono/upload.ts",
    from: "if (length < size) {",
    to: "if (length < 0) {",
    tests: ["tests/hono/upload_test.ts", "tests/hono/body_test.ts"],
  },
  {
    name: "the route accepts a larger Content-Length",
    file: "src/hono/upload.ts",
    from: "if (length > size) {",
    to: "if (length > Number.MAX_SAFE_INTEGER) {",
    tests: ["tests/hono/upload_test.ts", "tests/hono/body_test.ts"],
  },
  {
    name: "the signature is not checked",
    file: "src/hono/_signing.ts",
    from: `      return await crypto.subtle.verify(
        "HMAC",
        found.key,
        mac,
        canonical(fields, kid),
      );`,
    to: "      return true;",
    tests: ["tests/hono/upload_test.ts", "tests/hono/download_test.ts"],
  },
  {
    name: "fsStorage leaves a failed upload's partial",
    file: "src/storage/fs.ts",
    from:
      "await rm(partial, { recursive: true, force: true }).catch(() => {});",
    to: "void partial;",
    tests: ["tests/storage/fs_test.ts", "tests/hono/body_test.ts"],
  },
  {
    name: "the client retries a timeout",
    file: "src/client/_request.ts",
    from: `          if (timer.signal.aborted) throw timer.signal.reason;
          if (!retriesLeft) {`,
    to: `          if (timer.signal.aborted && signal?.aborted) {
            throw timer.signal.reason;
          }
          if (!retriesLeft) {`,
    tests: ["tests/client/retry_test.ts"],
  },
  {
    name: "the client reads Retry-After as seconds only",
    file: "src/client/_retry.ts",
    from: "if (Number.isNaN(delay)) return backoff(attempt);",
    to:
      "if (Number.isNaN(delay) || !/^\\d+$/.test(header.trim())) return backoff(attempt);",
    tests: ["tests/client/retry_test.ts"],
  },
  {
    name: "the client does not back off",
    file: "src/client/_retry.ts",
    from: "return delay / 2 + Math.random() * delay / 2;",
    to: "return 0;",
    tests: ["tests/client/retry_test.ts"],
  },
  {
    name: "the client sends a single PUT's body as a stream on Deno",
    file: "src/client/_upload.ts",
    from: `  if (where !== "bun" && where !== "node") {
    return { body: data as BodyInit };
  }`,
    to: "",
    tests: ["tests/client/upload_test.ts"],
  },
  {
    name: "onProgress fires after upload() settled",
    file: "src/client/_upload.ts",
    from: "if (!settled) options.onProgress?.(progress);",
    to: "options.onProgress?.(progress);",
    // Survives on Deno, where no event can come after settling; the case
    // runs on Bun and Node in tests/client/progress_settle_test.ts.
    tests: ["tests/client/upload_test.ts", "tests/client/multipart_test.ts"],
  },
  {
    name: "a dripping body resets the body timeout with any byte",
    file: "src/hono/_body.ts",
    from: "if (this.#trickle >= MIN_PROGRESS) {",
    to: "if (this.#trickle > 0) {",
    tests: ["tests/hono/body_test.ts"],
  },
  {
    name: "names with bidi controls are accepted",
    file: "src/api.ts",
    from: "\\p{Cf}",
    to: "\\u{E0000}",
    tests: ["tests/api_test.ts"],
  },
  {
    name: "memoryStorage forgets a deleted key",
    file: "src/storage/memory.ts",
    from: "      files.delete(key);\n      deleted.add(key);",
    to: "      files.delete(key);",
    tests: ["tests/storage/manage_test.ts"],
  },
  {
    name: "fsStorage deletes without a tombstone",
    file: "src/storage/_fs_delete.ts",
    from: '    await writeNewFile(join(tomb, MARKER), "");',
    to: "",
    tests: ["tests/storage/manage_test.ts"],
  },
  {
    name: "memoryStorage lists from the start whatever the cursor",
    file: "src/storage/memory.ts",
    from: "if (cursor !== undefined && key <= cursor) continue;",
    to: "",
    tests: ["tests/storage/manage_test.ts"],
  },
  {
    name: "s3Storage confirms a deleted key",
    file: "src/storage/_s3_manage.ts",
    from: 'if (deleted) throw notFound(key, "the file was deleted");',
    to: "",
    tests: ["tests/storage/s3_manage_test.ts"],
  },
  {
    name: "the route lists expired files",
    file: "src/hono/manage.ts",
    from: "page.files.filter((file) => !isExpired(file, config))",
    to: "page.files",
    tests: ["tests/hono/manage_test.ts"],
  },
  {
    name: "download URLs outlive their file",
    file: "src/hono/_file_object.ts",
    from:
      "return fexp === null || fexp === undefined ? exp : Math.min(exp, fexp);",
    to: "return exp;",
    tests: ["tests/hono/manage_test.ts"],
  },
  {
    name: "a lifetime over maxLifetime is taken",
    file: "src/hono/_file_object.ts",
    from: "lifetime > config.maxLifetime",
    to: "lifetime > Infinity",
    tests: ["tests/hono/manage_test.ts"],
  },
  {
    name: "every confirmation calls onUploaded",
    file: "src/hono/confirm.ts",
    from: "if (confirmed) await notifyUploaded(config, file);",
    to: "await notifyUploaded(config, file);",
    tests: ["tests/storage/s3_route_manage_test.ts"],
  },
  {
    name: "upload() never confirms a presigned upload",
    file: "src/client/_upload.ts",
    from: "complete_url",
    to: "complete_url_unused",
    tests: [
      "tests/client/manage_wire_test.ts",
      "tests/client/lifetime_test.ts",
    ],
  },
];

const only = option("only", "");
const chosen = MUTANTS.filter((mutant) => mutant.name.includes(only));

/** A copy of the tracked files, with the repository's node_modules. */
async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fileurls-mutants-"));
  const files = spawnSync("git", ["ls-files", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
  }).stdout.split("\0").filter((file) => file !== "");
  for (const file of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file));
  }
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Runs tests on Deno: whether they passed, and the names of those that failed. */
function runTests(
  dir: string,
  tests: string[],
): Promise<{ passed: boolean; failed: string[] }> {
  return new Promise((done) => {
    const child = spawn(bin("deno"), ["test", "-A", "--no-check", ...tests], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => output += chunk);
    child.stderr.on("data", (chunk) => output += chunk);
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      // Leaf tests only: a suite that failed through its steps says "due to".
      const failed = [
        ...new Set(
          [...output.matchAll(/^\s*(.+?) \.\.\. FAILED(?! \(due to)/gm)]
            .map((m) => m[1]),
        ),
      ];
      done({ passed: code === 0, failed });
    });
  });
}

const dir = await scratchCopy();
const rows: string[][] = [];
const baselines = new Map<string, { passed: boolean }>();
try {
  for (const mutant of chosen) {
    const path = join(dir, mutant.file);
    const original = await readFile(path, "utf8");
    if (!original.includes(mutant.from)) {
      rows.push([mutant.name, "did not apply: the source changed", "-"]);
      continue;
    }
    const key = mutant.tests.join(" ");
    baselines.set(key, baselines.get(key) ?? await runTests(dir, mutant.tests));
    if (!baselines.get(key)!.passed) {
      rows.push([mutant.name, "the tests fail unmutated", "-"]);
      continue;
    }
    await writeFile(path, original.replace(mutant.from, mutant.to));
    try {
      const mutated = await runTests(dir, mutant.tests);
      rows.push([
        mutant.name,
        mutated.passed ? "SURVIVED" : "caught",
        mutated.passed
          ? "-"
          : (mutated.failed.slice(0, 2).join("; ") || "the run"),
      ]);
    } finally {
      await writeFile(path, original);
    }
    console.error(`  ${mutant.name}: ${rows.at(-1)![1]}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(table(["mutant", "outcome", "caught by"], rows));
