/**
 * `fileurls upload`: sends files to any fileurls API and prints their
 * download URLs.
 *
 * @module
 */

import { stat } from "node:fs/promises";
import process from "node:process";
import { parseArgs } from "node:util";
import { DEFAULT_RESOURCE } from "../api.ts";
import { basename } from "../_path.ts";
import { Client } from "../client/client.ts";
import { codeOf, messageOf, print, printError, UsageError } from "./_output.ts";

/** The usage of `fileurls upload`. */
export const UPLOAD_USAGE: string = `Usage: fileurls upload [options] FILE...

Uploads each FILE ("-" reads standard input) and prints one download URL per
line.

Options:
  --base-url URL       The API's base URL (default: FILEURLS_BASE_URL)
  --api-key KEY        The API key (default: FILEURLS_API_KEY)
  --name NAME          The file name to upload as; needed for "-", and only
                       for a single FILE (default: the file's own name)
  --resource NAME      What the files are for (default: prediction)
  --timeout SECONDS    How long each request may take, body included
                       (default: 3600)
  --json               Print one JSON object per file instead:
                       {"file","name","size","download_url"}
  -h, --help           Show this help
`;

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
    options: {
      "base-url": { type: "string" },
      "api-key": { type: "string" },
      name: { type: "string" },
      resource: { type: "string", default: DEFAULT_RESOURCE },
      timeout: { type: "string", default: "3600" },
      json: { type: "boolean", default: false },
    },
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
  const timeout = Number(values.timeout);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(values.timeout) || timeout <= 0) {
    throw new UsageError(
      `--timeout must be a positive number of seconds, got ${
        JSON.stringify(values.timeout)
      }`,
    );
  }
  const baseUrl = values["base-url"] || process.env.FILEURLS_BASE_URL;
  if (!baseUrl) {
    throw new UsageError("pass --base-url or set FILEURLS_BASE_URL");
  }
  let client: Client;
  try {
    client = new Client({
      baseUrl,
      apiKey: values["api-key"],
      timeout: Math.round(timeout * 1000),
    });
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  // Checked before any file is read: a bad resource is a usage error. Which
  // resources exist is the API's to say.
  const resource = values.resource;
  if (resource === "") {
    throw new UsageError("--resource must be a non-empty string");
  }

  let failed = false;
  for (const file of positionals) {
    try {
      let content: Blob | string;
      let name: string;
      let size: number;
      if (file === "-") {
        content = await readStdin();
        name = values.name!;
        size = content.size;
      } else {
        content = file;
        name = values.name ?? basename(file);
        size = await fileSize(file);
      }
      const url = await client.files.upload(content, resource, { name });
      print(
        values.json
          ? JSON.stringify({ file, name, size, download_url: url }) + "\n"
          : `${url}\n`,
      );
    } catch (error) {
      // The client checks its arguments before any request.
      if (error instanceof TypeError || error instanceof RangeError) {
        throw new UsageError(messageOf(error));
      }
      failed = true;
      printError(`fileurls upload: ${messageOf(error)}\n`);
    }
  }
  return failed ? 1 : 0;
}

async function fileSize(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = codeOf(error);
    throw new Error(
      `Cannot upload ${JSON.stringify(path)}: ${
        code === "ENOENT" ? "no such file" : messageOf(error)
      }`,
    );
  }
  if (!info.isFile()) {
    throw new Error(`Cannot upload ${JSON.stringify(path)}: not a file`);
  }
  return info.size;
}

async function readStdin(): Promise<Blob> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
  }
  return new Blob(chunks as BlobPart[]);
}
