/**
 * A one-way source of parts: a `ReadableStream` or async iterable of unknown
 * length, read one part at a time.
 *
 * @module
 */
import type { UploadOptions } from "./types.ts";
import type { Source } from "./_source.ts";
import { describe, typeOf } from "./_describe.ts";

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

  // Reads into `into` in place; a read hands its memory to the stream and
  // back, so the bytes come back in the same place of another ArrayBuffer.
  async function readBytes(length: number, into: Uint8Array) {
    let buffer = into.buffer as ArrayBuffer;
    const base = into.byteOffset;
    let have = drain(new Uint8Array(buffer, base, length), 0, length);
    while (have < length && !done) {
      const result = await byob!.read(
        new Uint8Array(buffer, base + have, length - have),
      );
      if (result.value !== undefined) {
        buffer = result.value.buffer as ArrayBuffer;
      }
      if (result.done) {
        done = true;
        break;
      }
      have += result.value.byteLength;
    }
    return new Uint8Array(buffer, base, have);
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
      }
      if (have + chunk.byteLength > length) {
        pending.unshift(chunk.subarray(length - have));
        chunk = chunk.subarray(0, length - have);
      }
      chunks.push(chunk);
      have += chunk.byteLength;
    }
    if (chunks.length === 1 && into === undefined) return chunks[0];
    const bytes = into?.subarray(0, have) ?? new Uint8Array(have);
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
