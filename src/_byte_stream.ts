/**
 * Byte streams that let a reader's own buffer through. Where a body is a
 * byte stream (Deno's request bodies, Blob streams) and the code that reads
 * it at the end brings a buffer of its own (a BYOB reader), each read fills
 * that buffer, through every step on the way, and no chunk is allocated:
 * runtimes free chunks late, and on Deno a server reading a 1 GiB upload
 * chunk by chunk peaked 60 MiB higher than one reading it into one buffer.
 *
 * @module
 */

/**
 * Reads a source into `view`: the view's memory is handed to the source,
 * and comes back in the result, on another `ArrayBuffer` of the same size.
 */
export type ReadInto = (
  view: Uint8Array<ArrayBuffer>,
) => Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>;

/** Bytes per read for a reader that brings no buffer. */
export const CHUNK_SIZE = 64 * 1024;

/**
 * The BYOB reader of a byte stream.
 *
 * @param stream The stream.
 * @returns Its reader, which locks it; `undefined`, the stream left
 * unlocked, for a stream that is no byte stream.
 */
export function byobReader(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamBYOBReader | undefined {
  try {
    return stream.getReader({ mode: "byob" });
  } catch {
    return undefined; // Not a byte stream.
  }
}

/**
 * Where a byte stream's pull should read to: the buffer its reader brought,
 * or a new one of {@linkcode CHUNK_SIZE} bytes for a reader that brought
 * none.
 *
 * @param controller The stream's controller.
 * @returns The view to read into.
 */
export function pullView(
  controller: ReadableByteStreamController,
): Uint8Array<ArrayBuffer> {
  const given = controller.byobRequest?.view;
  return given
    ? new Uint8Array(
      given.buffer as ArrayBuffer,
      given.byteOffset,
      given.byteLength,
    )
    : new Uint8Array(CHUNK_SIZE);
}

/**
 * Hands what a byte stream's pull read to its reader: into the reader's
 * buffer, or as a chunk. At the end it closes the stream, and gives the
 * reader its buffer back.
 *
 * @param controller The stream's controller.
 * @param result What the pull read into {@linkcode pullView}'s view.
 */
export function pullDone(
  controller: ReadableByteStreamController,
  result: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>,
): void {
  const request = controller.byobRequest;
  if (result.done) {
    controller.close();
    if (request === null) return;
    if (result.value !== undefined) request.respondWithNewView(result.value);
    else request.respond(0);
    return;
  }
  if (request !== null) return request.respondWithNewView(result.value);
  // A chunk that fills little of its buffer goes in a buffer of its size: a
  // reader that keeps chunks keeps no more memory than bytes.
  const chunk = result.value;
  const small = chunk.byteLength < chunk.buffer.byteLength / 2;
  controller.enqueue(small ? chunk.slice() : chunk);
}

/** What a {@linkcode passBytes} stream does on the way. */
export interface PassSteps {
  /** Sees bytes as they are read, before the reader; throws to fail. */
  bytes?(bytes: Uint8Array): void;
  /** Sees the end of the source; throws to fail. */
  end?(): void;
}

/**
 * A byte stream over a source read through `read`, whose steps see every
 * byte on the way. A reader's BYOB reads go straight to the source. When a
 * step throws, the stream errors with what it threw and the source is
 * cancelled.
 *
 * @param read Reads the source into a view.
 * @param cancel Cancels the source.
 * @param steps What to do with the bytes and the end.
 * @returns The stream.
 */
export function passBytes(
  read: ReadInto,
  cancel: (reason?: unknown) => Promise<void>,
  steps: PassSteps = {},
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
      try {
        result = await read(pullView(controller));
        if (result.done) steps.end?.();
        else steps.bytes?.(result.value);
      } catch (error) {
        await cancel(error).catch(() => {});
        throw error;
      }
      pullDone(controller, result);
    },
    cancel: (reason) => cancel(reason),
  });
}

/**
 * A byte stream over a byte stream, whose steps see every byte; any other
 * stream is given back as it is, with `undefined`.
 *
 * @param stream The stream.
 * @param steps What to do with the bytes and the end.
 * @returns The byte stream, or `undefined` if `stream` is no byte stream.
 */
export function passByteStream(
  stream: ReadableStream<Uint8Array>,
  steps: PassSteps,
): ReadableStream<Uint8Array> | undefined {
  const reader = byobReader(stream);
  if (reader === undefined) return undefined;
  return passBytes(
    (view) => reader.read(view),
    (reason) => reader.cancel(reason),
    steps,
  );
}
