/**
 * `fileurls serve`: the files API on this machine, over a folder on disk or
 * an S3 bucket, with the API key and signing secret kept in the data folder.
 *
 * @module
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { errorBody } from "../api.ts";
import { randomId } from "../_encoding.ts";
import { filesRoute } from "../hono/route.ts";
import { MIN_SECRET_BYTES } from "../hono/_signing.ts";
import { fsStorage } from "../storage/fs.ts";
import { uploadPage } from "./_page.ts";
import type { PresignedStorage, Storage } from "../storage/mod.ts";
import { accessLog } from "./_access_log.ts";
import { isBlockedPort, isWildcard, reachable } from "./_addresses.ts";
import { type Handler, listen, type Server } from "./_listen.ts";
import { codeOf, messageOf, print, printError, UsageError } from "./_output.ts";
import {
  describeSettings,
  type RouteSettings,
  routeSettings,
} from "./_route_settings.ts";
import { parseSize, seconds } from "./_units.ts";

/** The usage of `fileurls serve`. */
/** The least time a single upload's partial file sits idle before a sweep. */
const PARTIAL_IDLE_MS = 5 * 60_000;

export const SERVE_USAGE: string = `Usage: fileurls serve [options]

Serves the files API at <origin>/v1 and prints its URL and API key, then
one line per request (time, method, path without the query, status, bytes
sent and received, time taken). Errors go to standard error.

Options:
  --port PORT          Port to listen on; 0 picks a free one (default: 8787)
  --hostname HOST      Address to listen on; 0.0.0.0 or :: for every one,
                       and the URLs printed are this machine's addresses
                       (default: 127.0.0.1)
  --data DIR           Folder for files, the generated API key and the
                       signing secret (default: ./fileurls-data)
  --api-key KEY        The API key clients must send (default:
                       FILEURLS_API_KEY, else generated once and kept in DIR)
  --storage fs|s3      Keep files in DIR/files, or in an S3 bucket configured
                       by the environment (default: fs)
  --public-url URL     The API's URL as clients reach it, e.g. behind a proxy
                       (default: http://HOST:PORT/v1)
  --max-size SIZE      The largest file taken, e.g. 5GiB or 1TB; larger ones
                       go in parts (default: FILEURLS_MAX_SIZE, else 1GiB)
  --timeout SECONDS    Close a connection that sends no complete request
                       head, or whose body or answer moves no byte, for this
                       long, and an upload that brings less than 1 KiB in
                       it (default: 30)
  --grace SECONDS      On SIGINT or SIGTERM, let uploads in flight finish
                       for this long, then end them with a retryable 503
                       (default: 10)
  --cors ORIGINS       Origins browsers may call the API from, separated by
                       commas, e.g. https://app.example.com, or * for any
                       (default: FILEURLS_CORS, else none)
  --allowed-types TYPES
                       The media types that may be uploaded, separated by
                       commas, e.g. image/*,application/pdf (default:
                       FILEURLS_ALLOWED_TYPES, else any)
  --resources NAMES    The accepted values of "resource", separated by
                       commas (default: FILEURLS_RESOURCES, else prediction)
  --upload-ttl SECONDS How long an upload URL works (default:
                       FILEURLS_UPLOAD_TTL, else 3600)
  --download-ttl SECONDS
                       How long a download URL works, from when it was
                       made (default: FILEURLS_DOWNLOAD_TTL, else 86400)
  --lifetime DURATION  How long stored files are kept, e.g. 30d, from when
                       their URLs were made; expired ones answer 404 and are
                       swept (default: FILEURLS_LIFETIME, else for good)
  --max-lifetime DURATION
                       The longest lifetime an upload may ask for (default:
                       FILEURLS_MAX_LIFETIME, else --lifetime, else any)
  --no-page            Answer 404 at / instead of the upload page
  -q, --quiet          Print no access log; errors still go to standard
                       error
  -h, --help           Show this help

Environment:
  FILEURLS_API_KEY       The API key, instead of --api-key
  FILEURLS_MAX_SIZE      The largest file taken, instead of --max-size
  FILEURLS_CORS, FILEURLS_ALLOWED_TYPES, FILEURLS_RESOURCES,
  FILEURLS_UPLOAD_TTL, FILEURLS_DOWNLOAD_TTL, FILEURLS_LIFETIME,
  FILEURLS_MAX_LIFETIME  Instead of --cors, --allowed-types, --resources,
                         --upload-ttl, --download-ttl, --lifetime and
                         --max-lifetime
  FILEURLS_SECRET        The URL signing secret, at least 32 bytes (default:
                         generated once and kept in DIR)
  FILEURLS_S3_ENDPOINT   With --storage s3: the S3 endpoint, without the bucket
  FILEURLS_S3_BUCKET     With --storage s3: the bucket
  FILEURLS_S3_REGION     With --storage s3: the region (default: from the
                         endpoint, else us-east-1)
  AWS_ACCESS_KEY_ID      With --storage s3: the access key id
  AWS_SECRET_ACCESS_KEY  With --storage s3: the secret access key
  AWS_SESSION_TOKEN      With --storage s3: the session token, if any
  FILEURLS_S3_CONDITIONAL_WRITES
                         With --storage s3: "false" for a store without
                         conditional writes (If-None-Match: *), whose upload
                         URLs then can overwrite until they expire
                         (default: true)

Stops on SIGINT (Ctrl-C) or SIGTERM, and says so on standard error.
`;

/**
 * Runs `fileurls serve` until SIGINT or SIGTERM.
 *
 * @param args The arguments after `serve`.
 * @returns The exit code: 0 once stopped, 1 if it cannot listen, 2 for bad
 * configuration.
 * @throws {UsageError} For a bad option.
 */
export async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8787" },
      hostname: { type: "string", default: "127.0.0.1" },
      data: { type: "string", default: "./fileurls-data" },
      "api-key": { type: "string" },
      storage: { type: "string", default: "fs" },
      "public-url": { type: "string" },
      "max-size": { type: "string" },
      timeout: { type: "string", default: "30" },
      grace: { type: "string", default: "10" },
      cors: { type: "string" },
      "allowed-types": { type: "string" },
      resources: { type: "string" },
      "upload-ttl": { type: "string" },
      "download-ttl": { type: "string" },
      lifetime: { type: "string" },
      "max-lifetime": { type: "string" },
      quiet: { type: "boolean", short: "q", default: false },
      "no-page": { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
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
  const timeout = seconds(values.timeout, "--timeout", 1);
  const grace = seconds(values.grace, "--grace", 0);
  const env = process.env;
  const sizeText = values["max-size"] ?? env.FILEURLS_MAX_SIZE;
  const maxSize = sizeText === undefined || sizeText === ""
    ? undefined
    : parseSize(sizeText);
  if (maxSize === undefined && sizeText) {
    throw new UsageError(
      `--max-size must be a size such as 5GiB or 1000000, got ${
        JSON.stringify(sizeText)
      }`,
    );
  }
  let settings: RouteSettings;
  try {
    settings = routeSettings(values, env);
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  const publicUrl = values["public-url"];
  if (publicUrl !== undefined && !isHttpUrl(publicUrl)) {
    throw new UsageError(
      `--public-url must be an http:// or https:// URL, such as https://files.example.com/v1, got ${
        JSON.stringify(publicUrl)
      }`,
    );
  }
  const data = resolve(values.data);
  const secretBytes = new TextEncoder().encode(env.FILEURLS_SECRET).byteLength;
  if (env.FILEURLS_SECRET && secretBytes < MIN_SECRET_BYTES) {
    throw new UsageError(
      `FILEURLS_SECRET must be at least ${MIN_SECRET_BYTES} bytes, got ${secretBytes}`,
    );
  }

  let storage: Storage | PresignedStorage;
  let where: string;
  let sweep: (() => Promise<number>) | undefined;
  if (values.storage === "s3") {
    // Loaded only here, so that the S3 signer is not loaded otherwise.
    const { s3StorageFromEnv } = await import("../storage/s3.ts");
    try {
      storage = s3StorageFromEnv(env);
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
    where =
      `S3 bucket ${env.FILEURLS_S3_BUCKET} at ${env.FILEURLS_S3_ENDPOINT}`;
  } else {
    // Private to the user, like the key and secret kept in it.
    await mkdir(data, { recursive: true, mode: 0o700 });
    const files = fsStorage({ dir: join(data, "files") });
    // What a crash left: a single upload once no byte arrived for twice the
    // timeout, and at least 5 minutes, so that an instance with a shorter
    // timeout on the same folder leaves another's uploads alone; a
    // multipart upload once it expired.
    sweep = () => files.sweep({ idle: Math.max(2 * timeout, PARTIAL_IDLE_MS) });
    storage = files;
    where = join(data, "files");
  }

  const apiKey = values["api-key"] || env.FILEURLS_API_KEY ||
    await kept(data, "api-key", () => `fu_${randomId(24)}`);
  const secret = env.FILEURLS_SECRET ||
    await kept(data, "secret", () => randomId(32));

  const shutdown = new AbortController();
  let handler: Handler;
  try {
    const app = new Hono().route(
      "/v1",
      filesRoute({
        ...settings,
        storage,
        secret,
        apiKeys: [apiKey],
        publicUrl: values["public-url"],
        maxSize,
        bodyTimeout: timeout,
        signal: shutdown.signal,
      }),
    );
    if (!values["no-page"]) {
      app.route(
        "/",
        uploadPage({
          apiUrl: values["public-url"],
          connectOrigins: await storeOrigins(storage),
        }),
      );
    }
    app.notFound((c) =>
      c.json(
        errorBody(
          404,
          `Cannot ${c.req.method} ${c.req.path}: no such endpoint`,
        ),
        404,
      )
    );
    app.onError((error, c) => {
      console.error("fileurls: unexpected error:", error);
      return c.json(
        errorBody(500, "Cannot answer the request: internal error"),
        500,
      );
    });
    handler = (request) => app.fetch(request);
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new UsageError(messageOf(error));
    }
    throw error;
  }

  // Sweep once before serving, so that a restart after a crash starts clean.
  let sweeping: ReturnType<typeof setInterval> | undefined;
  if (sweep !== undefined) {
    const run = () =>
      sweep().catch((error) =>
        printError(`fileurls serve: ${messageOf(error)}\n`)
      );
    await run();
    sweeping = setInterval(run, Math.max(SWEEP_MS, 2 * timeout));
  }

  const log = accessLog(handler, {
    log: values.quiet ? undefined : print,
    error: printError,
  });
  let server: Server;
  try {
    server = await listen(log.handler, {
      hostname: values.hostname,
      port,
      headersTimeout: timeout,
      // Later than the route's own cut, so that a stalled upload gets its
      // 408, its URL already free again, before the connection closes.
      idleTimeout: timeout + Math.max(1000, Math.min(5000, timeout / 2)),
    });
  } catch (error) {
    printError(
      `fileurls serve: Cannot listen on ${values.hostname} port ${port}: ${
        messageOf(error)
      }\n`,
    );
    clearInterval(sweeping);
    return 1;
  }
  const { urls, shared } = reachable(
    values.hostname,
    (host) => `http://${host}:${server.port}/v1`,
  );
  const local = urls[0];
  const baseUrl = values["public-url"]?.replace(/\/+$/, "") ?? local;
  // Listening for them before saying it serves: a stop right after is
  // handled.
  const stopping = stopSignal();
  const lines = [`fileurls serving ${local}`];
  if (isWildcard(values.hostname)) {
    lines.push(
      ...urls.slice(1, shared).map((url) => `Also at ${url}`),
      shared === 0
        ? `Listening on ${values.hostname}, but this machine has no address other machines can reach`
        : `On this machine: ${urls[shared]}`,
    );
  }
  if (baseUrl !== local) lines.push(`Public URL: ${baseUrl}`);
  if (isBlockedPort(server.port)) {
    printError(
      `fileurls serve: warning: browsers and fetch() on Node and Deno refuse port ${server.port} (a bad port of the Fetch standard): the upload page and most clients cannot reach it; choose another --port\n`,
    );
  }
  lines.push(`API key: ${apiKey}`, `Storage: ${where}`);
  lines.push(...describeSettings(settings));
  print(
    lines.join("\n") + "\n" +
      `\nTo upload from another shell:\n` +
      `  export FILEURLS_BASE_URL=${shellWord(baseUrl)} FILEURLS_API_KEY=${
        shellWord(apiKey)
      }\n` +
      `  fileurls upload photo.png\n\n`,
  );

  const signal = await stopping;
  clearInterval(sweeping);
  const open = log.inFlight();
  printError(
    `fileurls serve: stopping on ${signal}` +
      (open === 0
        ? ""
        : `: letting ${plural(open, "request")} in flight finish for up to ${
          grace / 1000
        } s`) +
      "\n",
  );
  await server.close({
    grace,
    // Uploads still running end with 503 and Retry-After, and keep nothing.
    onGraceOver: () => {
      printError(
        `fileurls serve: ending ${
          plural(log.inFlight(), "request")
        } still in flight; uploads answer a retryable 503\n`,
      );
      shutdown.abort();
    },
  });
  printError("fileurls serve: stopped\n");
  return 0;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * The origins a browser sends bytes to besides the API's: a presigned
 * storage's, read from URLs it signs (locally, without a request).
 */
async function storeOrigins(
  storage: Storage | PresignedStorage,
): Promise<string[]> {
  if (!("presign" in storage)) return [];
  const now = Date.now();
  const { upload_url } = await storage.presign(
    { name: "page.bin", size: 1, type: "application/octet-stream" },
    {
      uploadExpiresAt: new Date(now + 60_000),
      downloadExpiresAt: new Date(now + 60_000),
    },
  );
  return [new URL(upload_url).origin];
}

/** How often, at least, leftovers of crashed uploads are swept. */
const SWEEP_MS = 60_000;

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

function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text)
    ? text
    : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Resolves with the first SIGINT or SIGTERM. */
function stopSignal(): Promise<string> {
  return new Promise((done) => {
    const signals = ["SIGINT", "SIGTERM"] as const;
    const stops = signals.map((signal) => () => {
      signals.forEach((name, i) => process.off(name, stops[i]));
      done(signal);
    });
    for (const [i, signal] of signals.entries()) {
      try {
        process.on(signal, stops[i]);
      } catch {
        // Not every platform has SIGTERM.
      }
    }
  });
}

/** Whether `value` is an absolute `http:` or `https:` URL. */
function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}
