/**
 * One route instance as its own process, for the many-instances tests: serves
 * `filesRoute` at `/v1` on a free loopback port, prints `{"url"}` as one JSON
 * line, and stops when stdin closes.
 *
 * Environment: `FILEURLS_SECRET`, `FILEURLS_API_KEY`, and either
 * `FILEURLS_DATA` (a directory for `fsStorage`) or the variables of
 * `s3StorageFromEnv()`.
 *
 * @module
 */

import process from "node:process";
import { Hono } from "hono";
import { filesRoute, fsStorage } from "../src/hono/mod.ts";
import { s3StorageFromEnv } from "../src/storage/s3.ts";
import { serveApp } from "./_serve.ts";

const env = process.env;
const storage = env.FILEURLS_DATA
  ? fsStorage({ dir: env.FILEURLS_DATA })
  : s3StorageFromEnv(env);
const app = new Hono().route(
  "/v1",
  filesRoute({
    storage,
    secret: env.FILEURLS_SECRET!,
    apiKeys: [env.FILEURLS_API_KEY!],
  }),
);
const served = await serveApp(app);
process.stdout.write(JSON.stringify({ url: served.url }) + "\n");

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await served.close();
  process.exit(0);
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
