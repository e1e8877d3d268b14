/**
 * Turns every kind of {@linkcode FileContent} into one replayable body of
 * known, exact size, with a name and a media type.
 *
 * @module
 */
import { isMediaType, typeByName } from "../_media_type.ts";
import { basename } from "../_path.ts";
import { builtinModule, bunGlobal, denoGlobal } from "../_runtime.ts";
import type { FileContent, UploadOptions } from "./types.ts";

/** A body that can be sent again on a retry, with its exact size. */
export interface Payload {
  name: string;
  size: number;
  type: string;
  /** A Blob (possibly backed by a file) or bytes held in memory. */
  data: Blob | Uint8Array;
}

const FALLBACK_TYPE = "application/octet-stream";

interface NodeFs {
  openAsBlob?: (path: string | URL) => Promise<Blob>;
  promises: { stat(path: string | URL): Promise<{ isFile(): boolean }> };
}

/**
 * Resolves name, exact size, media type and a replayable body.
 *
 * @throws {TypeError} If no name can be found or an option is malformed.
 */
export async function toPayload(
  content: FileContent,
  options: UploadOptions,
): Promise<Payload> {
  if (options.name !== undefined) checkName(options.name);
  if (options.mimeType !== undefined) checkMediaType(options.mimeType);

  if (typeof content === "string" || content instanceof URL) {
    const name = options.name ?? basename(content);
    checkName(name);
    const data = await readPath(content, name);
    return finish(name, data, options);
  }
  if (content instanceof Blob) {
    const name = options.name ??
      (typeof File !== "undefined" && content instanceof File
        ? content.name
        : undefined);
    return finish(requireName(name, "a Blob"), content, options, content.type);
  }
  if (content instanceof ArrayBuffer) {
    const name = requireName(options.name, "bytes");
    return finish(name, new Uint8Array(content), options);
  }
  if (ArrayBuffer.isView(content)) {
    const name = requireName(options.name, "bytes");
    const bytes = new Uint8Array(
      content.buffer,
      content.byteOffset,
      content.byteLength,
    );
    return finish(name, bytes, options);
  }
  if (content instanceof ReadableStream || isAsyncIterable(content)) {
    const what = content instanceof ReadableStream
      ? "a ReadableStream"
      : "an async iterable";
    const name = requireName(options.name, what);
    return finish(name, await collect(content, name), options);
  }
  throw new TypeError(
    `Cannot upload: unsupported content of type ${describe(content)}`,
  );
}

function finish(
  name: string,
  data: Blob | Uint8Array,
  options: UploadOptions,
  blobType?: string,
): Payload {
  const type = options.mimeType ||
    (blobType && isMediaType(blobType) ? blobType : undefined) ||
    typeByName(name) || FALLBACK_TYPE;
  const size = data instanceof Blob ? data.size : data.byteLength;
  return { name, size, type, data };
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

/**
 * Opens a file with the least memory the runtime allows while keeping an
 * exact size: a lazily read Blob on Bun (`Bun.file`) and Node
 * (`fs.openAsBlob`). Deno's `fetch` sends any stream chunked and its
 * `openAsBlob` reads the file whole, so there the file is read in chunks
 * into a Blob, which `bench/upload.ts` measured as the fastest and smallest
 * of the exact-length forms (Blob of chunks, Blob of the whole file, bytes).
 */
async function readPath(
  path: string | URL,
  name: string,
): Promise<Blob> {
  const where = path instanceof URL ? path.href : path;
  try {
    const deno = denoGlobal();
    if (deno) {
      const file = await deno.open(path);
      return await collect(file.readable, name);
    }
    const bun = bunGlobal();
    if (bun) {
      await checkFile(path);
      // Bun guesses a type from the extension; fileurls infers its own.
      const file = bun.file(path);
      return file.slice(0, file.size, "");
    }
    const fs = builtinModule<NodeFs>("node:fs");
    if (fs?.openAsBlob) {
      await checkFile(path);
      return await fs.openAsBlob(path);
    }
  } catch (error) {
    throw new Error(`Cannot upload "${name}": cannot read ${where}`, {
      cause: error,
    });
  }
  throw new TypeError(
    `Cannot upload "${name}": file paths need a file system, which this runtime lacks; pass a Blob or bytes`,
  );
}

async function checkFile(path: string | URL): Promise<void> {
  const stat = await builtinModule<NodeFs>("node:fs")?.promises.stat(path);
  if (stat && !stat.isFile()) throw new Error("not a file");
}

async function collect(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  name: string,
): Promise<Blob> {
  const parts: Uint8Array[] = [];
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(checkChunk(value, name));
    }
  } else {
    for await (const chunk of source) parts.push(checkChunk(chunk, name));
  }
  return new Blob(parts as BlobPart[]);
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

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === "object" && value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] ===
      "function";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    return value.constructor?.name ?? "object";
  }
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}
