/**
 * Byte streams that let a reader's buffer through (`src/_byte_stream.ts`),
 * the exact-size count built on them (`exactSize`), and `fsStorage()` and the
 * route reading byte-stream bodies straight into their buffers.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byobReader, CHUNK_SIZE, passByteStream } from "../src/_byte_stream.ts";
import { exactSize } from "../src/storage/_common.ts";
import { fsStorage } from "../src/hono/mod.ts";
import { bytes } from "./_data.ts";

/**
 * A byte stream of `data` that hands out at most `step` bytes per read, and
 * tells how it was read and whether it was cancelled.
 */
function byteStream(data: Uint8Array, step: number) {
  let offset = 0;
  const seen = { byob: 0, chunks: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= data.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      if (request?.view) {
        seen.byob++;
        const view = new Uint8Array(
          request.view.buffer,
          request.view.byteOffset,
          request.view.byteLength,
        );
        const n = Math.min(step, view.byteLength, data.byteLength - offset);
        view.set(data.subarray(offset, offset + n));
        offset += n;
        request.respond(n);
      } else {
        seen.chunks++;
        const n = Math.min(step, data.byteLength - offset);
        controller.enqueue(data.slice(offset, offset + n));
        offset += n;
      }
    },
    cancel(reason) {
      seen.cancelled = reason ?? "cancelled";
    },
  });
  return { stream, seen };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/** Reads a stream whole through a BYOB reader into one buffer, reused. */
async function readByob(
  stream: ReadableStream<Uint8Array>,
  size: number,
): Promise<{ data: Uint8Array; bufferLength: number }> {
  const reader = byobReader(stream);
  assert.ok(reader, "a byte stream");
  let buffer = new ArrayBuffer(size + 16);
  let filled = 0;
  while (true) {
    const { done, value } = await reader.read(
      new Uint8Array(buffer, filled, buffer.byteLength - filled),
    );
    if (value !== undefined) buffer = value.buffer as ArrayBuffer;
    if (done) break;
    filled += value.byteLength;
  }
  return {
    data: new Uint8Array(buffer, 0, filled),
    bufferLength: buffer.byteLength,
  };
}

describe("passByteStream()", () => {
  test("a BYOB reader's buffer goes to the source, and comes back at the end", async () => {
    const data = bytes(100_000, 3);
    const source = byteStream(data, 7000);
    let seenBytes = 0;
    let ends = 0;
    const passed = passByteStream(source.stream, {
      bytes: (chunk) => void (seenBytes += chunk.byteLength),
      end: () => void ends++,
    })!;
    const { data: read, bufferLength } = await readByob(passed, data.length);
    assert.deepEqual(read, data);
    assert.equal(bufferLength, data.length + 16, "the reader's own buffer");
    assert.equal(source.seen.chunks, 0, "no chunk allocated by the source");
    assert.ok(source.seen.byob >= 15, "read into the reader's buffer");
    assert.equal(seenBytes, data.length);
    assert.equal(ends, 1);
  });

  test("a default reader gets chunks, none of which keeps a buffer twice its size", async () => {
    const data = bytes(20_000, 4);
    const source = byteStream(data, 3000);
    const passed = passByteStream(source.stream, {})!;
    const chunks: Uint8Array[] = [];
    for await (const chunk of passed) chunks.push(chunk);
    assert.deepEqual(concat(chunks), data);
    for (const chunk of chunks) {
      assert.ok(
        chunk.buffer.byteLength <= Math.max(chunk.byteLength * 2, 1),
        `a ${chunk.byteLength}-byte chunk on ${chunk.buffer.byteLength} bytes`,
      );
    }
    assert.ok(CHUNK_SIZE > 3000);
  });

  test("a step that throws errors the stream with its error and cancels the source", async () => {
    const source = byteStream(bytes(50_000, 5), 1000);
    const refusal = new RangeError("too much");
    let seen = 0;
    const passed = passByteStream(source.stream, {
      bytes(chunk) {
        seen += chunk.byteLength;
        if (seen > 4000) throw refusal;
      },
    })!;
    await assert.rejects(
      readByob(passed, 50_000),
      (error) => error === refusal,
    );
    assert.equal(source.seen.cancelled, refusal);
  });

  test("a stream that is no byte stream is left as it is", () => {
    const plain = new ReadableStream<Uint8Array>();
    assert.equal(passByteStream(plain, {}), undefined);
    assert.equal(plain.locked, false);
  });
});

describe("exactSize() of a byte stream and of another stream", () => {
  const data = bytes(30_000, 6);
  const kinds = [
    ["a byte stream", (d: Uint8Array) => byteStream(d, 4096).stream],
    ["another stream", (d: Uint8Array) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < d.length; i += 4096) {
            controller.enqueue(d.slice(i, i + 4096));
          }
          controller.close();
        },
      })],
  ] as const;
  for (const [label, make] of kinds) {
    test(`${label}: exactly the size passes, counted`, async () => {
      const counted = exactSize(make(data), data.length, "Cannot store");
      const chunks: Uint8Array[] = [];
      for await (const chunk of counted.stream) chunks.push(chunk);
      assert.deepEqual(concat(chunks), data);
      assert.equal(counted.received, data.length);
    });
    test(`${label}: a byte over is a RangeError`, async () => {
      const counted = exactSize(make(data), data.length - 1, "Cannot store");
      await assert.rejects(
        async () => {
          for await (const _ of counted.stream) { /* read on */ }
        },
        {
          name: "RangeError",
          message: `Cannot store: the body is longer than ${
            data.length - 1
          } bytes`,
        },
      );
      assert.ok(counted.received > data.length - 1);
    });
    test(`${label}: a byte short is a RangeError`, async () => {
      const counted = exactSize(make(data), data.length + 1, "Cannot store");
      await assert.rejects(
        async () => {
          for await (const _ of counted.stream) { /* read on */ }
        },
        {
          name: "RangeError",
          message: `Cannot store: the body ended after ${data.length} of ${
            data.length + 1
          } bytes`,
        },
      );
    });
  }
});

describe("fsStorage() reads a byte-stream body into its write buffer", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test("every byte lands in place, across write buffers, read in odd steps", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fileurls-bytes-"));
    dirs.push(dir);
    const storage = fsStorage({ dir });
    const data = bytes(1_300_001, 7);
    const source = byteStream(data, 77_777);
    await storage.put("k1", source.stream, {
      name: "a.bin",
      size: data.length,
      type: "application/octet-stream",
    });
    assert.equal(source.seen.chunks, 0, "read into the storage's buffer");
    assert.deepEqual(
      new Uint8Array(await readFile(join(dir, "k1", "data"))),
      data,
    );
  });

  test("a byte-stream body a byte longer or shorter stores nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fileurls-bytes-"));
    dirs.push(dir);
    const storage = fsStorage({ dir });
    const data = bytes(600_000, 8);
    for (const size of [data.length - 1, data.length + 1]) {
      const source = byteStream(data, 65_536);
      await assert.rejects(
        storage.put("k2", source.stream, {
          name: "a.bin",
          size,
          type: "application/octet-stream",
        }),
        RangeError,
      );
    }
    assert.deepEqual(await readdir(dir), []);
  });
});
