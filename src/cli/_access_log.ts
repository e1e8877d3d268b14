/**
 * The access log of `fileurls serve`: one line per request once its answer
 * has been sent (or broke off), and an error line for every answer of 500
 * or more and every answer that failed on the way.
 *
 * A line holds the time, the method, the path without its query (the query
 * carries the URL's signature), the status, the bytes sent and received, and
 * the time taken. Headers, and so the API key, are never logged.
 *
 * @module
 */

import { passByteStream } from "../_byte_stream.ts";
import type { Handler } from "./_listen.ts";
import { messageOf } from "./_output.ts";

/** Where the lines go. */
export interface AccessLogOptions {
  /**
   * Writes one access line, newline included.
   *
   * @default {undefined} no access log
   */
  log?: (line: string) => void;
  /** Writes one error line, newline included. */
  error: (line: string) => void;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** A handler that logs, and what it knows about the requests in flight. */
export interface AccessLog {
  /** The logging handler. */
  handler: Handler;
  /** Requests handled whose answer is not sent yet. */
  inFlight(): number;
}

/** The longest path written; a longer one is cut, with `…`. */
const MAX_PATH = 300;
/** The most of a 5xx answer's JSON read for its message. */
const MAX_ERROR_BODY = 16 * 1024;

/**
 * Wraps a handler so that every request is logged once its answer ends.
 *
 * @param handler The handler to wrap.
 * @param options Where access and error lines go.
 * @returns The logging handler, and the count of requests in flight.
 *
 * @example Log to standard output and error
 * ```ts ignore
 * const logged = accessLog((request) => app.fetch(request), {
 *   log: (line) => process.stdout.write(line),
 *   error: (line) => process.stderr.write(line),
 * });
 * ```
 */
export function accessLog(
  handler: Handler,
  options: AccessLogOptions,
): AccessLog {
  const now = options.now ?? Date.now;
  let open = 0;
  const logging: Handler = async (request) => {
    const start = now();
    open++;
    const url = new URL(request.url);
    const method = request.method;
    const path = url.pathname.length > MAX_PATH
      ? `${url.pathname.slice(0, MAX_PATH)}…`
      : url.pathname;
    let received = 0;
    let done = false;
    const end = (
      status: number,
      sent: number,
      note: string,
      problem?: string,
    ) => {
      if (done) return;
      done = true;
      open--;
      const time = new Date(start).toISOString();
      const took = Math.max(0, Math.round(now() - start));
      options.log?.(
        `${time} ${method} ${path} ${status} sent=${sent} received=${received} time=${took}ms${note}\n`,
      );
      if (problem !== undefined) {
        options.error(
          `${time} ${method} ${path} ${status}: ${withoutSecrets(problem)}\n`,
        );
      }
    };
    const counted = hasBody(request)
      ? withBody(
        request,
        // A byte stream stays one: its reader's buffers go through.
        passByteStream(request.body!, {
          bytes: (chunk) => void (received += chunk.byteLength),
        }) ?? counting(request.body!, {
          chunk: (size) => received += size,
        }),
      )
      : request;

    // A client gone before its answer was sent: some servers (Node's, Bun's)
    // then never read the answer, nor cancel it. (Deno also aborts the
    // signal once an answer is sent: by then its body has been read.)
    const answered: { status?: number; problem?: string } = {};
    let sent = 0;
    let gone = false;
    request.signal?.addEventListener("abort", () => {
      gone = true;
      if (answered.status !== undefined && sent === 0) {
        end(answered.status, sent, " cut-off", answered.problem);
      }
    }, { once: true });

    let response: Response;
    try {
      response = await handler(counted);
    } catch (error) {
      end(500, 0, "", `the request failed: ${messageOf(error)}`);
      throw error;
    }
    const status = response.status;
    let problem: string | undefined;
    if (status >= 500) {
      problem = await errorMessage(response);
    }
    Object.assign(answered, { status, problem });
    if (gone) {
      end(status, 0, " cut-off", problem);
      await response.body?.cancel().catch(() => {});
      return response;
    }
    if (response.body === null) {
      end(status, 0, "", problem);
      return response;
    }
    const body = counting(response.body, {
      chunk: (size) => sent += size,
      done: () => end(status, sent, "", problem),
      failed: (error) =>
        end(
          status,
          sent,
          " broke-off",
          `the answer broke off after ${sent} bytes: ${messageOf(error)}`,
        ),
      cancelled: () => end(status, sent, " cut-off", problem),
    });
    return new Response(body, response);
  };
  return { handler: logging, inFlight: () => open };
}

interface Watch {
  chunk(size: number): void;
  done?(): void;
  failed?(error: unknown): void;
  cancelled?(): void;
}

/**
 * A stream of the same chunks that reports each, and how it ended. Read
 * only when read (no buffer of its own); errors pass on unchanged, so that
 * whoever reads it sees the runtime's own error.
 */
function counting(
  source: ReadableStream<Uint8Array>,
  watch: Watch,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        watch.failed?.(error);
        controller.error(error);
        return;
      }
      if (result.done) {
        watch.done?.();
        controller.close();
        return;
      }
      watch.chunk(result.value.byteLength);
      controller.enqueue(result.value);
    },
    async cancel(reason) {
      watch.cancelled?.();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

function hasBody(request: Request): boolean {
  return request.method !== "GET" && request.method !== "HEAD" &&
    (request.headers.has("content-length") ||
      request.headers.has("transfer-encoding")) &&
    request.body !== null;
}

/** The request with another body; built from its parts, as every runtime's `Request` takes them. */
function withBody(
  request: Request,
  body: ReadableStream<Uint8Array>,
): Request {
  return new Request(
    request.url,
    {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      body,
      duplex: "half",
    } as RequestInit,
  );
}

/** The message of a JSON error envelope, else the status text. */
async function errorMessage(response: Response): Promise<string> {
  const fallback = response.statusText || `status ${response.status}`;
  const type = response.headers.get("content-type") ?? "";
  const length = Number(response.headers.get("content-length") ?? 0);
  if (!type.includes("json") || length > MAX_ERROR_BODY) return fallback;
  try {
    const text = await response.clone().text();
    if (text.length > MAX_ERROR_BODY) return fallback;
    const message = JSON.parse(text)?.error?.message;
    return typeof message === "string" && message !== "" ? message : fallback;
  } catch {
    return fallback;
  }
}

/**
 * A message without anything secret: a URL's query (it may carry a
 * signature) and a bearer token are replaced with `…`; line ends with
 * spaces.
 */
function withoutSecrets(message: string): string {
  return message
    .replace(/(\bhttps?:\/\/[^\s?#"'<>]*)\?[^\s"'<>]*/gi, "$1?…")
    .replace(/\b(bearer)\s+\S+/gi, "$1 …")
    .replace(/[\r\n]+/g, " ");
}
