/**
 * A worker serving the files route at `/v1` with `s3Storage()`, for the
 * workerd tests: the route signs upload, download and part URLs, and starts,
 * completes and aborts multipart uploads, from inside workerd. The bucket
 * comes from the worker's bindings (the `FILEURLS_S3_*` and `AWS_*`
 * variables that `s3StorageFromEnv` reads).
 *
 * @module
 */
import { Hono } from "hono";
import { filesRoute } from "../../src/hono/mod.ts";
import { s3StorageFromEnv } from "../../src/storage/s3.ts";

let app: Hono | undefined;

function route(env: Record<string, string>): Hono {
  app ??= new Hono().route(
    "/v1",
    filesRoute({
      storage: s3StorageFromEnv(env),
      secret: "workerd-secret-0123456789abcdef-0123456789",
      apiKeys: [env.API_KEY],
      // S3 takes parts of 5 MiB at least.
      partSize: 5 * 1024 * 1024,
    }),
  );
  return app;
}

// workerd loads a module worker from its default export.
export default {
  fetch: (
    request: Request,
    env: Record<string, string>,
  ): Promise<Response> | Response => route(env).fetch(request),
};
