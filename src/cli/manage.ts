/**
 * `fileurls ls`, `fileurls rm` and `fileurls url`: the stored files of any
 * fileurls API, listed, deleted, and handed out again with a fresh download
 * URL.
 *
 * @module
 */

import { columns } from "./_width.ts";
import { parseArgs } from "node:util";
import type { FileObject } from "../api.ts";
import { checkId } from "../client/_manage.ts";
import {
  API_OPTIONS,
  API_USAGE,
  cliClient,
  explain,
  positiveNumber,
} from "./_client.ts";
import { messageOf, print, printError, UsageError } from "./_output.ts";
import { expiresText, formatBytes } from "./_progress.ts";
import { parseDuration } from "./_units.ts";

const TIMEOUT_USAGE =
  `      --timeout SECONDS     How long a request may go without an answer
                            (default: 60)`;

/** The usage of `fileurls ls`. */
export const LS_USAGE: string = `Usage: fileurls ls [options]

Lists the stored files, newest first, as a table: id, name, size, media
type, and when each was uploaded and expires (UTC). Expired files are left
out.

Options:
${API_USAGE}
      --resource NAME       Only the files uploaded for this resource
      --limit N             List at most N files (default: all)
${TIMEOUT_USAGE}
  -j, --json                Print one JSON object per file instead, as the
                            API answers it: {"id","name","size","mime_type",
                            "resource","uploaded_at","expires_at"}
  -h, --help                Show this help
`;

/** The usage of `fileurls rm`. */
export const RM_USAGE: string = `Usage: fileurls rm [options] ID...

Deletes each stored file by its id and prints "deleted ID" for each; its
download URLs stop working. An id that fails is told on standard error, the
others are still deleted, and the exit code is 1.

Options:
${API_USAGE}
${TIMEOUT_USAGE}
  -j, --json                Print one JSON object per id instead:
                            {"id","deleted"} and, when it failed, "error"
  -h, --help                Show this help
`;

/** The usage of `fileurls url`. */
export const URL_USAGE: string = `Usage: fileurls url [options] ID

Prints a fresh download URL of a stored file, and on standard error when it
expires. A URL never outlives its file.

Options:
${API_USAGE}
  -e, --expires-in TIME     How long the URL works: seconds, or with a unit,
                            e.g. 90s, 15m, 1h, 7d (default: the API's own,
                            24 h for fileurls serve)
${TIMEOUT_USAGE}
  -j, --json                Print {"id","download_url","expires_at"} instead
  -q, --quiet               Print nothing on standard error but errors
  -h, --help                Show this help
`;

const COMMON = {
  ...API_OPTIONS,
  timeout: { type: "string", default: "60" },
  json: { type: "boolean", short: "j", default: false },
} as const;

/**
 * Runs `fileurls ls`.
 *
 * @param args The arguments after `ls`.
 * @returns The exit code: 0 once every file is listed, else 1.
 * @throws {UsageError} For a bad option or argument.
 */
export async function ls(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      resource: { type: "string" },
      limit: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.resource === "") {
    throw new UsageError("--resource must be a non-empty string");
  }
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (
      !/^[0-9]+$/.test(values.limit) || !Number.isSafeInteger(limit) ||
      limit < 1
    ) {
      throw new UsageError(
        `--limit must be a positive whole number, got ${
          JSON.stringify(values.limit)
        }`,
      );
    }
  }
  const timeout = positiveNumber(values.timeout, "--timeout", "seconds");
  const cli = cliClient(values, timeout);
  const files = cli.client.files.list({
    resource: values.resource,
    limit: limit === undefined ? undefined : Math.min(limit, 1000),
  });
  // The table is aligned over every row, so it is printed at the end; JSON
  // lines go out as the pages come.
  const rows: string[][] = [];
  let count = 0;
  try {
    for await (const file of files) {
      if (values.json) print(`${JSON.stringify(file)}\n`);
      else rows.push(tableRow(file));
      if (++count === limit) break;
    }
  } catch (error) {
    printTable(rows);
    printError(`fileurls ls: ${explain(error, cli, ["/files"])}\n`);
    return 1;
  }
  printTable(rows);
  return 0;
}

/** The header of `fileurls ls`'s table. */
const HEADER = ["ID", "NAME", "SIZE", "TYPE", "UPLOADED", "EXPIRES"];

function tableRow(file: FileObject): string[] {
  return [
    printable(String(file.id)),
    printable(String(file.name)),
    formatBytes(file.size),
    printable(String(file.mime_type ?? "")),
    dateText(file.uploaded_at),
    file.expires_at === null ? "never" : dateText(file.expires_at),
  ];
}

/**
 * A name with its control and format characters escaped (`\u202E`): the
 * API refuses them, but a server that sends them anyway does not get to
 * move the cursor or reorder the line.
 *
 * @param name The name.
 * @returns It, safe to print.
 */
export function printable(name: string): string {
  return name.replace(
    /[\p{Cc}\p{Cf}]/gu,
    (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

/** `2030-01-31 12:00` (UTC), or the text as it came if it is no date. */
function dateText(iso: string | undefined): string {
  const date = new Date(iso ?? "");
  return Number.isNaN(date.getTime())
    ? String(iso ?? "")
    : date.toISOString().slice(0, 16).replace("T", " ");
}

/**
 * Prints rows under the header, each column as wide as its widest cell
 * plus two spaces (in terminal columns: a wide character takes two), the
 * size right-aligned; nothing when there are no rows.
 */
function printTable(rows: string[][]): void {
  if (rows.length === 0) return;
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_, i) =>
    Math.max(...all.map((row) => columns(row[i])))
  );
  const text = all.map((row) =>
    row.map((cell, i) => {
      const pad = " ".repeat(widths[i] - columns(cell));
      if (i === row.length - 1) return cell;
      return i === 2 ? pad + cell : cell + pad;
    }).join("  ")
  ).join("\n");
  print(`${text}\n`);
}

/**
 * Runs `fileurls rm`.
 *
 * @param args The arguments after `rm`.
 * @returns The exit code: 0 if every file was deleted, else 1.
 * @throws {UsageError} For a bad option or argument.
 */
export async function rm(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError("no ID given");
  checkIds(positionals, "delete");
  const timeout = positiveNumber(values.timeout, "--timeout", "seconds");
  const cli = cliClient(values, timeout);
  let failed = false;
  for (const id of positionals) {
    try {
      await cli.client.files.delete(id);
      print(
        values.json
          ? `${JSON.stringify({ id, deleted: true })}\n`
          : `deleted ${id}\n`,
      );
    } catch (error) {
      failed = true;
      const message = explain(error, cli, []);
      if (values.json) {
        print(
          `${
            JSON.stringify({ id, deleted: false, error: messageOf(error) })
          }\n`,
        );
      }
      printError(`fileurls rm: ${message}\n`);
    }
  }
  return failed ? 1 : 0;
}

/**
 * Runs `fileurls url`.
 *
 * @param args The arguments after `url`.
 * @returns The exit code: 0 once the URL is printed, else 1.
 * @throws {UsageError} For a bad option or argument.
 */
export async function url(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...COMMON,
      "expires-in": { type: "string", short: "e" },
      quiet: { type: "boolean", short: "q", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const id = oneId(positionals, "create a download URL for");
  let expiresIn: number | undefined;
  if (values["expires-in"] !== undefined) {
    expiresIn = parseDuration(values["expires-in"]);
    if (expiresIn === undefined) {
      throw new UsageError(
        `--expires-in must be a duration such as 90s, 15m, 1h or 7d, got ${
          JSON.stringify(values["expires-in"])
        }`,
      );
    }
  }
  const timeout = positiveNumber(values.timeout, "--timeout", "seconds");
  const cli = cliClient(values, timeout);
  try {
    const { download_url, expires_at } = await cli.client.files.downloadUrl(
      id,
      { expiresIn },
    );
    if (values.json) {
      print(`${JSON.stringify({ id, download_url, expires_at })}\n`);
      return 0;
    }
    print(`${download_url}\n`);
    const date = new Date(expires_at);
    if (!values.quiet && !Number.isNaN(date.getTime())) {
      const at = date.toISOString().slice(0, 16).replace("T", " ");
      // Whole seconds, as the expiry is: a link asked for 1 h expires in 1 h.
      const phrase = expiresText(date, Math.floor(Date.now() / 1000) * 1000);
      printError(
        phrase.startsWith("expires on")
          ? `The link ${phrase}\n`
          : `The link ${phrase} (${at} UTC)\n`,
      );
    }
    return 0;
  } catch (error) {
    printError(`fileurls url: ${explain(error, cli, [])}\n`);
    return 1;
  }
}

/**
 * Reads the one ID of `get` or `url`.
 *
 * @param positionals The command's arguments.
 * @param verb What is done with the file, for the message.
 * @returns The ID.
 * @throws {UsageError} For no ID, more than one, or one that cannot be.
 */
export function oneId(positionals: string[], verb: string): string {
  if (positionals.length === 0) throw new UsageError("no ID given");
  if (positionals.length > 1) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[1])}: one ID at a time`,
    );
  }
  checkIds(positionals, verb);
  return positionals[0];
}

/**
 * Refuses, before any request, what the client would refuse as an id.
 *
 * @param ids The ids given.
 * @param verb What is done to them, for the message.
 * @throws {UsageError} For an id that cannot be one.
 */
function checkIds(ids: string[], verb: string): void {
  for (const id of ids) {
    try {
      checkId(id, verb);
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
  }
}
