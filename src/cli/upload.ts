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
import { ApiError } from "../client/errors.ts";
import type { UploadResult } from "../client/types.ts";
import { openResume } from "./_resume.ts";
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
  --timeout SECONDS    How long a request may go without a byte moving
                       (default: 300)
  --part-size MIB      Files larger than this go in parts of this size,
                       resumable (default: 5)
  --no-resume          Start every file over, even where an earlier run left
                       an unfinished upload of it
  --json               Print one JSON object per file instead:
                       {"file","id","name","size","mime_type","download_url",
                       "sha256"}
  -h, --help           Show this help

A file sent in parts that fails midway is resumed by running the same
command again: its upload is kept in ~/.local/state/fileurls/uploads
(FILEURLS_STATE_DIR or XDG_STATE_HOME move it) until it completes.
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
      timeout: { type: "string", default: "300" },
      "part-size": { type: "string", default: "5" },
      "no-resume": { type: "boolean", default: false },
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
  const partMib = Number(values["part-size"]);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(values["part-size"]) || partMib <= 0) {
    throw new UsageError(
      `--part-size must be a positive number of MiB, got ${
        JSON.stringify(values["part-size"])
      }`,
    );
  }
  const partSize = Math.max(1, Math.round(partMib * 1024 * 1024));
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
      const name = file === "-" ? values.name! : values.name ?? basename(file);
      const result = file === "-"
        ? await client.files.uploadFile(
          process.stdin as AsyncIterable<Uint8Array>,
          resource,
          { name, partSize },
        )
        : await uploadPath(client, file, resource, {
          name,
          partSize,
          resume: !values["no-resume"],
          baseUrl,
        });
      print(
        values.json
          ? JSON.stringify({
            file,
            ...(result.id === undefined ? {} : { id: result.id }),
            name: result.name,
            size: result.size,
            mime_type: result.mimeType,
            download_url: result.downloadUrl,
            ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
          }) + "\n"
          : `${result.downloadUrl}\n`,
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

/**
 * Uploads a file by path, resuming an upload of it that an earlier run left
 * unfinished, and keeping a record of a new one until it completes.
 */
async function uploadPath(
  client: Client,
  path: string,
  resource: string,
  options: { name: string; partSize: number; resume: boolean; baseUrl: string },
): Promise<UploadResult> {
  await fileSize(path);
  const record = await openResume(path, options.baseUrl);
  const upload = (resume: string | undefined) =>
    client.files.uploadFile(path, resource, {
      name: options.name,
      partSize: options.partSize,
      resume,
      onProgress: ({ uploadUrl }) => {
        if (uploadUrl !== undefined && uploadUrl !== saved) {
          saved = uploadUrl;
          record.save(uploadUrl).catch(() => {});
        }
      },
    });
  let saved = options.resume ? record.uploadUrl : undefined;
  let result: UploadResult;
  try {
    result = await upload(saved);
  } catch (error) {
    // An upload that is gone or expired cannot be resumed: start over.
    const gone = error instanceof ApiError &&
      (error.status === 404 || error.status === 403);
    if (saved === undefined || !gone || error.uploadUrl !== undefined) {
      throw error;
    }
    await record.forget();
    saved = undefined;
    result = await upload(undefined);
  }
  await record.forget();
  return result;
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
