/**
 * Serving a fetch handler with the runtime's own server: `Deno.serve`,
 * `Bun.serve`, or `@hono/node-server` on Node.
 *
 * @module
 */

import { bunGlobal, denoGlobal } from "../_runtime.ts";

/** A running server. */
export interface Server {
  /** The port it listens on. */
  port: number;
  /** Stops it, letting open requests finish for a few seconds. */
  close(): Promise<void>;
}

/** A fetch handler. */
export type Handler = (request: Request) => Response | Promise<Response>;

/** How long open requests may take to finish once the server stops. */
const GRACE_MS = 5000;

/**
 * Serves `handler` on `hostname` and `port`.
 *
 * @param handler The fetch handler.
 * @param hostname The address to listen on.
 * @param port The port; `0` picks a free one.
 * @returns The server, once it listens.
 * @throws {Error} If it cannot listen, e.g. the port is in use.
 */
export async function listen(
  handler: Handler,
  hostname: string,
  port: number,
): Promise<Server> {
  const deno = denoGlobal();
  if (deno) {
    const server = deno.serve({ hostname, port, onListen() {} }, handler);
    return {
      port: server.addr.port,
      close: () => withGrace(server.shutdown(), () => {}),
    };
  }
  const bun = bunGlobal();
  if (bun) {
    const server = bun.serve({
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
