/**
 * The files route mounted under a prefix, as one fetch handler, for programs
 * (such as the command line) that serve it without building a Hono app of
 * their own.
 *
 * @module
 */

import { Hono } from "hono";
import { filesRoute, type FilesRouteOptions } from "./route.ts";

/**
 * Mounts {@linkcode filesRoute} at `prefix` in a new Hono app.
 *
 * @param prefix Where the route lives, e.g. `"/v1"`.
 * @param options The route's options.
 * @returns The app's fetch handler.
 * @throws {TypeError} If `filesRoute` rejects an option.
 * @throws {RangeError} If `filesRoute` rejects a limit.
 */
export function mountFilesRoute(
  prefix: string,
  options: FilesRouteOptions,
): (request: Request) => Response | Promise<Response> {
  const app = new Hono().route(prefix, filesRoute(options));
  return (request) => app.fetch(request);
}
