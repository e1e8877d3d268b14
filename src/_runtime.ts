/**
 * The one place that asks which runtime this is, and reaches the runtime's
 * own globals (`Deno`, `Bun`, `process`). Everything is looked up when called,
 * so browsers and workers load this module without any of them.
 *
 * @module
 */

/** The runtimes fileurls tells apart. */
export type Runtime = "deno" | "bun" | "node" | "workerd" | "browser";

/** The parts of `Deno` that fileurls uses. */
export interface DenoGlobal {
  env: { get(name: string): string | undefined };
  serve(
    options: {
      hostname: string;
      port: number;
      onListen(address: { port: number }): void;
      onError?(error: unknown): Response | Promise<Response>;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
  listen(options: { hostname: string; port: number }): {
    addr: { port: number };
    accept(): Promise<DenoConn>;
    close(): void;
  };
  /**
   * Serves HTTP on one accepted connection. Deprecated by Deno in favour of
   * `Deno.serve`, which has no timeouts and cannot survive a failing
   * `accept`; `undefined` in a Deno that has removed it.
   */
  serveHttp?(conn: DenoConn): {
    nextRequest(): Promise<
      {
        request: Request;
        respondWith(response: Response): Promise<void>;
      } | null
    >;
    close(): void;
  };
}

/** An accepted TCP connection on Deno. */
export interface DenoConn {
  close(): void;
}

/** The parts of `Bun` that fileurls uses. */
export interface BunGlobal {
  file(path: string | URL): Blob & { name?: string };
  /** Runs the garbage collector; `false` lets it run without blocking. */
  gc(force: boolean): void;
  serve(options: {
    hostname: string;
    port: number;
    maxRequestBodySize?: number;
    idleTimeout?: number;
    fetch(request: Request): Response | Promise<Response>;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}

// deno-lint-ignore no-explicit-any
const global = globalThis as any;

/**
 * Tells which runtime this is.
 *
 * @returns `"deno"`, `"bun"`, `"node"`, `"workerd"` (Cloudflare Workers, also
 * with `nodejs_compat`), or `"browser"` for anything else.
 */
export function runtime(): Runtime {
  if (global.Deno?.version !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  if (global.navigator?.userAgent === "Cloudflare-Workers") return "workerd";
  if (typeof global.process?.versions?.node === "string") return "node";
  return "browser";
}

/**
 * The `Deno` global, on Deno.
 *
 * @returns It, or `undefined` elsewhere.
 */
export function denoGlobal(): DenoGlobal | undefined {
  return runtime() === "deno" ? global.Deno : undefined;
}

/**
 * The `Bun` global, on Bun.
 *
 * @returns It, or `undefined` elsewhere.
 */
export function bunGlobal(): BunGlobal | undefined {
  return runtime() === "bun" ? global.Bun : undefined;
}

/**
 * Tells whether this runtime's `fetch` sends a stream body with a hand-set
 * `Content-Length` as exactly that many bytes, never chunked, taking it as
 * it is read, so that a body's progress can be seen: Bun and Node.
 *
 * @returns `true` on Bun and Node.
 */
export function streamsExactBodies(): boolean {
  const where = runtime();
  return where === "bun" || where === "node";
}

/**
 * Counts bytes read into new ArrayBuffers, and on Bun asks its garbage
 * collector to run (without waiting for it) every `every` bytes: Bun frees
 * such buffers late, so that memory would grow by hundreds of MiB while a
 * large file is read in parts. Elsewhere it does nothing.
 *
 * @param every Bytes between two runs.
 * @returns Called with the size of each read.
 */
export function garbageCounter(every: number): (bytes: number) => void {
  const bun = bunGlobal();
  if (bun === undefined) return () => {};
  let count = 0;
  return (bytes) => {
    count += bytes;
    if (count < every) return;
    count = 0;
    bun.gc(false);
  };
}

/**
 * Counts the bytes of request bodies a server has read, and on Bun runs its
 * garbage collector, waiting for it, every `every` bytes, but for no more
 * than about `share` of the time: Bun frees the buffers of request bodies
 * late, so that a server receiving a large file in parts would grow by tens
 * of MiB. A collection that took `t` ms is followed by the next no sooner
 * than `t / share` ms later, so that in a process with a large heap, whose
 * collections take long, they come seldom. Elsewhere it does nothing.
 *
 * @param every Bytes between two collections.
 * @param share The most of the time collections may take, e.g. `0.1`.
 * @param collect Runs a collection and waits for it: Bun's by default.
 * @returns Called with the size of each body read.
 */
export function pacedCollector(
  every: number,
  share: number,
  collect: (() => void) | undefined = bunCollect(),
): (bytes: number) => void {
  if (collect === undefined) return () => {};
  let count = 0;
  let next = 0;
  return (bytes) => {
    count += bytes;
    const start = performance.now();
    if (count < every || start < next) return;
    count = 0;
    collect();
    const end = performance.now();
    next = end + (end - start) / share;
  };
}

/** Bun's garbage collection, waited for; `undefined` elsewhere. */
function bunCollect(): (() => void) | undefined {
  const bun = bunGlobal();
  return bun === undefined ? undefined : () => bun.gc(true);
}

/**
 * A Node built-in module (`node:fs`, …) where the runtime has one, loaded
 * synchronously with `process.getBuiltinModule` (Node 20.16+, Deno, Bun).
 *
 * @param name The module, e.g. `"node:fs"`.
 * @returns The module, or `undefined` where there is none.
 */
export function builtinModule<T>(name: string): T | undefined {
  try {
    return global.process?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads an environment variable on Deno (without `--allow-env` it reads as
 * unset), Bun and Node.
 *
 * @param name The variable.
 * @returns Its value, or `undefined`.
 */
export function env(name: string): string | undefined {
  try {
    return global.Deno?.env?.get(name) ?? global.process?.env?.[name];
  } catch {
    return undefined;
  }
}
