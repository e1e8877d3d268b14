/**
 * One upload for the benchmark, in its own process so that its peak RSS is
 * its own: `RUNTIME _upload_one.ts KIND FILE BASE_URL`, KIND one of `path`,
 * `blob`, `stream`. Prints `{ "ms": … }` as JSON.
 */
import { Client } from "../mod.ts";

const [kind, file, baseUrl] = (globalThis as { Deno?: { args: string[] } })
  .Deno?.args ?? process.argv.slice(2);
// deno-lint-ignore no-explicit-any
const g = globalThis as any;

async function content(): Promise<Blob | ReadableStream<Uint8Array> | string> {
  if (kind === "path") return file;
  if (kind === "blob") {
    const { readFile } = await import("node:fs/promises");
    return new Blob([await readFile(file)]);
  }
  if (g.Deno) return (await g.Deno.open(file)).readable;
  if (g.Bun) return g.Bun.file(file).stream();
  const { createReadStream } = await import("node:fs");
  const { Readable } = await import("node:stream");
  return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
}

const input = await content();
const start = performance.now();
await new Client({ baseUrl, maxRetries: 0, timeout: 600_000 }).files.upload(
  input,
  "prediction",
  { name: "bench.bin" },
);
console.log(JSON.stringify({ ms: performance.now() - start }));
