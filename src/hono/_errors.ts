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
 * `HTTPException` becomes the JSON envelope with its status; anything else is
 * logged and answers 500, without a stack or internal detail.
 *
 * @param error What a handler or middleware threw.
 * @param c The request's context.
 * @returns The answer.
 */
export function renderError(error: Error, c: Context): Response {
  if (error instanceof RouteError) return error.getResponse();
  if (error instanceof HTTPException) {
    const status = error.status;
    return errorResponse(
      status,
      `Cannot answer ${c.req.method} ${new URL(c.req.url).pathname}: ${
        error.message || error.getResponse().statusText || `status ${status}`
      }`,
    );
  }
  console.error("fileurls: unexpected error:", error);
  return errorResponse(500, "Cannot answer the request: internal error");
}
