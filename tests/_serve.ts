/**
 * Serves a fetch handler (a Hono app) on a free loopback port with the
 * runtime's own server: `Deno.serve`, `Bun.serve`, or `@hono/node-server`.
 *
 * @module
 */

/** Anything with a `fetch(request)` handler, such as a Hono app. */
export interface FetchApp {
  /** Answers one request. */
  fetch(request: Request): Response | Promise<Response>;
}

/** A running server. */
export interface Served {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** Stops the server, dropping open connections. */
  close(): Promise<void>;
}

interface DenoServer {
  addr: { port: number };
  shutdown(): Promise<void>;
}

interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen(): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
}

interface BunLike {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request): Response | Promise<Response>;
  }): { port: number; stop(closeActive: boolean): Promise<void> | void };
}

/**
 * Serves `app` on `127.0.0.1` and a free port.
 *
 * @param app The handler.
 * @returns The base URL and `close()`.
 */
export async function serveApp(app: FetchApp): Promise<Served> {
  const handler = (request: Request) => app.fetch(request);
  const runtime = globalThis as { Deno?: DenoLike; Bun?: BunLike };
  if (runtime.Deno) {
    const server = runtime.Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      handler,
    );
    return {
      url: `http://127.0.0.1:${server.addr.port}`,
      close: () => server.shutdown(),
    };
  }
  if (runtime.Bun) {
    const server = runtime.Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: handler,
    });
    return {
      url: `http://127.0.0.1:${server.port}`,
      close: async () => {
        await server.stop(true);
      },
    };
  }
  const { serve } = await import("@hono/node-server");
  return await new Promise<Served>((resolve) => {
    const server = serve(
      { fetch: handler, hostname: "127.0.0.1", port: 0 },
      (info) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              const http = server as unknown as {
                closeAllConnections?: () => void;
              };
              server.close(() => done());
              http.closeAllConnections?.();
            }),
        });
      },
    );
  });
}
