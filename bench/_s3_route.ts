/**
 * `filesRoute` over `s3Storage` for the S3 benchmark, served on loopback in
 * a process of its own: the route starts multipart uploads in the bucket and
 * signs presigned part URLs, and the client sends the parts straight to the
 * bucket. Reads the bucket from `BENCH_S3` (the JSON line of
 * `tests/_s3rver_main.mjs`), prints `{"port"}` once it listens, and serves
 * until SIGTERM.
 *
 * ```sh
 * BENCH_S3='{"port":…,"bucket":…,"accessKeyId":…,"secretAccessKey":…}' \
 *   node --experimental-strip-types bench/_s3_route.ts
 * ```
 *
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { filesRoute } from "../src/hono/mod.ts";
import { s3Storage } from "../src/storage/s3.ts";
import { listen } from "../src/cli/_listen.ts";

const s3 = JSON.parse(process.env.BENCH_S3 ?? "{}");
const app = new Hono().route(
  "/v1",
  filesRoute({
    storage: s3Storage({
      endpoint: `http://127.0.0.1:${s3.port}`,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    }),
    secret: "bench secret bench secret bench secret",
    apiKeys: [process.env.BENCH_API_KEY ?? "fu_bench_key"],
  }),
);
const server = await listen((request) => app.fetch(request), {
  hostname: "127.0.0.1",
  port: 0,
});
console.log(JSON.stringify({ port: server.port }));
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
