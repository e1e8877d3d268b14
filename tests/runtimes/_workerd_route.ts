/**
 * A worker serving the files route at `/v1` with `memoryStorage()`, for the
 * workerd tests. Accepts the API key `workerd-api-key`, and parts of any
 * size.
 *
 * @module
 */
import { Hono } from "hono";
import { filesRoute, memoryStorage } from "../../src/hono/mod.ts";

const app = new Hono().route(
  "/v1",
  filesRoute({
    storage: memoryStorage(),
    secret: "workerd-secret-0123456789abcdef-0123456789",
    apiKeys: ["workerd-api-key"],
    // Small parts, so that uploads in parts stay small in the tests.
    minPartSize: 1,
  }),
);

// workerd loads a module worker from its default export.
export default {
  fetch: (request: Request): Promise<Response> | Response => app.fetch(request),
};
