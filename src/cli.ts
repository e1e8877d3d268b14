/**
 * The `fileurls` command line: `fileurls serve` runs the files API on this
 * machine (the Hono route over a folder on disk, or an S3 bucket), and
 * `fileurls upload` sends files to any fileurls API and prints their
 * download URLs.
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
 * ```
 *
 * @module
 */

import { realpathSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "./client.ts";
import type { FileResource } from "./types.ts";
import { mountFilesRoute } from "./hono/_mount.ts";
import { fsStorage } from "./hono/fs_storage.ts";
import type { PresignedStorage, Storage } from "./hono/storage.ts";

const USAGE = `Usage: fileurls <command> [options]

Commands:
  serve     Serve the files API on this machine
  upload    Upload files and print their download URLs

Options:
  -h, --help    Show help; "fileurls <command> --help" for a command's options

Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
`;

const SERVE_USAGE = `Usage: fileurls serve [options]

Serves the files API at <origin>/v1 and prints its URL and API key.

Options:
  --port PORT          Port to listen on; 0 picks a free one (default: 8787)
  --hostname HOST      Address to listen on (default: 127.0.0.1)
  --data DIR           Folder for files, the generated API key and the
                       signing secret (default: ./fileurls-data)
  --api-key KEY        The API key clients must send (default:
                       FILEURLS_API_KEY, else generated once and kept in DIR)
  --storage fs|s3      Keep files in DIR/files, or in an S3 bucket configured
                       by the environment (default: fs)
  --public-url URL     The API's URL as clients reach it, e.g. behind a proxy
                       (default: http://HOST:PORT/v1)
  -h, --help           Show this help

Environment:
  FILEURLS_API_KEY       The API key, instead of --api-key
  FILEURLS_SECRET        The URL signing secret, at least 32 bytes (default:
                         generated once and kept in DIR)
  FILEURLS_S3_ENDPOINT   With --storage s3: the S3 endpoint, without the bucket
  FILEURLS_S3_BUCKET     With --storage s3: the bucket
  FILEURLS_S3_REGION     With --storage s3: the region (default: from the
                         endpoint, else us-east-1)
  AWS_ACCESS_KEY_ID      With --storage s3: the access key id
  AWS_SECRET_ACCESS_KEY  With --storage s3: the secret access key
  AWS_SESSION_TOKEN      With --storage s3: the session token, if any

Stops on SIGINT (Ctrl-C) or SIGTERM.
`;

const UPLOAD_USAGE = `Usage: fileurls upload [options] FILE...

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

/** What went wrong with the command line: exit code 2, with the usage. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs the `fileurls` command line.
 *
 * - `serve [--port 8787] [--hostname 127.0.0.1] [--data ./fileurls-data]
 *   [--api-key KEY] [--storage fs|s3] [--public-url URL]` serves the files
 *   API at `/v1` until SIGINT or SIGTERM.
 * - `upload FILE... [--base-url URL] [--api-key KEY] [--name NAME]
 *   [--resource prediction] [--timeout SECONDS] [--json]` uploads each file
 *   and prints its download URL.
 *
 * Output goes to standard output, errors to standard error (their message,
 * without a stack).
 *
 * @param args The arguments after the program name, e.g.
 * `process.argv.slice(2)`.
 * @returns The exit code: `0` on success (for `serve`, once it stopped), `1`
 * when something failed, `2` for bad usage or configuration.
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
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "upload":
        return await upload(rest);
      case "help":
      case "-h":
      case "--help":
        print(USAGE);
        return 0;
      case undefined:
        printError(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const usage = command === "serve"
        ? SERVE_USAGE
        : command === "upload"
        ? UPLOAD_USAGE
        : USAGE;
      const prefix = usage === USAGE ? "fileurls" : `fileurls ${command}`;
      printError(`${prefix}: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    printError(`fileurls: ${messageOf(error)}\n`);
    return 1;
  }
}

// ------------------------------------------------------------------- serve

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8787" },
      hostname: { type: "string", default: "127.0.0.1" },
      data: { type: "string", default: "./fileurls-data" },
      "api-key": { type: "string" },
      storage: { type: "string", default: "fs" },
      "public-url": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    print(SERVE_USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!/^[0-9]+$/.test(values.port) || port > 65535) {
    throw new UsageError(
      `--port must be a number from 0 to 65535, got ${
        JSON.stringify(values.port)
      }`,
    );
  }
  if (values.storage !== "fs" && values.storage !== "s3") {
    throw new UsageError(
      `--storage must be "fs" or "s3", got ${JSON.stringify(values.storage)}`,
    );
  }
  const env = process.env;
  const data = resolve(values.data);
  const secretBytes = new TextEncoder().encode(env.FILEURLS_SECRET).byteLength;
  if (env.FILEURLS_SECRET && secretBytes < 32) {
    printError(
      `fileurls serve: FILEURLS_SECRET must be at least 32 bytes, got ${secretBytes}\n`,
    );
    return 2;
  }

  let storage: Storage | PresignedStorage;
  let where: string;
  if (values.storage === "s3") {
    // Loaded only here, so that the S3 signer is not loaded otherwise.
    const { s3StorageFromEnv } = await import("./hono/s3_storage.ts");
    try {
      storage = s3StorageFromEnv(env);
    } catch (error) {
      printError(`fileurls serve: ${messageOf(error)}\n`);
      return 2;
    }
    where =
      `S3 bucket ${env.FILEURLS_S3_BUCKET} at ${env.FILEURLS_S3_ENDPOINT}`;
  } else {
    storage = fsStorage({ dir: join(data, "files") });
    where = join(data, "files");
  }

  const apiKey = values["api-key"] || env.FILEURLS_API_KEY ||
    await kept(data, "api-key", () => `fu_${randomText(24)}`);
  const secret = env.FILEURLS_SECRET ||
    await kept(data, "secret", () => randomText(32));

  let handler: Handler;
  try {
    handler = mountFilesRoute("/v1", {
      storage,
      secret,
      apiKeys: [apiKey],
      publicUrl: values["public-url"],
    });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      printError(`fileurls serve: ${messageOf(error)}\n`);
      return 2;
    }
    throw error;
  }

  let server: Server;
  try {
    server = await listen(handler, values.hostname, port);
  } catch (error) {
    printError(
      `fileurls serve: Cannot listen on ${values.hostname} port ${port}: ${
        messageOf(error)
      }\n`,
    );
    return 1;
  }
  const host = values.hostname.includes(":")
    ? `[${values.hostname}]`
    : values.hostname;
  const local = `http://${host}:${server.port}/v1`;
  const baseUrl = values["public-url"]?.replace(/\/+$/, "") ?? local;
  print(
    `fileurls serving ${local}\n` +
      (baseUrl !== local ? `Public URL: ${baseUrl}\n` : "") +
      `API key: ${apiKey}\n` +
      `Storage: ${where}\n` +
      `\nTo upload from another shell:\n` +
      `  export FILEURLS_BASE_URL=${shellWord(baseUrl)} FILEURLS_API_KEY=${
        shellWord(apiKey)
      }\n` +
      `  fileurls upload photo.png\n`,
  );

  await stopSignal();
  await server.close();
  return 0;
}

/**
 * Reads a value kept in `{dir}/{file}`, or makes one and keeps it there,
 * readable by the owner only.
 */
async function kept(
  dir: string,
  file: string,
  make: () => string,
): Promise<string> {
  const path = join(dir, file);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (codeOf(error) !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    const value = text.trim();
    if (value === "") throw new Error(`Cannot read ${path}: it is empty`);
    return value;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const value = make();
  try {
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another process made it first: use theirs.
    if (codeOf(error) === "EEXIST") return kept(dir, file, make);
    throw error;
  }
  return value;
}

function randomText(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...random)).replace(/\+/g, "-")
    .replace(/\//g, "_").replace(/=+$/, "");
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text)
    ? text
    : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Resolves on the first SIGINT or SIGTERM. */
function stopSignal(): Promise<void> {
  return new Promise((done) => {
    const signals = ["SIGINT", "SIGTERM"] as const;
    const stop = () => {
      for (const signal of signals) process.off(signal, stop);
      done();
    };
    for (const signal of signals) {
      try {
        process.on(signal, stop);
      } catch {
        // Not every platform has SIGTERM.
      }
    }
  });
}

interface Server {
  port: number;
  close(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen(address: { port: number }): void;
    },
    handler: Handler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    maxRequestBodySize: number;
    fetch: Handler;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}

/** How long open requests may take to finish once the server stops. */
const GRACE_MS = 5000;

/** Serves with the runtime's own server. */
async function listen(
  handler: Handler,
  hostname: string,
  port: number,
): Promise<Server> {
  const runtime = globalThis as { Deno?: DenoServe; Bun?: BunServe };
  if (runtime.Deno) {
    const server = runtime.Deno.serve(
      { hostname, port, onListen() {} },
      handler,
    );
    return {
      port: server.addr.port,
      close: () => withGrace(server.shutdown(), () => {}),
    };
  }
  if (runtime.Bun) {
    const server = runtime.Bun.serve({
      hostname,
      port,
      // The route enforces its own limit; Bun's default is 128 MiB.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: handler,
    });
    return {
      port: server.port,
      close: () =>
        withGrace(Promise.resolve(server.stop()), () => server.stop(true)),
    };
  }
  const { serve } = await import("@hono/node-server");
  return await new Promise<Server>((resolved, rejected) => {
    const server = serve({
      fetch: handler,
      hostname,
      port,
      // Uploads may take longer than Node's default of 5 minutes.
      serverOptions: { requestTimeout: 0 },
    }, (info) => {
      server.off("error", rejected);
      const http = server as unknown as {
        closeIdleConnections?(): void;
        closeAllConnections?(): void;
      };
      resolved({
        port: info.port,
        close: () =>
          withGrace(
            new Promise<void>((closed) => {
              server.close(() => closed());
              http.closeIdleConnections?.();
            }),
            () => http.closeAllConnections?.(),
          ),
      });
    });
    server.once("error", rejected);
  });
}

/** Waits for a graceful stop, and forces it after {@linkcode GRACE_MS}. */
async function withGrace(
  graceful: Promise<void>,
  force: () => void,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((done) => {
    timer = setTimeout(() => {
      force();
      done();
    }, GRACE_MS);
  });
  await Promise.race([graceful, late]);
  clearTimeout(timer);
}

// ------------------------------------------------------------------ upload

async function upload(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "base-url": { type: "string" },
      "api-key": { type: "string" },
      name: { type: "string" },
      resource: { type: "string", default: "prediction" },
      timeout: { type: "string", default: "3600" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    print(UPLOAD_USAGE);
    return 0;
  }
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
  // Checked before any file is read: a bad resource is a usage error.
  if (values.resource !== "prediction") {
    throw new UsageError(
      `--resource must be "prediction", got ${JSON.stringify(values.resource)}`,
    );
  }
  const resource: FileResource = values.resource;

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
        name = values.name ?? lastSegment(file);
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

function lastSegment(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  return trimmed.slice(
    Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1,
  );
}

async function readStdin(): Promise<Blob> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
  }
  return new Blob(chunks as BlobPart[]);
}

// ------------------------------------------------------------------ output

function print(text: string): void {
  process.stdout.write(text);
}

function printError(text: string): void {
  process.stderr.write(text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function isParseArgsError(error: unknown): boolean {
  return codeOf(error)?.startsWith("ERR_PARSE_ARGS_") ?? false;
}

/** Waits until everything written to standard output and error is out. */
function flushed(): Promise<void> {
  return Promise.all(
    [process.stdout, process.stderr].map((stream) =>
      new Promise<void>((done) => {
        stream.write("", () => done());
      })
    ),
  ).then(() => {});
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
