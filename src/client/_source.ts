/**
 * Every kind of {@linkcode FileContent} as a source of parts, with a name
 * and a media type: seekable sources (Blobs, bytes, files by path, Node
 * `fs.ReadStream`, `Bun.file()`) are read at any offset, so a part is read
 * only when it is sent; one-way sources (streams, async iterables) are read
 * one part at a time. Either way memory holds parts, never the whole file.
 *
 * @module
 */
import { isMediaType } from "../_media_type.ts";
import { basename } from "../_path.ts";
import {
  builtinModule,
  bunGlobal,
  pacedCollector,
  runtime,
} from "../_runtime.ts";
import type { FileContent, UploadOptions } from "./types.ts";
import { GARBAGE_BYTES, readByob, streamSource } from "./_stream_source.ts";
import { describe, typeOf } from "./_describe.ts";

/** A file to upload, read part by part. */
export interface Source {
  /** The file name. */
  name: string;
  /** The media type to declare and send. */
  type: string;
  /** The exact size, or `undefined` for a stream until it ends. */
  size: number | undefined;
  /**
   * Reads bytes `offset` to `offset + length` (seekable sources only), into
   * `into` where the bytes are not in memory already, so that parts reuse
   * the same few buffers.
   */
  readAt?(
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array>;
  /**
   * Reads the next `length` bytes, fewer only at the end (one-way sources),
   * into `into` if given.
   */
  next?(length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Puts bytes back in front of what `next` reads (one-way sources). */
  unshift?(bytes: Uint8Array): void;
  /** The rest of the file as one body that can be sent again on a retry. */
  whole(): Promise<Blob | Uint8Array>;
  /** Frees what the source holds open. */
  close(): Promise<void>;
}

interface NodeFs {
  openAsBlob?: (path: string | URL) => Promise<Blob>;
  promises: {
    stat(path: string | URL): Promise<{ isFile(): boolean; size: number }>;
    open(path: string | URL, flags: "r"): Promise<NodeFile>;
  };
}

interface NodeFile {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** A Node `fs.ReadStream`: a readable with the path of its file. */
interface ReadStreamLike {
  path: string | URL;
  start?: number;
  end?: number;
  pipe: unknown;
  destroy(): void;
}

/**
 * Opens a source: its name, media type, size where it can be known, and a
 * way to read it.
 *
 * @param content What to upload.
 * @param options The name and media type, if given.
 * @returns The source.
 * @throws {TypeError} If no name can be found or an option is malformed.
 */
export async function openSource(
  content: FileContent,
  options: UploadOptions,
): Promise<Source> {
  if (options.name !== undefined) checkName(options.name);
  if (options.mimeType !== undefined) checkMediaType(options.mimeType);

  if (typeof content === "string" || content instanceof URL) {
    const name = options.name ?? basename(content);
    checkName(name);
    return await openPath(content, name, options);
  }
  if (isReadStream(content)) {
    const name = options.name ?? basename(content.path);
    checkName(name);
    const end = content.end === undefined || content.end === Infinity
      ? undefined
      : content.end + 1;
    const source = await openPath(content.path, name, options, {
      start: content.start ?? 0,
      end,
    });
    content.destroy(); // Read at offsets, never as a stream.
    return source;
  }
  if (content instanceof Blob) {
    // A File's name is the file's name, to check as it is; a Bun.file() (a
    // Blob, not a File) has its path for a name.
    const own = (content as { name?: unknown }).name;
    const name = options.name ??
      (typeof own !== "string" || own === ""
        ? undefined
        : content instanceof File
        ? own
        : basename(own));
    return blobSource(requireName(name, "a Blob"), content, options);
  }
  if (content instanceof ArrayBuffer || ArrayBuffer.isView(content)) {
    const name = requireName(options.name, "bytes");
    const bytes = content instanceof ArrayBuffer
      ? new Uint8Array(content)
      : new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
    return bytesSource(name, bytes, options);
  }
  if (content instanceof ReadableStream || isAsyncIterable(content)) {
    const what = content instanceof ReadableStream
      ? "a ReadableStream"
      : "an async iterable";
    const name = requireName(options.name, what);
    return streamSource(name, content, options);
  }
  throw new TypeError(
    `Cannot upload: unsupported content of type ${describe(content)}`,
  );
}

/**
 * Whether the contents name themselves, so that {@linkcode openSource}
 * needs no `options.name`: a file path, a Node `fs.ReadStream`, a `File`
 * or a `Bun.file()`.
 *
 * @param content What to upload.
 * @returns Whether a name can be found without options.
 */
export function namesItself(content: FileContent): boolean {
  if (typeof content === "string" || content instanceof URL) return true;
  if (isReadStream(content)) return true;
  const own = (content as { name?: unknown }).name;
  return content instanceof Blob && typeof own === "string" && own !== "";
}

function blobSource(
  name: string,
  blob: Blob,
  options: UploadOptions,
  type = blob.type,
): Source {
  // Bun's stream of a slice of a Blob in memory holds far more than the
  // slice: reading a 1 GiB Blob in 5 MiB parts that way peaked 1 GiB over
  // the Blob, against 150 MiB for `arrayBuffer()`. In Chromium, BYOB reads
  // of slices of a 1 GiB File, four at once beside their uploads, could
  // stall for good; `arrayBuffer()` did not.
  const whole = bunGlobal() !== undefined || runtime() === "browser";
  // Bun frees each part's ArrayBuffer late: a collection, waited for, every
  // 16 MiB read, at most a tenth of the time, kept a 1 GiB Blob's upload at
  // 44 MiB over the Blob, against 119-127 with collections only asked for.
  const collect = pacedCollector(GARBAGE_BYTES, 0.1);
  return {
    name,
    type: typeOf(name, options, type),
    size: blob.size,
    async readAt(offset, length, into) {
      const part = blob.slice(offset, offset + length);
      if (into === undefined || whole) {
        collect(length);
        return new Uint8Array(await part.arrayBuffer());
      }
      const stream = part.stream();
      const bytes = into.subarray(0, length);
      let byob: ReadableStreamBYOBReader | undefined;
      try {
        byob = stream.getReader({ mode: "byob" });
      } catch {
        byob = undefined; // Not a byte stream, against the File API.
      }
      if (byob !== undefined) {
        const read = await readByob(byob, bytes);
        await byob.cancel().catch(() => {});
        return read.bytes;
      }
      const reader = stream.getReader();
      let filled = 0;
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes.set(value, filled);
        filled += value.byteLength;
      }
      return bytes.subarray(0, filled);
    },
    whole: () => Promise.resolve(blob),
    close: () => Promise.resolve(),
  };
}

function bytesSource(
  name: string,
  bytes: Uint8Array,
  options: UploadOptions,
): Source {
  return {
    name,
    type: typeOf(name, options),
    size: bytes.byteLength,
    readAt: (offset, length) =>
      Promise.resolve(bytes.subarray(offset, offset + length)),
    whole: () => Promise.resolve(bytes),
    close: () => Promise.resolve(),
  };
}

/**
 * Opens a file by path: parts are read from the open file at their offsets
 * into the caller's buffers (`node:fs` on Deno, Bun and Node alike). The
 * whole file, for a single `PUT`, is a lazily read Blob on Bun (`Bun.file`)
 * and Node (`fs.openAsBlob`); Deno's `openAsBlob` reads the file whole, and
 * Node's tells a wrong size from 4 GiB on, so there it is read in chunks
 * into a Blob.
 */
async function openPath(
  path: string | URL,
  name: string,
  options: UploadOptions,
  range: { start: number; end?: number } = { start: 0 },
): Promise<Source> {
  const where = path instanceof URL ? path.href : path;
  const fs = builtinModule<NodeFs>("node:fs");
  if (fs === undefined) {
    throw new TypeError(
      `Cannot upload "${name}": file paths need a file system, which this runtime lacks; pass a Blob or bytes`,
    );
  }
  let handle: NodeFile | undefined;
  try {
    const stat = await fs.promises.stat(path);
    if (!stat.isFile()) throw new Error("not a file");
    handle = await fs.promises.open(path, "r");
    const file = handle;
    const start = Math.min(range.start, stat.size);
    const size = Math.min(range.end ?? stat.size, stat.size) - start;
    const bun = bunGlobal();
    // Bun guesses a type from the extension; fileurls infers its own.
    let lazy = bun
      ? bun.file(path).slice(start, start + size, "")
      : runtime() !== "deno" && fs.openAsBlob
      ? (await fs.openAsBlob(path)).slice(start, start + size, "")
      : undefined;
    // Node tells the size of a file of 4 GiB or more modulo 4 GiB
    // (nodejs/node#52585): such a Blob would send too few bytes.
    if (lazy?.size !== size) lazy = undefined;
    const readAt = (offset: number, length: number, into?: Uint8Array) =>
      readInto(
        file,
        start + offset,
        Math.min(length, size - offset),
        into,
        name,
      );
    return {
      name,
      type: typeOf(name, options),
      size,
      readAt,
      async whole() {
        if (lazy !== undefined) return lazy;
        // Node 20 makes no Blob of 4 GiB or more: said before any read.
        const most = builtinModule<NodeBuffer>("node:buffer")?.constants
          ?.MAX_LENGTH;
        if (most !== undefined && size > most) {
          throw new Error(
            `Cannot upload "${name}": this runtime cannot hold its ${size} bytes for one PUT; send it in parts (a partSize below its size, to an API that offers multipart uploads)`,
          );
        }
        // Each chunk goes into a Blob of its own at once, which the whole
        // one then refers to: the file is held once, not twice.
        const chunks: Blob[] = [];
        for (let offset = 0; offset < size; offset += READ_CHUNK) {
          chunks.push(new Blob([await readAt(offset, READ_CHUNK) as BlobPart]));
        }
        return new Blob(chunks);
      },
      close: () => file.close(),
    };
  } catch (error) {
    await handle?.close().catch(() => {});
    throw new Error(`Cannot upload "${name}": cannot read ${where}`, {
      cause: error,
    });
  }
}

interface NodeBuffer {
  constants?: { MAX_LENGTH?: number };
}

/** Bytes per read of a whole file into a Blob. */
const READ_CHUNK = 1024 * 1024;

async function readInto(
  file: NodeFile,
  position: number,
  length: number,
  into: Uint8Array | undefined,
  name: string,
): Promise<Uint8Array> {
  const bytes = (into ?? new Uint8Array(length)).subarray(0, length);
  // A read may bring fewer bytes than asked for: read on from where it ended.
  for (let filled = 0; filled < length;) {
    const at = position + filled;
    const { bytesRead } = await file.read(bytes, filled, length - filled, at);
    if (bytesRead === 0) {
      throw new RangeError(`Cannot upload "${name}": the file ended at ${at}`);
    }
    filled += bytesRead;
  }
  return bytes;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(
      `Cannot upload: the name must be a non-empty string, got ${
        describe(name)
      }`,
    );
  }
}

function checkMediaType(type: unknown): void {
  if (typeof type !== "string" || !isMediaType(type)) {
    throw new TypeError(
      `Cannot upload: mimeType must be a media type such as "image/png", got ${
        JSON.stringify(type)
      }`,
    );
  }
}

function requireName(name: string | undefined, what: string): string {
  if (name === undefined) {
    throw new TypeError(
      `Cannot upload ${what}: pass options.name, since ${what} has no name`,
    );
  }
  return name;
}

function isReadStream(value: unknown): value is ReadStreamLike {
  const stream = value as ReadStreamLike | null;
  return typeof stream === "object" && stream !== null &&
    (typeof stream.path === "string" || stream.path instanceof URL) &&
    typeof stream.pipe === "function" &&
    typeof stream.destroy === "function";
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === "object" && value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] ===
      "function";
}
