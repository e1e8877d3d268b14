/**
 * Test data: bytes, their digests, and the stream and iterable forms the
 * client takes.
 */

/**
 * Bytes from a linear congruential generator: the same for the same seed.
 *
 * @param size How many bytes.
 * @param seed Picks the sequence.
 */
export function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Bytes from `crypto.getRandomValues`, which fills at most 64 KiB per call.
 *
 * @param size How many bytes.
 */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  }
  return out;
}

/**
 * The SHA-256 digest of some bytes, in hex.
 *
 * @param data The bytes.
 */
export async function sha256(data: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * A non-seekable stream of copies of `data`'s chunks.
 *
 * @param data The bytes.
 * @param chunk Bytes per chunk.
 */
export function streamOf(
  data: Uint8Array,
  chunk = 1000,
): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/**
 * An async iterable of copies of `data`'s chunks.
 *
 * @param data The bytes.
 * @param chunk Bytes per chunk.
 */
export async function* iterableOf(
  data: Uint8Array,
  chunk = 777,
): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += chunk) {
    yield data.slice(i, i + chunk);
  }
}

/** A stream that stops midway until released. */
export interface HeldStream {
  /** Sends `"he"`, waits for {@linkcode HeldStream.release}, then `"llo"`. */
  stream: ReadableStream<Uint8Array>;
  /** Lets the rest of the stream through. */
  release(): void;
}

/**
 * A five-byte stream (`"hello"`) that holds after its first two bytes, to
 * keep an upload in progress while a test looks on.
 */
export function heldStream(): HeldStream {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode("he"));
      await held;
      controller.enqueue(encoder.encode("llo"));
      controller.close();
    },
  });
  return { stream, release };
}
