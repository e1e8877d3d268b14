/**
 * `fileurls get`: downloads a stored file through a fresh download URL, with
 * the progress display of `fileurls upload`, into a file that appears whole
 * or not at all, and never over another unless asked.
 *
 * @module
 */

import { once } from "node:events";
import { link, lstat, open, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { FileObject } from "../api.ts";
import { nameProblem } from "../_params.ts";
import { randomId } from "../_encoding.ts";
import type { Client } from "../client/client.ts";
import { FileUrlsError } from "../client/errors.ts";
import { transportOf } from "../client/_request.ts";
import {
  API_OPTIONS,
  API_USAGE,
  cliClient,
  explain,
  positiveNumber,
} from "./_client.ts";
import { oneId, printable } from "./manage.ts";
import { codeOf, messageOf, print, printError, UsageError } from "./_output.ts";
import { advance, ProgressDisplay, renderDone } from "./_progress.ts";

/** The usage of `fileurls get`. */
export const GET_USAGE: string = `Usage: fileurls get [options] ID

Downloads a stored file through a fresh download URL into the current
folder under its own name, and prints the path written. On a terminal,
standard error shows its progress. The file appears whole or not at all:
the bytes go to a hidden temporary file first, renamed once complete.

Options:
${API_USAGE}
  -o, --output FILE         Where to write it; "-" for standard output; a
                            folder puts it there under its own name
                            (default: ./NAME)
  -f, --force               Replace FILE if it exists (default: never
                            overwrite a file)
      --timeout SECONDS     How long a request may go without a byte moving
                            (default: 300)
  -q, --quiet               Nothing on standard error but errors
  -h, --help                Show this help
`;

const OPTIONS = {
  ...API_OPTIONS,
  output: { type: "string", short: "o" },
  force: { type: "boolean", short: "f", default: false },
  timeout: { type: "string", default: "300" },
  quiet: { type: "boolean", short: "q", default: false },
} as const;

/** Where the bytes go: a file (through a temporary one) or standard output. */
interface Sink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Runs `fileurls get`.
 *
 * @param args The arguments after `get`.
 * @returns The exit code: 0 once the file is written, 1 if it failed, 130
 * if interrupted (SIGINT).
 * @throws {UsageError} For a bad option or argument.
 */
export async function get(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  const id = oneId(positionals, "download");
  if (values.output === "") {
    throw new UsageError('--output must be a path, or "-"');
  }
  const timeout = positiveNumber(values.timeout, "--timeout", "seconds");
  const cli = cliClient(values, timeout);
  const { client } = cli;

  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  let temp: string | undefined;
  try {
    const signal = interrupt.signal;
    const file = await client.files.get(id, { signal });
    const target = values.output === "-"
      ? undefined
      : await targetPath(file, values.output, values.force);
    const { download_url } = await client.files.downloadUrl(id, { signal });
    const action = `Cannot download ${JSON.stringify(file.name)}`;
    const progress = !values.quiet && process.stderr.isTTY
      ? terminalProgress(printable(file.name), file.size)
      : undefined;
    let sink: Sink;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    if (target === undefined) {
      sink = { write: (chunk) => writeStdout(chunk) };
    } else {
      const part = join(
        dirname(target),
        `.${target.split(/[\\/]/).pop()}.${randomId(6)}.fileurls-part`,
      );
      handle = await open(part, "wx", 0o666).catch((error) => {
        throw new Error(
          `${action}: cannot write ${JSON.stringify(target)}: ${
            codeOf(error) === "ENOENT" ? "no such folder" : messageOf(error)
          }`,
        );
      });
      // Ours from here on, to remove if anything fails.
      temp = part;
      sink = { write: (chunk) => writeAll(handle!, chunk) };
    }
    let size: number;
    try {
      size = await download(cli.client, download_url, file, sink, {
        action,
        signal,
        onProgress: progress?.update,
      });
    } catch (error) {
      progress?.close();
      throw error;
    } finally {
      await handle?.close();
    }
    progress?.done(size);
    if (target !== undefined) {
      await place(temp!, target, values.force, action);
      temp = undefined;
      print(`${target}\n`);
    }
    return 0;
  } catch (error) {
    if (interrupt.signal.aborted) {
      printError("fileurls get: interrupted\n");
      return 130;
    }
    printError(`fileurls get: ${explain(error, cli, [])}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    if (temp !== undefined) await unlink(temp).catch(() => {});
  }
}

/**
 * Where the file goes: `--output`, a folder it names, or the file's own
 * name in the current folder; refused if it exists, unless `force`.
 */
async function targetPath(
  file: FileObject,
  output: string | undefined,
  force: boolean,
): Promise<string> {
  const action = `Cannot download ${JSON.stringify(file.name)}`;
  let target = output;
  const folder = target !== undefined &&
    (await stat(target).catch(() => undefined))?.isDirectory();
  if (target === undefined || folder) {
    // The name comes from the server: only a plain file name is written.
    const problem = nameProblem(String(file.name));
    if (problem !== undefined) {
      throw new Error(
        `${action}: its name ${problem}, so it is not written under it: pass --output FILE`,
      );
    }
    target = target === undefined ? file.name : join(target, file.name);
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new Error(`${action}: ${JSON.stringify(target)} is a folder`);
  }
  if (existing !== undefined && !force) {
    throw new Error(
      `${action}: ${
        JSON.stringify(target)
      } exists; pass --force to replace it, or --output another path`,
    );
  }
  return target;
}

/**
 * Reads the download into `sink`, counting silence as the client does, and
 * checks that exactly the file's size arrived.
 *
 * @returns The bytes received.
 */
async function download(
  client: Client,
  url: string,
  file: FileObject,
  sink: Sink,
  options: {
    action: string;
    signal: AbortSignal;
    onProgress?: (loaded: number) => void;
  },
): Promise<number> {
  const { action, signal, onProgress } = options;
  let touch = () => {};
  const received = await transportOf(client).send(
    url,
    (_attempt, reset) => {
      touch = reset;
      return { method: "GET" };
    },
    async (response) => {
      let loaded = 0;
      const reader = response.body?.getReader();
      try {
        while (reader !== undefined) {
          const { done, value } = await reader.read();
          if (done) break;
          touch();
          try {
            await sink.write(value);
          } catch (error) {
            // Not the network's fault: told as it is, not as a broken answer.
            throw new FileUrlsError(
              `${action}: cannot write: ${messageOf(error)}`,
              { cause: error },
            );
          }
          loaded += value.byteLength;
          onProgress?.(loaded);
        }
      } finally {
        await reader?.cancel().catch(() => {});
      }
      return loaded;
    },
    { action, signal },
  );
  if (received !== file.size) {
    throw new FileUrlsError(
      `${action}: got ${received} bytes, but the file has ${file.size}`,
    );
  }
  return received;
}

/**
 * Moves the complete temporary file to `target`. Without `force`, a hard
 * link makes it appear only if nothing took the name meanwhile; where the
 * file system has no hard links, a last look and a rename do.
 */
async function place(
  temp: string,
  target: string,
  force: boolean,
  action: string,
): Promise<void> {
  if (!force) {
    try {
      await link(temp, target);
      await unlink(temp);
      return;
    } catch (error) {
      if (codeOf(error) === "EEXIST") {
        throw new Error(
          `${action}: ${
            JSON.stringify(target)
          } appeared meanwhile; pass --force to replace it`,
        );
      }
      if (await lstat(target).then(() => true, () => false)) throw error;
    }
  }
  await rename(temp, target);
}

async function writeAll(
  handle: Awaited<ReturnType<typeof open>>,
  chunk: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < chunk.byteLength;) {
    const { bytesWritten } = await handle.write(
      chunk,
      offset,
      chunk.byteLength - offset,
    );
    offset += bytesWritten;
  }
}

async function writeStdout(chunk: Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
}

/** The live line of the download on a terminal, as `fileurls upload` draws. */
function terminalProgress(label: string, total: number): {
  update(loaded: number): void;
  done(size: number): void;
  close(): void;
} {
  const stderr = process.stderr as { columns?: number };
  const display = new ProgressDisplay({
    write: (text) => process.stderr.write(text),
    get columns() {
      return stderr.columns;
    },
  });
  const state = display.add(0, label);
  advance(state, 0, total, display.now());
  return {
    update(loaded) {
      advance(state, loaded, total, display.now());
      display.changed();
    },
    done(size) {
      display.remove(0, () => {
        const line = renderDone(
          state,
          size,
          undefined,
          display.now(),
          display.width(),
        );
        process.stderr.write(`${line}\n`);
      });
      display.close();
    },
    close: () => display.close(),
  };
}
