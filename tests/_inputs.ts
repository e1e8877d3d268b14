/**
 * Every kind of input `Files.upload()` takes, in one table for the client's
 * wire tests and the end-to-end tests: how to make a fresh one from bytes,
 * and the name, media type and disposition the upload must end up with.
 *
 * @module
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileContent } from "../mod.ts";
import { iterableOf, streamOf } from "./_data.ts";

/** One kind of input. */
export interface InputKind {
  /** Names the kind in test titles, e.g. `"a File"`. */
  label: string;
  /**
   * Makes a fresh input holding `data` (a stream is read only once).
   *
   * @param data The bytes.
   * @param dir A folder to write the file to, for paths and `file:` URLs.
   */
  make(
    data: Uint8Array<ArrayBuffer>,
    dir: string,
  ): FileContent | Promise<FileContent>;
  /** `options.name`, for an input that carries no name of its own. */
  name?: string;
  /** The name the upload is created with. */
  expectName: string;
  /** The media type it is created with, inferred or the Blob's own. */
  expectType: string;
  /** How the route serves the download: only safe types are `inline`. */
  expectDisposition: "inline" | "attachment";
}

async function fileAt(
  dir: string,
  name: string,
  data: Uint8Array,
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

/**
 * A Blob whose `stream()`, and its slices' too, is a stream of plain chunks
 * rather than the byte stream the File API makes, as a polyfilled Blob's may
 * be: the client must read it without a BYOB reader.
 */
class PlainStreamBlob extends Blob {
  override slice(start?: number, end?: number, type?: string): Blob {
    return new PlainStreamBlob([super.slice(start, end, type)], { type });
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const reader = super.stream().getReader();
    return new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

/** The kinds, each with a name and a type of its own. */
export const INPUT_KINDS: readonly InputKind[] = [
  {
    label: "a File",
    make: (d) => new File([d], "photo.png"),
    expectName: "photo.png",
    expectType: "image/png",
    expectDisposition: "inline",
  },
  {
    label: "a Blob with a name",
    make: (d) => new Blob([d], { type: "text/csv" }),
    name: "table.csv",
    expectName: "table.csv",
    expectType: "text/csv",
    expectDisposition: "attachment",
  },
  {
    label: "a Blob whose stream is no byte stream",
    make: (d) => new PlainStreamBlob([d]),
    name: "weights.gguf",
    expectName: "weights.gguf",
    expectType: "application/octet-stream",
    expectDisposition: "attachment",
  },
  {
    label: "a Uint8Array",
    make: (d) => d,
    name: "data.bin",
    expectName: "data.bin",
    expectType: "application/octet-stream",
    expectDisposition: "attachment",
  },
  {
    label: "an ArrayBuffer",
    make: (d) => d.slice().buffer,
    name: "report.pdf",
    expectName: "report.pdf",
    expectType: "application/pdf",
    // The route sandboxes downloads, and no browser shows a sandboxed PDF.
    expectDisposition: "attachment",
  },
  {
    label: "a DataView",
    make: (d) => {
      // A view into the middle of a larger buffer: only its own bytes count.
      const big = new Uint8Array(d.length + 20);
      big.set(d, 10);
      return new DataView(big.buffer, 10, d.length);
    },
    name: "notes.txt",
    expectName: "notes.txt",
    expectType: "text/plain",
    expectDisposition: "inline",
  },
  {
    label: "a ReadableStream",
    make: (d) => streamOf(d, 10_000),
    name: "page.html",
    expectName: "page.html",
    expectType: "text/html",
    expectDisposition: "attachment",
  },
  {
    label: "an AsyncIterable",
    make: (d) => iterableOf(d, 7777),
    name: "drawing.svg",
    expectName: "drawing.svg",
    expectType: "image/svg+xml",
    expectDisposition: "attachment",
  },
  {
    label: "a path string",
    make: (d, dir) => fileAt(dir, "été à la mer.jpg", d),
    expectName: "été à la mer.jpg",
    expectType: "image/jpeg",
    expectDisposition: "inline",
  },
  {
    label: "a file: URL",
    make: async (d, dir) =>
      pathToFileURL(await fileAt(dir, "archive (1).zip", d)),
    expectName: "archive (1).zip",
    expectType: "application/zip",
    expectDisposition: "attachment",
  },
];
