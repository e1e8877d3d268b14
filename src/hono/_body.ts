/**
 * Every request body the route reads goes through a {@linkcode GuardedBody}:
 * a body that brings less than {@linkcode MIN_PROGRESS} bytes in
 * `bodyTimeout` ms is cut (408), and every body
 * still being read is cut when the route's `signal` aborts (503), so that a
 * stalled or interrupted upload never holds its key or leaves bytes behind.
 *
 * The JSON bodies of the `POST` endpoints are read whole, bounded, by
 * {@linkcode jsonBody}; Hono's `bodyLimit` is not used because it reads a
 * chunked body whole before the handler, with no idle timeout.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { byobReader, pullDone, pullView } from "../_byte_stream.ts";
import { RouteError } from "./_errors.ts";
import type { Config } from "./options.ts";

/** The largest JSON body accepted, in bytes. */
export const MAX_JSON_BYTES = 64 * 1024;

/**
 * The least a body must bring per `bodyTimeout`: 1 KiB. A body that drips a
 * byte every few seconds holds its connection and its key as surely as a
 * silent one; 1 KiB/s goes through whatever the timeout.
 */
export const MIN_PROGRESS = 1024;

/** Seconds a client is asked to wait before it tries again after a shutdown. */
export const RETRY_AFTER_SECONDS = 5;

/** Why a body was cut. */
type Cut = "timeout" | "shutdown";

/**
 * The 503 answer of a route that is shutting down.
 *
 * @param action What was being done, e.g. `Cannot upload "a.bin"`.
 * @returns The error to throw, with `Retry-After`.
 */
export function shuttingDown(action: string): RouteError {
  return new RouteError(503, `${action}: the server is shutting down`, {
    "retry-after": String(RETRY_AFTER_SECONDS),
  });
}

/**
 * Refuses a new request once the route's `signal` has aborted.
 *
 * @param config The route's options.
 * @param action What the request does, for the message.
 * @throws {RouteError} 503 with `Retry-After` once the route shuts down.
 */
export function refuseWhenStopping(config: Config, action: string): void {
  if (config.signal?.aborted) throw shuttingDown(action);
}

/** `30 s`, `0.3 s`: a duration in milliseconds, in seconds. */
function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/**
 * A request body read through a guard: it counts the bytes as they arrive
 * from the request, and cuts the body (erroring its stream and cancelling the
 * request's) once it brought less than {@linkcode MIN_PROGRESS} bytes in
 * `bodyTimeout` ms of being read, or when the route's `signal` aborts.
 *
 * The time is counted only while a read of the request is pending: a
 * consumer that is slow to read (a busy disk) never makes the body time out.
 *
 * A request body that is a byte stream (Deno's) gives a byte stream: a
 * reader that brings its own buffer has the request read straight into it.
 */
export class GuardedBody {
  /** The body, to read instead of the request's. */
  readonly stream: ReadableStream<Uint8Array>;
  #received = 0;
  #state: "reading" | "ended" | "failed" | "cancelled" | Cut = "reading";
  #timeout: number;
  /** Bytes since the body last brought {@linkcode MIN_PROGRESS}. */
  #trickle = 0;
  /** Milliseconds spent waiting for the body since then. */
  #waited = 0;

  /**
   * Guards a body.
   *
   * @param source The request's body; `null` reads as empty.
   * @param config The route's options: `bodyTimeout` and `signal`.
   */
  constructor(
    source: ReadableStream<Uint8Array> | null,
    config: Pick<Config, "bodyTimeout" | "signal">,
  ) {
    const { bodyTimeout, signal } = config;
    this.#timeout = bodyTimeout;
    const body = source ?? new Blob([]).stream();
    // A byte stream (Deno's request bodies) is read into the buffers of
    // whoever reads this one, when they bring their own.
    const byob = byobReader(body);
    const reader = byob ?? body.getReader();
    const read = (controller: ReadableStreamController<Uint8Array>) =>
      byob !== undefined
        ? byob.read(pullView(controller as ReadableByteStreamController))
        : (reader as ReadableStreamDefaultReader<Uint8Array>).read();
    // Gives what was read to whoever reads this stream.
    const hand = (
      controller: ReadableStreamController<Uint8Array>,
      result: ReadableStreamReadResult<Uint8Array>,
    ) => {
      if (byob !== undefined) {
        pullDone(
          controller as ReadableByteStreamController,
          result as ReadableStreamReadResult<Uint8Array<ArrayBuffer>>,
        );
      } else if (result.done) {
        controller.close();
      } else {
        (controller as ReadableStreamDefaultController<Uint8Array>)
          .enqueue(result.value);
      }
    };
    const pull = async (controller: ReadableStreamController<Uint8Array>) => {
      const cut = (why: Cut) => {
        if (this.#state !== "reading") return;
        this.#state = why;
        const error = this.failure("Cannot read the request body")!;
        controller.error(error);
        reader.cancel(error).catch(() => {});
      };
      if (signal?.aborted) return cut("shutdown");
      const onAbort = () => cut("shutdown");
      signal?.addEventListener("abort", onAbort);
      const started = Date.now();
      const timer = setTimeout(
        () => cut("timeout"),
        Math.max(0, bodyTimeout - this.#waited),
      );
      try {
        while (true) {
          const result = await read(controller);
          if (this.#state !== "reading") return;
          if (result.done) {
            this.#state = "ended";
            hand(controller, result);
            return;
          }
          if (result.value.byteLength === 0) continue;
          this.#received += result.value.byteLength;
          this.#trickle += result.value.byteLength;
          if (this.#trickle >= MIN_PROGRESS) {
            this.#trickle = 0;
            this.#waited = 0;
          } else {
            this.#waited += Date.now() - started;
          }
          hand(controller, result);
          return;
        }
      } catch (error) {
        if (this.#state !== "reading") return;
        this.#state = "failed";
        controller.error(error);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      }
    };
    const cancel = async (reason: unknown) => {
      if (this.#state === "reading") this.#state = "cancelled";
      await reader.cancel(reason);
    };
    this.stream = byob !== undefined
      ? new ReadableStream({ type: "bytes", pull, cancel })
      : new ReadableStream<Uint8Array>({ pull, cancel }, { highWaterMark: 0 });
  }

  /** Bytes that arrived from the request so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Whether the request's body is over by the client's doing: it ended, or
   * failed (the client went away). Not when the guard cut it, nor when its
   * reader cancelled it.
   */
  get ended(): boolean {
    return this.#state === "ended" || this.#state === "failed";
  }

  /**
   * The answer to give if the guard cut the body.
   *
   * @param action What was being done, e.g. `Cannot upload "a.bin"`.
   * @returns 408 after the idle timeout, 503 (with `Retry-After`) on
   * shutdown, or `undefined` if the body was not cut.
   */
  failure(action: string): RouteError | undefined {
    // The rest of the body may still come: the connection cannot serve
    // another request (RFC 9110 asks a 408 to close it).
    const close = { connection: "close" };
    if (this.#state === "timeout") {
      return new RouteError(
        408,
        this.#trickle === 0
          ? `${action}: no byte of the body arrived for ${
            seconds(this.#timeout)
          }`
          : `${action}: the body stalled: ${this.#trickle} bytes in ${
            seconds(this.#timeout)
          }, less than 1 KiB`,
        close,
      );
    }
    if (this.#state === "shutdown") {
      const error = shuttingDown(action);
      Object.assign(error.headers, close);
      return error;
    }
    return undefined;
  }
}

/**
 * Reads a JSON request's body whole, guarded and bounded, before the
 * handler, which then reads it with `c.req.text()` as usual. Refuses new
 * requests once the route shuts down.
 *
 * @param config The route's options.
 * @param action What the request does, for messages.
 * @param maxSize The largest body, in bytes.
 * @returns The middleware.
 * @throws {RouteError} 413 for a body over `maxSize` (by its
 * `Content-Length`, before reading, or as it arrives); 408 when it stalls;
 * 503 once the route shuts down; 400 when it fails to arrive whole.
 */
export function jsonBody(
  config: Config,
  action: string,
  maxSize: number = MAX_JSON_BYTES,
): MiddlewareHandler {
  return async (c, next) => {
    refuseWhenStopping(config, action);
    const raw = c.req.raw;
    if (raw.body === null) return await next();
    const tooLarge = () =>
      new RouteError(413, `${action}: the body is over ${maxSize} bytes`);
    const length = raw.headers.get("content-length");
    if (
      length !== null && !raw.headers.has("transfer-encoding") &&
      Number(length) > maxSize
    ) {
      throw tooLarge();
    }
    const guard = new GuardedBody(raw.body, config);
    const reader = guard.stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxSize) {
          await reader.cancel().catch(() => {});
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (error) {
      const cut = guard.failure(action);
      if (cut !== undefined) throw cut;
      if (error instanceof RouteError) throw error;
      throw new RouteError(400, `${action}: the body did not arrive whole`);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    // Made from its parts: @hono/node-server's request is no `Request` to
    // Deno's constructor.
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body,
    });
    await next();
  };
}
