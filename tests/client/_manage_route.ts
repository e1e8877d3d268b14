/**
 * The files route over memory storage (or another) served on loopback by
 * the runtime's own server, for the tests of managing stored files.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Client, type FileObject } from "../../mod.ts";
import {
  filesRoute,
  type FilesRouteOptions,
  memoryStorage,
  type Storage,
} from "../../src/hono/mod.ts";
import { serveApp } from "../_serve.ts";
import { API_KEY, SECRET } from "../_route.ts";

/** The route on loopback, and every request it received. */
export interface Server {
  baseUrl: string;
  /** `"METHOD /path?query"` of every request, in order. */
  requests: string[];
  client(options?: { apiKey?: string }): Client;
  close(): Promise<void>;
}

export async function startServer(
  options: Partial<FilesRouteOptions> & { storage?: Storage } = {},
): Promise<Server> {
  const requests: string[] = [];
  const app = new Hono();
  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    requests.push(`${c.req.method} ${url.pathname}${url.search}`);
    await next();
  });
  app.route(
    "/v1",
    filesRoute({
      secret: SECRET,
      apiKeys: [API_KEY],
      resources: ["prediction", "avatar"],
      ...options,
      storage: options.storage ?? memoryStorage(),
    }),
  );
  const served = await serveApp(app);
  const baseUrl = `${served.url}/v1`;
  return {
    baseUrl,
    requests,
    client: ({ apiKey = API_KEY } = {}) =>
      new Client({ baseUrl, apiKey, maxRetries: 0 }),
    close: () => served.close(),
  };
}

export async function uploadText(
  client: Client,
  name: string,
  text = `contents of ${name}`,
  resource = "prediction",
  lifetime?: number,
): Promise<string> {
  const { id } = await client.files.uploadFile(
    new TextEncoder().encode(text),
    resource,
    { name, lifetime },
  );
  assert.equal(typeof id, "string");
  return id!;
}

export async function all(
  files: AsyncIterable<FileObject>,
): Promise<FileObject[]> {
  const list: FileObject[] = [];
  for await (const file of files) list.push(file);
  return list;
}

/** Milliseconds between an ISO date and `now + seconds`. */
export function offBy(iso: string | null, seconds: number): number {
  assert.notEqual(iso, null);
  return Math.abs(Date.parse(iso!) - (Date.now() + seconds * 1000));
}
