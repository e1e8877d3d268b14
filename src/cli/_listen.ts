/**
 * Serving a fetch handler so that slow and idle clients cannot hold the
 * server: every connection must send a complete request head within
 * `headersTimeout`, and an open request whose body or answer moves no byte for
 * `idleTimeout` is closed. Running out of file descriptors never stops the
 * server: it accepts again as soon as descriptors are free.
 *
 * - Deno: an accept loop over `Deno.listen` with `Deno.serveHttp` per
 *   connection, because `Deno.serve` has neither timeouts nor a way to survive
 *   a failing `accept`.
 * - Bun and Node: `node:http` (through `@hono/node-server`), whose
 *   `headersTimeout`, `keepAliveTimeout` and socket timeout do this; `Bun.serve`
 *   keeps connections that send nothing, and its `idleTimeout` also cuts
 *   slow bodies.
 *
 * @module
 */

import { passByteStream } from "../_byte_stream.ts";
import { type DenoConn, type DenoGlobal, denoGlobal } from "../_runtime.ts";

/** A running server. */
export interface Server {
  /** The port it listens on. */
  port: number;
  /**
   * Stops it: stops accepting, closes idle connections, lets requests in
   * flight finish for `grace` ms, then calls `onGraceOver` (which should make
   * them end soon) and, after at most 2 s more, closes every connection.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** How a server stops. */
export interface CloseOptions {
  /** How long requests in flight may take to finish, in ms. Default 5000. */
  grace?: number;
  /** Called when the grace time is over and requests are still open. */
  onGraceOver?: () => void;
}

/** A fetch handler. */
export type Handler = (request: Request) => Response | Promise<Response>;

/** Where and how to listen. */
export interface ListenOptions {
  /** The address to listen on. */
  hostname: string;
  /** The port; `0` picks a free one. */
  port: number;
  /**
   * How long a connection may take to send a complete request head, counted
   * from when it opens or from its last answer, in ms. Default 30 000.
   */
  headersTimeout?: number;
  /**
   * How long an open request's body or answer may move no byte, in ms.
   * Default 30 000.
   */
  idleTimeout?: number;
}

/** The default of both timeouts. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** How long an idle keep-alive connection stays open on Bun and Node. */
const KEEP_ALIVE_MS = 5_000;
/** How long the last requests get after `onGraceOver`. */
const LAST_CALL_MS = 2_000;

/**
 * Serves `handler`.
 *
 * @param handler The fetch handler.
 * @param options Where to listen, and the timeouts.
 * @returns The server, once it listens.
 * @throws {Error} If it cannot listen, e.g. the port is in use.
 */
export async function listen(
  handler: Handler,
  options: ListenOptions,
): Promise<Server> {
  const timeouts = {
    headers: options.headersTimeout ?? DEFAULT_TIMEOUT_MS,
    idle: options.idleTimeout ?? DEFAULT_TIMEOUT_MS,
  };
  // Once stopping, a request that comes on a connection kept alive is
  // refused: only those in flight go on.
  let stopping = false;
  const gated: Handler = (request) =>
    stopping ? shuttingDown() : handler(request);
  const deno = denoGlobal();
  const server = deno !== undefined
    ? listenDeno(deno, gated, options, timeouts)
    : await listenNode(gated, options, timeouts);
  return {
    port: server.port,
    close(close) {
      stopping = true;
      return server.close(close);
    },
  };
}

/** The answer to a request that comes once the server stops. */
function shuttingDown(): Response {
  return Response.json({
    error: {
      type: "unavailable",
      message: "Cannot take the request: the server is shutting down",
    },
  }, {
    status: 503,
    headers: { "retry-after": "1", connection: "close" },
  });
}

interface Timeouts {
  headers: number;
  idle: number;
}

/** One connection served by {@linkcode listenDeno}. */
interface Connection {
  /** Waiting for a request head since then, or `undefined` in a request. */
  waitingSince?: number;
  /** When a byte of the current request's body or answer last moved. */
  lastMove: number;
  close(): void;
}

function listenDeno(
  deno: DenoGlobal,
  handler: Handler,
  options: ListenOptions,
  timeouts: Timeouts,
): Server {
  if (deno.serveHttp === undefined) {
    // A Deno without it: serve without timeouts, and say so.
    console.error(
      "fileurls: this Deno has no Deno.serveHttp: slow and idle connections are not timed out",
    );
    const server = deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen() {},
    }, handler);
    return {
      port: server.addr.port,
      close: (close) => withGrace(server.shutdown(), close, () => {}, () => {}),
    };
  }
  const serveHttp = deno.serveHttp;
  const listener = deno.listen({
    hostname: options.hostname,
    port: options.port,
  });
  const open = new Set<Connection>();
  let closing = false;
  let lastAcceptError = 0;

  const watch = setInterval(() => {
    const now = Date.now();
    for (const connection of open) {
      const waiting = connection.waitingSince;
      if (
        waiting !== undefined
          ? now - waiting > (closing ? 0 : timeouts.headers)
          : now - connection.lastMove > timeouts.idle
      ) {
        connection.close();
      }
    }
  }, Math.min(1000, Math.max(50, timeouts.headers / 4, timeouts.idle / 4)));

  const serveConnection = async (conn: DenoConn) => {
    let http: ReturnType<typeof serveHttp>;
    try {
      http = serveHttp(conn);
    } catch {
      conn.close();
      return;
    }
    const connection: Connection = {
      waitingSince: Date.now(),
      lastMove: Date.now(),
      close() {
        open.delete(connection);
        try {
          http.close();
        } catch {
          // Already closed.
        }
      },
    };
    open.add(connection);
    const moved = () => (connection.lastMove = Date.now());
    try {
      while (open.has(connection)) {
        const event = await http.nextRequest();
        if (event === null) break;
        connection.waitingSince = undefined;
        moved();
        let response: Response;
        try {
          response = await handler(watched(event.request, moved));
        } catch (error) {
          console.error("fileurls: the request failed:", error);
          response = new Response(null, { status: 500 });
        }
        await event.respondWith(watched(response, moved));
        connection.waitingSince = Date.now();
      }
    } catch {
      // The connection broke, or was closed by a timeout: nothing to answer.
    } finally {
      connection.close();
    }
  };

  (async () => {
    while (!closing) {
      let conn: DenoConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing) break;
        // Out of descriptors (EMFILE) or a connection reset before accept:
        // the server stays up and accepts again shortly.
        const now = Date.now();
        if (now - lastAcceptError > 10_000) {
          lastAcceptError = now;
          console.error(
            `fileurls: cannot accept connections (${
              error instanceof Error ? error.message : error
            }); trying again`,
          );
        }
        await new Promise((resume) => setTimeout(resume, 50));
        continue;
      }
      if (closing) {
        conn.close();
        break;
      }
      serveConnection(conn);
    }
  })();

  const stop = () => {
    if (closing) return;
    closing = true;
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  };
  return {
    port: listener.addr.port,
    async close(close) {
      stop();
      // Connections waiting for a request are closed by the next watch.
      const drained = new Promise<void>((done) => {
        const check = setInterval(() => {
          if (open.size === 0) {
            clearInterval(check);
            done();
          }
        }, 20);
      });
      await withGrace(drained, close, () => {
        for (const connection of open) connection.close();
      }, () => {});
      clearInterval(watch);
    },
  };
}

/** A request or response whose body marks each chunk that moves. */
function watched<T extends Request | Response>(message: T, moved: () => void) {
  if (message.body === null) return message;
  const track = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      moved();
      controller.enqueue(chunk);
    },
  });
  if (message instanceof Response) {
    return new Response(message.body.pipeThrough(track), message) as T;
  }
  // Read the head first: on Deno, a request's headers cannot be read once its
  // body is being read.
  const request = message as Request;
  const init = {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    duplex: "half",
  };
  // A byte stream stays one: its reader's buffers go through.
  const body = passByteStream(request.body!, { bytes: moved }) ??
    request.body!.pipeThrough(track);
  return new Request(request.url, { ...init, body } as RequestInit) as T;
}

async function listenNode(
  handler: Handler,
  options: ListenOptions,
  timeouts: Timeouts,
): Promise<Server> {
  const { serve } = await import("@hono/node-server");
  return await new Promise<Server>((resolved, rejected) => {
    const server = serve({
      fetch: handler,
      hostname: options.hostname,
      port: options.port,
      serverOptions: {
        // A whole upload may take hours: only silence ends it.
        requestTimeout: 0,
        headersTimeout: timeouts.headers,
        keepAliveTimeout: Math.min(KEEP_ALIVE_MS, timeouts.headers),
        connectionsCheckingInterval: Math.min(1000, timeouts.headers / 4),
      },
    }, (info) => {
      server.off("error", rejected);
      const http = server as unknown as {
        setTimeout(ms: number): void;
        closeIdleConnections(): void;
        closeAllConnections(): void;
      };
      // A socket on which no byte moves for this long is destroyed.
      http.setTimeout(timeouts.idle);
      resolved({
        port: info.port,
        close: (close) =>
          withGrace(
            new Promise<void>((closed) => {
              server.close(() => closed());
              http.closeIdleConnections();
            }),
            close,
            () => http.closeAllConnections(),
            () => http.closeIdleConnections(),
          ),
      });
    });
    server.once("error", rejected);
  });
}

/**
 * Waits for a graceful stop; when the grace time is over, calls
 * `onGraceOver`, waits a little more, and forces the stop.
 */
async function withGrace(
  graceful: Promise<void>,
  options: CloseOptions | undefined,
  force: () => void,
  tidy: () => void,
): Promise<void> {
  const tidying = setInterval(tidy, 100);
  try {
    const grace = options?.grace ?? 5000;
    if (await settlesWithin(graceful, grace)) return;
    if (options?.onGraceOver !== undefined) {
      options.onGraceOver();
      if (await settlesWithin(graceful, LAST_CALL_MS)) return;
    }
    force();
    await settlesWithin(graceful, LAST_CALL_MS);
  } finally {
    clearInterval(tidying);
  }
}

async function settlesWithin(
  promise: Promise<void>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
