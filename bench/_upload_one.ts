/**
 * One upload for the benchmarks, in a process of its own so that its peak
 * RSS is its own:
 *
 * ```sh
 * RUNTIME bench/_upload_one.ts KIND FILE BASE_URL [--api-key KEY]
 *   [--part-size BYTES] [--concurrency N]
 * ```
 *
 * KIND is `path` (the file's path), `blob` (a Blob of the file's bytes, read
 * into memory first) or `stream` (a non-seekable `ReadableStream` of the
 * file). Prints one JSON line: the upload's result, `readyMs` (when the
 * input was ready, since the process started) and `uploadMs` (the upload
 * alone). With `-` for BASE_URL it reads the input to its end and uploads
 * nothing, printing its `size`: the floor under an upload of that input,
 * read as the client reads it.
 *
 * @module
 */
import { open } from "node:fs/promises";
import process from "node:process";
import { Client, type FileContent } from "../mod.ts";

const args = process.argv.slice(2);
const [kind, file, baseUrl] = args;

function flag(name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/**
 * The file as a Blob in memory, built so that the peak is the Blob's own
 * size, not twice it: from Blobs of 8 MiB on Deno and Node, which reference
 * Blob parts without copying them; from one array on Bun, which copies Blob
 * parts into one buffer and, for one array, lets it go.
 */
async function readBlob(path: string): Promise<Blob> {
  const chunk = 8 * 1024 * 1024;
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (g.Bun) {
      const bytes = new Uint8Array(size);
      for (let offset = 0; offset < size; offset += chunk) {
        await handle.read(
          bytes,
          offset,
          Math.min(chunk, size - offset),
          offset,
        );
      }
      return new Blob([bytes]);
    }
    const parts: Blob[] = [];
    const buffer = new Uint8Array(chunk);
    for (let offset = 0; offset < size; offset += chunk) {
      const { bytesRead } = await handle.read(buffer, 0, chunk, offset);
      parts.push(new Blob([buffer.subarray(0, bytesRead)]));
    }
    return new Blob(parts);
  } finally {
    await handle.close();
  }
}

async function content(): Promise<FileContent> {
  if (kind === "path") return file;
  if (kind === "blob") return await readBlob(file);
  if (kind !== "stream") throw new TypeError(`Unknown input kind: ${kind}`);
  if (g.Deno) return (await g.Deno.open(file)).readable;
  if (g.Bun) return g.Bun.file(file).stream();
  const { createReadStream } = await import("node:fs");
  const { Readable } = await import("node:stream");
  return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
}

const PART = 5 * 1024 * 1024;

/**
 * Reads an input to its end and uploads nothing: what the input alone costs
 * (`BASE_URL` `-`), read as the client reads it with its default part size.
 * A path is read in parts into one buffer; a Blob in slices, with
 * `arrayBuffer()` on Bun, else through a BYOB reader into one buffer; a byte
 * stream through a BYOB reader into one buffer; another stream chunk by
 * chunk.
 */
async function drain(input: FileContent): Promise<number> {
  // A BYOB read takes the buffer and gives it back in the view it answers.
  let buffer: Uint8Array = new Uint8Array(PART);
  if (typeof input === "string") {
    const handle = await open(input, "r");
    try {
      let total = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, PART);
        if (bytesRead === 0) return total;
        total += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }
  if (input instanceof Blob) {
    let total = 0;
    for (let at = 0; at < input.size; at += PART) {
      const slice = input.slice(at, at + PART);
      if (g.Bun) {
        total += (await slice.arrayBuffer()).byteLength;
      } else {
        const read = await drainStream(slice.stream(), buffer);
        total += read.total;
        buffer = read.buffer;
      }
    }
    return total;
  }
  return (await drainStream(input as ReadableStream<Uint8Array>, buffer))
    .total;
}

async function drainStream(
  stream: ReadableStream<Uint8Array>,
  buffer: Uint8Array,
): Promise<{ total: number; buffer: Uint8Array }> {
  let total = 0;
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: its chunks, as they come.
  }
  if (byob === undefined) {
    for await (const chunk of stream) total += chunk.byteLength;
    return { total, buffer };
  }
  for (;;) {
    const { done, value } = await byob.read(buffer);
    if (value !== undefined) buffer = new Uint8Array(value.buffer);
    if (done) return { total, buffer };
    total += value.byteLength;
  }
}

const input = await content();
const ready = performance.now();
if (baseUrl === "-") {
  const size = await drain(input);
  console.log(JSON.stringify({
    size,
    readyMs: ready,
    uploadMs: performance.now() - ready,
  }));
  process.exit(0);
}
const partSize = flag("part-size");
const concurrency = flag("concurrency");
const client = new Client({
  baseUrl,
  apiKey: flag("api-key"),
  maxRetries: 0,
  timeout: 600_000,
});
const result = await client.files.uploadFile(input, "prediction", {
  name: "bench.bin",
  ...(partSize ? { partSize: Number(partSize) } : {}),
  ...(concurrency ? { concurrency: Number(concurrency) } : {}),
});
console.log(JSON.stringify({
  ...result,
  readyMs: ready,
  uploadMs: performance.now() - ready,
}));
