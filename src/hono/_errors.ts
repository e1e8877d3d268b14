/**
 * How the route fails: a thrown {@linkcode RouteError} (Hono's own
 * `HTTPException`, as its middleware throws), rendered in one place, by
 * {@linkcode renderError}, as the API's JSON envelope.
 *
 * @module
 */

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorBody } from "../api.ts";

/**
 * An answer the route gives instead of success: a status, a message that
 * names the failed action, and headers to send with it.
 */
export class RouteError extends HTTPException {
  /** Headers to send with the answer, e.g. `WWW-Authenticate`. */
  readonly headers: Record<string, string>;

  /**
   * Makes the error.
   *
   * @param status The HTTP status, 4xx or 5xx.
   * @param message What failed, e.g. `Cannot upload "a.png": …`.
   * @param headers Headers to send with the answer.
   */
  constructor(
    status: ContentfulStatusCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(status, { message });
    this.name = "RouteError";
    this.headers = headers;
  }

  /**
   * The answer: the JSON envelope with this status and its headers.
   *
   * @returns The response.
   */
  override getResponse(): Response {
    return errorResponse(this.status, this.message, this.headers);
  }
}

/**
 * The API's JSON error answer, never cached.
 *
 * @param status The HTTP status.
 * @param message What failed.
 * @param headers Further headers.
 * @returns The response.
 */
export function errorResponse(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(errorBody(status, message), {
    status,
    headers: { "cache-control": "no-store", ...headers },
  });
}

/**
 * The route's `onError`: a {@linkcode RouteError} or another Hono
 * `HTTPException` becomes the JSON envelope with its status; a request body
 * that broke off because the client went away answers 400, unlogged (no one
 * reads the answer, and nothing failed here); anything else is logged and
 * answers 500, without a stack or internal detail.
 *
 * @param error What a handler or middleware threw.
 * @param c The request's context.
 * @returns The answer.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { renderError } from "./_errors.ts";
 * const app = new Hono().onError(renderError);
 * ```
 */
export function renderError(error: Error, c: Context): Response {
  if (error instanceof RouteError) return error.getResponse();
  const request = `${c.req.method} ${new URL(c.req.url).pathname}`;
  if (error instanceof HTTPException) {
    const status = error.status;
    return errorResponse(
      status,
      `Cannot answer ${request}: ${
        error.message || error.getResponse().statusText || `status ${status}`
      }`,
    );
  }
  if (isClientGone(error, c.req.raw)) {
    return errorResponse(
      400,
      `Cannot answer ${request}: the client closed the connection before the body ended`,
    );
  }
  console.error("fileurls: unexpected error:", error);
  return errorResponse(500, "Cannot answer the request: internal error");
}

/**
 * Tells whether an error (or one of its causes) is a request body breaking
 * off because the client closed the connection, as each server says it:
 * `Deno.serve` with `BadResource` on the body; `node:http` (and so
 * `@hono/node-server`, on any runtime) with `aborted`, code `ECONNRESET`;
 * `Bun.serve` with an `AbortError`, the request's signal aborted.
 */
function isClientGone(error: unknown, request: Request): boolean {
  for (let depth = 0; depth < 4; depth++) {
    if (typeof error !== "object" || error === null) return false;
    const { name, message, code } = error as Record<string, unknown>;
    if (name === "BadResource" && /\bbody\b/.test(String(message))) {
      return true;
    }
    if (message === "aborted" && code === "ECONNRESET") return true;
    if (name === "AbortError" && request.signal.aborted) return true;
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}
