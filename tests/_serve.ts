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
  // On Node, as users serve it by default.
  return await serveNodeDefault(app);
}

/**
 * The runtime the tests run on.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 */
export function runtime(): "deno" | "bun" | "node" {
  const global = globalThis as Record<string, unknown>;
  if (global.Deno !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  return "node";
}

/**
 * Serves `app` with `@hono/node-server` on `node:http`, keeping the
 * runtime's own `Request` and `Response`: replacing them would break every
 * later test in this process that uses `Bun.serve`.
 *
 * @param app The handler.
 * @returns The base URL and `close()`.
 */
export function serveNode(app: FetchApp): Promise<Served> {
  return serveWithNodeServer(app, false);
}

/**
 * Serves `app` with `@hono/node-server` as its users do by default, with its
 * own global `Request` and `Response` in place. For Node only.
 *
 * @param app The handler.
 * @returns The base URL and `close()`.
 */
export function serveNodeDefault(app: FetchApp): Promise<Served> {
  return serveWithNodeServer(app, true);
}

async function serveWithNodeServer(
  app: FetchApp,
  overrideGlobalObjects: boolean,
): Promise<Served> {
  const { serve } = await import("@hono/node-server");
  const fetch = (request: Request) => app.fetch(request);
  return await new Promise<Served>((resolve) => {
    const server = serve(
      { fetch, hostname: "127.0.0.1", port: 0, overrideGlobalObjects },
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
