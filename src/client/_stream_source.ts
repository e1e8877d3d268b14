/**
 * A one-way source of parts: a `ReadableStream` or async iterable of unknown
 * length, read one part at a time.
 *
 * @module
 */
import type { UploadOptions } from "./types.ts";
import type { Source } from "./_source.ts";
import { describe, typeOf } from "./_describe.ts";
import { garbageCounter } from "../_runtime.ts";

/**
 * Bytes read into new buffers between two runs of Bun's garbage collector
 * (see {@linkcode garbageCounter}). Reading a 1 GiB Blob in 5 MiB parts with
 * `arrayBuffer()` peaked 154 MiB above the Blob with no run, 50–55 MiB with
 * one every 20–40 MiB; uploading it peaked 113 MiB above it with 16 MiB, 129
 * MiB with 32 MiB.
 */
export const GARBAGE_BYTES = 16 * 1024 * 1024;

/**
 * A one-way source: a stream or async iterable of unknown length. A byte
 * stream is read with a BYOB reader straight into the caller's buffer, so
 * that reading it makes no garbage; other streams' chunks are copied in.
 *
 * @param name The file name.
 * @param content The stream or iterable.
 * @param options The upload's options, for the media type.
 * @returns The source.
 */
export function streamSource(
  name: string,
  content: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: UploadOptions,
): Source {
  let byob: ReadableStreamBYOBReader | undefined;
  if (content instanceof ReadableStream) {
    try {
      byob = content.getReader({ mode: "byob" });
    } catch {
      byob = undefined; // Not a byte stream.
    }
  }
  const iterator = byob !== undefined
    ? undefined
    : content instanceof ReadableStream
    ? readerIterator(content.getReader())
    : content[Symbol.asyncIterator]();
  const pending: Uint8Array[] = [];
  let done = false;
  const collect = garbageCounter(GARBAGE_BYTES);

  /** Moves pending bytes into `bytes` from `have`; returns the new count. */
  function drain(bytes: Uint8Array, have: number, length: number): number {
    while (have < length && pending.length > 0) {
      let chunk = pending.shift()!;
      if (chunk.byteLength > length - have) {
        pending.unshift(chunk.subarray(length - have));
        chunk = chunk.subarray(0, length - have);
      }
      bytes.set(chunk, have);
      have += chunk.byteLength;
    }
    return have;
  }

  async function readBytes(length: number, into: Uint8Array) {
    const view = into.subarray(0, length);
    const have = drain(view, 0, length);
    if (have === length || done) return view.subarray(0, have);
    const read = await readByob(byob!, view, have);
    done = read.done;
    return read.bytes;
  }

  async function next(length: number, into?: Uint8Array): Promise<Uint8Array> {
    if (byob !== undefined) {
      return await readBytes(length, into ?? new Uint8Array(length));
    }
    const chunks: Uint8Array[] = [];
    let have = 0;
    while (have < length) {
      let chunk = pending.shift();
      if (chunk === undefined) {
        if (done) break;
        const result = await iterator!.next();
        if (result.done) {
          done = true;
          break;
        }
        chunk = checkChunk(result.value, name);
        collect(chunk.byteLength);
      }
      if (have + chunk.byteLength > length) {
        pending.unshift(chunk.subarray(length - have));
        chunk = chunk.subarray(0, length - have);
      }
      // Into the caller's buffer at once, so that no chunk outlives its read.
      if (into !== undefined) into.set(chunk, have);
      else chunks.push(chunk);
      have += chunk.byteLength;
    }
    if (into !== undefined) return into.subarray(0, have);
    if (chunks.length === 1) return chunks[0];
    const bytes = new Uint8Array(have);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }
  return {
    name,
    type: typeOf(name, options),
    size: undefined,
    next,
    unshift: (bytes) => void pending.unshift(bytes),
    async whole() {
      const parts: Uint8Array[] = [];
      while (true) {
        const chunk = await next(1024 * 1024);
        if (chunk.byteLength === 0) break;
        parts.push(chunk.slice());
      }
      return new Blob(parts as BlobPart[]);
    },
    async close() {
      if (done) return;
      if (byob !== undefined) await byob.cancel().catch(() => {});
      else await iterator!.return?.();
    },
  };
}

/**
 * Fills `view` from a byte stream through its BYOB reader, from `from` on,
 * fewer bytes only at the stream's end. Each read hands the memory to the
 * stream and back, so the bytes come back in the same place of another
 * ArrayBuffer (the one `view` was on is detached): reading makes no garbage.
 *
 * @param reader The stream's BYOB reader.
 * @param view Where the bytes go.
 * @param from How many bytes `view` holds already.
 * @returns The bytes read, with those held, on the new ArrayBuffer, and
 * whether the stream ended.
 */
export async function readByob(
  reader: ReadableStreamBYOBReader,
  view: Uint8Array,
  from = 0,
): Promise<{ bytes: Uint8Array; done: boolean }> {
  let buffer = view.buffer as ArrayBuffer;
  const base = view.byteOffset;
  const length = view.byteLength;
  let have = from;
  while (have < length) {
    const result = await reader.read(
      new Uint8Array(buffer, base + have, length - have),
    );
    if (result.value !== undefined) buffer = result.value.buffer as ArrayBuffer;
    if (result.done) {
      return { bytes: new Uint8Array(buffer, base, have), done: true };
    }
    have += result.value.byteLength;
  }
  return { bytes: new Uint8Array(buffer, base, have), done: false };
}

function readerIterator(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncIterator<Uint8Array> {
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    async return() {
      await reader.cancel().catch(() => {});
      return { done: true, value: undefined };
    },
  };
}

function checkChunk(chunk: unknown, name: string): Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot upload "${name}": stream chunks must be Uint8Array, got ${
        describe(chunk)
      }`,
    );
  }
  return chunk;
}
