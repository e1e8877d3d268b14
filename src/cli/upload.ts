/**
 * `fileurls upload`: sends files to any fileurls API and prints their
 * download URLs.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { DEFAULT_RESOURCE } from "../api.ts";
import { quoteName } from "../_params.ts";
import { basename } from "../_path.ts";
import type { UploadProgress } from "../client/types.ts";
import {
  API_OPTIONS,
  API_USAGE,
  cliClient,
  explain,
  positiveNumber,
} from "./_client.ts";
import { downloadExpiry } from "./_expiry.ts";
import { plainReport, terminalReport } from "./_report.ts";
import { releaseAll } from "./_resume.ts";
import { abandon, isResumable, uploadPath } from "./_upload_path.ts";
import { parseDuration } from "./_units.ts";
import {
  flushed,
  messageOf,
  print,
  printError,
  UsageError,
} from "./_output.ts";

/** The usage of `fileurls upload`. */
export const UPLOAD_USAGE: string = `Usage: fileurls upload [options] FILE...

Uploads each FILE ("-" reads standard input) and prints one download URL per
line, in the order given. On a terminal, standard error shows each file's
progress and how long its link works.

Options:
${API_USAGE}
  -n, --name NAME           The file name to upload as; needed for "-", and
                            only for a single FILE (default: the file's own)
      --resource NAME       What the files are for (default: prediction)
      --lifetime TIME       How long the API keeps the files: seconds, or
                            with a unit, e.g. 90m, 12h, 7d (default: the
                            API's own; fileurls serve keeps them until
                            deleted)
  -c, --concurrency N       Files uploaded at once (default: 2)
      --part-concurrency N  Parts of one file sent at once (default: 4)
      --part-size MIB       Files larger than this go in parts of this size,
                            resumable (default: 5)
      --timeout SECONDS     How long a request may go without a byte moving
                            (default: 300)
      --no-resume           Start every file over, even where an earlier run
                            left an unfinished upload of it
  -j, --json                Print one JSON object per file instead:
                            {"file","id","name","size","mime_type",
                            "download_url","expires_at","sha256"}
  -q, --quiet               Nothing on standard error but errors
  -h, --help                Show this help

A file sent in parts that fails midway is resumed by running the same
command again: its upload is kept in ~/.local/state/fileurls/uploads
(FILEURLS_STATE_DIR or XDG_STATE_HOME move it) until it completes.
`;

/** The options of `fileurls upload`, for `parseArgs`. */
const OPTIONS = {
  ...API_OPTIONS,
  name: { type: "string", short: "n" },
  resource: { type: "string", default: DEFAULT_RESOURCE },
  lifetime: { type: "string" },
  concurrency: { type: "string", short: "c", default: "2" },
  "part-concurrency": { type: "string", default: "4" },
  timeout: { type: "string", default: "300" },
  "part-size": { type: "string", default: "5" },
  "no-resume": { type: "boolean", default: false },
  json: { type: "boolean", short: "j", default: false },
  quiet: { type: "boolean", short: "q", default: false },
} as const;

/**
 * Runs `fileurls upload`.
 *
 * @param args The arguments after `upload`.
 * @returns The exit code: 0 if every file was uploaded, else 1.
 * @throws {UsageError} For a bad option or argument.
 */
export async function upload(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError("no FILE given");
  if (values.name !== undefined && positionals.length > 1) {
    throw new UsageError("--name needs exactly one FILE");
  }
  if (positionals.includes("-") && values.name === undefined) {
    throw new UsageError('--name is needed to upload standard input ("-")');
  }
  if (positionals.filter((file) => file === "-").length > 1) {
    throw new UsageError('standard input ("-") can be uploaded only once');
  }
  const timeout = positiveNumber(values.timeout, "--timeout", "seconds");
  const partMib = positiveNumber(values["part-size"], "--part-size", "MiB");
  const partSize = Math.max(1, Math.round(partMib * 1024 * 1024));
  const concurrency = wholeNumber(values.concurrency, "--concurrency");
  const partConcurrency = wholeNumber(
    values["part-concurrency"],
    "--part-concurrency",
  );
  let lifetime: number | undefined;
  if (values.lifetime !== undefined) {
    lifetime = parseDuration(values.lifetime);
    if (lifetime === undefined) {
      throw new UsageError(
        `--lifetime must be a duration such as 90m, 12h or 7d, got ${
          JSON.stringify(values.lifetime)
        }`,
      );
    }
  }
  const cli = cliClient(values, timeout);
  const { client, baseUrl } = cli;
  // Checked before any file is read: a bad resource is a usage error. Which
  // resources exist is the API's to say.
  const resource = values.resource;
  if (resource === "") {
    throw new UsageError("--resource must be a non-empty string");
  }

  const report = !values.quiet && process.stderr.isTTY
    ? terminalReport()
    : plainReport;
  // Lines for standard output, printed in the order of the files.
  const lines: (string | null | undefined)[] = positionals.map(() => undefined);
  let printed = 0;
  const flush = () => {
    while (printed < lines.length && lines[printed] !== undefined) {
      const line = lines[printed++] as string | null;
      if (line !== null) report.print(() => print(line));
    }
  };
  let failed = false;
  let usage: unknown;
  let next = 0;

  // Standard input cannot be read again, so its upload cannot be resumed:
  // stopped or failed, it is aborted at the API, leaving nothing behind.
  const stdinStop = new AbortController();
  let stdinUpload: Promise<unknown> | undefined;

  async function uploadOne(key: number): Promise<void> {
    const file = positionals[key];
    const name = file === "-" ? values.name! : values.name ?? basename(file);
    try {
      report.start(key, name);
      const onProgress = (progress: UploadProgress) =>
        report.progress(key, progress);
      const result = file === "-"
        ? await (stdinUpload = client.files.uploadFile(
          process.stdin as AsyncIterable<Uint8Array>,
          resource,
          {
            name,
            partSize,
            concurrency: partConcurrency,
            lifetime,
            onProgress,
            signal: stdinStop.signal,
          },
        ))
        : await uploadPath(client, file, resource, {
          name,
          partSize,
          concurrency: partConcurrency,
          lifetime,
          resume: !values["no-resume"],
          baseUrl,
          onProgress,
          onNote: (note) => report.note(key, note),
        });
      const expiresAt = downloadExpiry(result.downloadUrl);
      lines[key] = values.json
        ? JSON.stringify({
          file,
          ...(result.id === undefined ? {} : { id: result.id }),
          name: result.name,
          size: result.size,
          mime_type: result.mimeType,
          download_url: result.downloadUrl,
          ...(expiresAt === undefined
            ? {}
            : { expires_at: expiresAt.toISOString() }),
          ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
        }) + "\n"
        : `${result.downloadUrl}\n`;
      report.done(key, result, expiresAt, flush);
    } catch (error) {
      lines[key] = null;
      // Stopped by Ctrl-C, which has said so.
      if (file === "-" && stdinStop.signal.aborted) return;
      const uploadUrl = (error as { uploadUrl?: string }).uploadUrl;
      if (file === "-" && uploadUrl !== undefined) await abandon(uploadUrl);
      // The client checks its arguments before any request: a name given
      // with --name is a usage error, one taken from the file is this
      // file's failure.
      if (
        (error instanceof TypeError || error instanceof RangeError) &&
        (values.name !== undefined || !/: name /.test(messageOf(error)))
      ) {
        usage ??= error;
        next = positionals.length;
        report.failed(key, "");
        return;
      }
      failed = true;
      const resumable = isResumable(error);
      report.failed(
        key,
        `fileurls upload: ${
          explain(error, cli, ["/files/urls", "/files/uploads"])
        }\n${
          resumable
            ? "hint: run the same command again to resume it: the parts sent are kept\n"
            : ""
        }`,
      );
      flush();
    }
  }

  // Ctrl-C: what finished is told, and what went in parts from a path is
  // kept for a rerun, which resumes it; standard input's upload is aborted.
  /** Ctrl-C's handler, once it runs: it ends the process. */
  let interrupted: Promise<void> | undefined;
  const onSignal = () => {
    // A second Ctrl-C does not wait for the first to clean up.
    if (interrupted) process.exit(130);
    interrupted = stop();
  };
  const stop = async () => {
    const stdinKey = positionals.indexOf("-");
    const stopping = stdinUpload !== undefined && lines[stdinKey] === undefined;
    if (stopping) stdinStop.abort(new Error("interrupted"));
    report.close();
    const held = positionals.flatMap((file, i) =>
      i >= printed && typeof lines[i] === "string"
        ? [`  ${quoteName(file)}: ${lines[i]!.trimEnd()}\n`]
        : []
    );
    const paths = positionals.some((file, i) =>
      file !== "-" && i >= printed && lines[i] === undefined
    );
    printError(
      "fileurls upload: interrupted" +
        (paths
          ? "; run the same command again to resume the files sent in parts"
          : "") +
        (stopping ? "; the upload of standard input is aborted" : "") +
        "\n" +
        (held.length > 0
          ? `finished, not printed above since a file before them was not:\n${
            held.join("")
          }`
          : ""),
    );
    // The library deletes the aborted upload at the API: given a few
    // seconds, nothing of it stays.
    if (stopping) {
      await Promise.race([
        stdinUpload!.catch(() => {}),
        new Promise((done) => setTimeout(done, 5_000)),
      ]);
    }
    // Other runs may upload these files now, and resume them.
    await releaseAll().catch(() => {});
    await flushed();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  try {
    await Promise.all(
      Array.from(
        { length: Math.min(concurrency, positionals.length) },
        async () => {
          while (next < positionals.length) await uploadOne(next++);
        },
      ),
    );
  } finally {
    // Uploads that Ctrl-C stopped end here first: its handler exits.
    if (interrupted) await interrupted;
    process.off("SIGINT", onSignal);
    report.close();
  }
  if (usage !== undefined) throw new UsageError(messageOf(usage));
  return failed ? 1 : 0;
}

function wholeNumber(value: string, option: string): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || number < 1 || number > 64) {
    throw new UsageError(
      `${option} must be a whole number from 1 to 64, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return number;
}
