/**
 * The `fileurls` command line: `fileurls serve` runs the files API on this
 * machine (the Hono route over a folder on disk, or an S3 bucket),
 * `fileurls upload` sends files to any fileurls API and prints their
 * download URLs, and `fileurls ls`, `get`, `url` and `rm` list, download,
 * hand out again and delete the files it stores.
 *
 * It runs on Deno, Bun and Node (20 or later), serving with `Deno.serve`,
 * `Bun.serve` or `@hono/node-server`.
 *
 * @example Start a server, then upload a file to it
 * ```sh
 * deno run -A jsr:@fileurls/fileurls/cli serve
 * # fileurls serving http://127.0.0.1:8787/v1
 * # API key: fu_…
 * export FILEURLS_BASE_URL=http://127.0.0.1:8787/v1 FILEURLS_API_KEY=fu_…
 * deno run -A jsr:@fileurls/fileurls/cli upload photo.png
 * # http://127.0.0.1:8787/v1/files/…/photo.png?exp=…&kid=…&sig=…
 * deno run -A jsr:@fileurls/fileurls/cli ls
 * # ID                      NAME       SIZE       TYPE       UPLOADED          EXPIRES
 * # -xT3k9ZqAbCdEfGhIjKlMn  photo.png  48.2 KiB  image/png  2030-01-31 12:00  never
 * ```
 *
 * @module
 */

import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  flushed,
  isParseArgsError,
  messageOf,
  print,
  printError,
  suggest,
  UsageError,
} from "./_output.ts";
import { get, GET_USAGE } from "./get.ts";
import { ls, LS_USAGE, rm, RM_USAGE, url, URL_USAGE } from "./manage.ts";
import { serve, SERVE_USAGE } from "./serve.ts";
import { upload, UPLOAD_USAGE } from "./upload.ts";
import { VERSION } from "./_version.ts";

const USAGE = `Usage: fileurls <command> [options]

Commands:
  serve     Serve the files API on this machine
  upload    Upload files and print their download URLs
  ls        List the stored files
  get       Download a stored file
  url       Print a fresh download URL of a stored file
  rm        Delete stored files

Options:
  -h, --help       Show help; "fileurls <command> --help" for a command's options
  -V, --version    Show the version

Exit codes: 0 success, 1 failure, 2 bad usage or configuration,
130 interrupted (Ctrl-C) during upload or get.
`;

/**
 * Runs the `fileurls` command line.
 *
 * - `serve [--port 8787] [--hostname 127.0.0.1] [--data ./fileurls-data]
 *   [--api-key KEY] [--storage fs|s3] [--public-url URL]` serves the files
 *   API at `/v1` until SIGINT or SIGTERM.
 * - `upload FILE... [--base-url URL] [--api-key KEY] [--name NAME]
 *   [--resource prediction] [--timeout SECONDS] [--json]` uploads each file
 *   and prints its download URL.
 * - `ls [--resource NAME] [--limit N] [--json]` lists the stored files,
 *   newest first.
 * - `get ID [--output FILE] [--force]` downloads one, never over an
 *   existing file unless `--force`.
 * - `url ID [--expires-in 1h] [--json]` prints a fresh download URL.
 * - `rm ID... [--json]` deletes files.
 *
 * Output goes to standard output, errors to standard error (their message,
 * without a stack).
 *
 * @param args The arguments after the program name, e.g.
 * `process.argv.slice(2)`.
 * @returns The exit code: `0` on success (for `serve`, once it stopped), `1`
 * when something failed, `2` for bad usage or configuration. Ctrl-C during
 * `upload` or `get` exits the process with `130`.
 *
 * @example Upload a file from a program, as the command line does
 * ```ts ignore
 * import { main } from "@fileurls/fileurls/cli";
 *
 * const code = await main(["upload", "--json", "photo.png"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const commands: Record<
    string,
    [(args: string[]) => Promise<number>, string]
  > = {
    serve: [serve, SERVE_USAGE],
    upload: [upload, UPLOAD_USAGE],
    ls: [ls, LS_USAGE],
    get: [get, GET_USAGE],
    url: [url, URL_USAGE],
    rm: [rm, RM_USAGE],
  };
  try {
    if (Object.hasOwn(commands, command)) {
      const [run, usage] = commands[command];
      if (asksForHelp(rest)) {
        print(usage);
        return 0;
      }
      return await run(rest);
    }
    switch (command) {
      case "help":
      case "-h":
      case "--help":
        print(USAGE);
        return 0;
      case "-V":
      case "--version":
        print(`fileurls ${VERSION}\n`);
        return 0;
      case undefined:
        printError(USAGE);
        return 2;
      default: {
        const near = suggest(command, Object.keys(commands));
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}` +
            (near === undefined ? "" : ` (did you mean ${near}?)`),
        );
      }
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const known = Object.hasOwn(commands, command);
      const usage = known ? commands[command][1] : USAGE;
      const prefix = known ? `fileurls ${command}` : "fileurls";
      const message = error instanceof UsageError
        ? error.message
        : parseArgsMessage(error as Error, usage);
      printError(
        `${prefix}: ${message}\nRun "${prefix} --help" for the usage.\n`,
      );
      return 2;
    }
    printError(`fileurls: ${messageOf(error)}\n`);
    return 1;
  }
}

/**
 * What `parseArgs` threw, said shorter, with the option meant where a
 * mistyped one is near a known one.
 */
function parseArgsMessage(error: Error, usage: string): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1];
  const code = (error as { code?: string }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && quoted !== undefined) {
    const option = quoted.replace(/=.*$/, "");
    const known = [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])];
    const near = option.startsWith("--") ? suggest(option, known) : undefined;
    return `unknown option ${option}` +
      (near === undefined ? "" : ` (did you mean ${near}?)`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && quoted !== undefined) {
    return `unexpected argument ${JSON.stringify(quoted)}`;
  }
  // "Option '-n, --name <value>' argument missing"
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/
    .exec(error.message);
  if (missing !== null) return `${missing[1]} needs a value`;
  return error.message;
}

/** `-h` or `--help` among the options (before any `--`). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  const options = end === -1 ? args : args.slice(0, end);
  return options.includes("-h") || options.includes("--help");
}

function isMainModule(): boolean {
  const meta = import.meta as { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  if (script === undefined || !import.meta.url.startsWith("file:")) {
    return false;
  }
  try {
    return realpathSync(script) ===
      realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const code = await main(process.argv.slice(2));
  await flushed();
  process.exit(code);
}
