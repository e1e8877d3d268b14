/**
 * CORS for browsers calling the API from another origin.
 *
 * Hono's `cors` middleware is not used: it answers every preflight with 204,
 * where this API refuses a foreign origin or method with 403 and the JSON
 * envelope, so that a misconfigured page fails loudly.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { RouteError } from "./_errors.ts";

/** Which origins may call: any (`"*"`), or exactly these. */
export type CorsOrigins = "*" | Set<string>;

function isAllowed(origins: CorsOrigins, origin: string): boolean {
  return origins === "*" || origins.has(origin);
}

function allowOrigin(
  headers: Headers,
  origins: CorsOrigins,
  origin: string,
): void {
  if (origins === "*") {
    headers.set("access-control-allow-origin", "*");
  } else {
    headers.set("access-control-allow-origin", origin);
    headers.append("vary", "Origin");
  }
}

/**
 * Middleware that adds `Access-Control-Allow-Origin` and the exposed headers
 * to every answer, errors included, for an allowed origin.
 *
 * @param origins The allowed origins.
 * @returns The middleware.
 */
export function corsHeaders(origins: CorsOrigins): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const origin = c.req.header("origin");
    if (origin !== undefined && isAllowed(origins, origin)) {
      allowOrigin(c.res.headers, origins, origin);
      c.res.headers.set(
        "access-control-expose-headers",
        "Content-Length, Content-Range, Content-Disposition, ETag, Accept-Ranges, Retry-After, X-Request-Id",
      );
    }
  };
}

/**
 * Answers a preflight: 204 with the allowed methods and headers for an
 * allowed origin and method; without `Origin`, a plain 204 with `Allow`.
 *
 * @param c The request's context.
 * @param origins The allowed origins.
 * @param methods The methods of this path.
 * @returns The answer.
 * @throws {RouteError} 403 for another origin or method.
 */
export function preflight(
  c: Context,
  origins: CorsOrigins,
  methods: string[],
): Response {
  const origin = c.req.header("origin");
  const method = c.req.header("access-control-request-method");
  if (origin === undefined || method === undefined) {
    return new Response(null, {
      status: 204,
      headers: { allow: ["OPTIONS", ...methods].join(", ") },
    });
  }
  if (!isAllowed(origins, origin)) {
    throw new RouteError(
      403,
      `Cannot allow the request: origin ${origin} is not allowed`,
    );
  }
  if (!methods.includes(method.toUpperCase())) {
    throw new RouteError(
      403,
      `Cannot allow the request: method ${method} is not allowed`,
    );
  }
  const headers = new Headers({
    "access-control-allow-methods": methods.join(", "),
    // No credentials are ever allowed, so any request header is harmless.
    "access-control-allow-headers": c.req.header(
      "access-control-request-headers",
    ) ??
      (methods.includes("POST")
        ? "authorization, content-type"
        : "content-type, range, if-none-match, if-range"),
    "access-control-max-age": "600",
  });
  headers.append("vary", "Access-Control-Request-Headers");
  return new Response(null, { status: 204, headers });
}
