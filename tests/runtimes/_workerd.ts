/**
 * Runs workers in workerd (Cloudflare's runtime) on loopback with
 * `miniflare`: the files route with `memoryStorage()` (`_workerd_route.ts`),
 * and the client (`_workerd_client.ts`), each bundled with esbuild the way a
 * worker is deployed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";

/** The API key the route worker accepts and the client worker sends. */
export const WORKERD_API_KEY = "workerd-api-key";

/** The client worker, without and with Node.js compatibility. */
export type ClientWorker = "client" | "client-node";

/** What the client worker answered. */
export interface WorkerUpload {
  status: number;
  url?: string;
  progress?: { loaded: number; total: number }[];
  error?: { name: string; message: string };
}

/** Running workers. */
export interface Workerd {
  /** `http://127.0.0.1:<port>`: the route worker (the route is at `/v1`). */
  routeUrl: string;
  /**
   * Has a client worker upload `bytes` as `kind` to the API at `baseUrl`.
   *
   * @param worker Which client worker.
   * @param baseUrl The API, e.g. `${routeUrl}/v1`.
   * @param kind `blob`, `file`, `bytes`, `buffer`, `stream`, `iterable`, `path`.
   * @param bytes The contents (for `path`: the path).
   * @param name The file name.
   * @param partSize Files larger than this go in parts of this size.
   */
  upload(
    worker: ClientWorker,
    baseUrl: string,
    kind: string,
    bytes: Uint8Array,
    name: string,
    partSize?: number,
  ): Promise<WorkerUpload>;
  /** Stops workerd. */
  close(): Promise<void>;
}

/** The compatibility date of every test worker. */
export const COMPATIBILITY_DATE = "2025-09-01";

/**
 * Bundles a worker the way one is deployed: esbuild, ESM, the `workerd`
 * export conditions.
 *
 * @param entry The worker module, relative to this file.
 * @returns The script.
 */
export async function bundle(entry: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker"],
    external: ["node:*"],
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  return result.outputFiles[0].text;
}

/**
 * Bundles the route and client workers and starts them in one workerd.
 *
 * @returns The route's origin, `upload()` and `close()`.
 */
export async function startWorkerd(): Promise<Workerd> {
  const [route, client] = await Promise.all([
    bundle("./_workerd_route.ts"),
    bundle("./_workerd_client.ts"),
  ]);
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        name: "route",
        modules: true,
        script: route,
        compatibilityDate: COMPATIBILITY_DATE,
        // fsStorage, exported next to memoryStorage, imports node:fs.
        compatibilityFlags: ["nodejs_compat"],
      },
      {
        name: "client",
        modules: true,
        script: client,
        compatibilityDate: COMPATIBILITY_DATE,
      },
      {
        name: "client-node",
        modules: true,
        script: client,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: ["nodejs_compat"],
      },
    ],
  });
  const ready = await mf.ready;
  return {
    routeUrl: ready.origin,
    async upload(worker, baseUrl, kind, bytes, name, partSize) {
      const fetcher = await mf.getWorker(worker) as unknown as {
        fetch(url: string, init: RequestInit): Promise<Response>;
      };
      const query = new URLSearchParams({ base: baseUrl, kind, name });
      if (partSize !== undefined) query.set("part_size", String(partSize));
      const response = await fetcher.fetch(
        `http://worker.test/upload?${query}`,
        { method: "POST", body: bytes as BodyInit },
      );
      const answer = await response.json() as Omit<WorkerUpload, "status">;
      return { status: response.status, ...answer };
    },
    close: () => mf.dispose(),
  };
}
