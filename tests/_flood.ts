/**
 * The project's files route, served by the runtime on loopback, where a test
 * may answer any request itself: with a body that never ends, one that
 * breaks off, or one padded to an exact size. An endless body is made only
 * as fast as the client reads it, and tells whether the client cancelled it,
 * which shows that the client stopped reading and let the connection go.
 * After {@linkcode FLOOD_LIMIT} an endless body breaks off, so that a client
 * that reads on fails instead of filling memory.
 *
 * @module
 */
import { Hono } from "hono";
import { filesRoute, memoryStorage } from "../src/hono/mod.ts";
import { API_KEY, SECRET } from "./_route.ts";
import { serveApp } from "./_serve.ts";

/** The bytes after which an endless body breaks off: 64 MiB. */
export const FLOOD_LIMIT = 64 * 1024 ** 2;

/** One endless body handed out: how much of it went, and its fate. */
export interface Flood {
  /** Bytes made so far. */
  sent: number;
  /** Whether the client cancelled it. */
  cancelled: boolean;
}

/** What a test may answer with, besides the route itself. */
export interface Answers {
  /** Answers by the files route. */
  route(request: Request): Promise<Response>;
  /**
   * An answer whose body is `prefix`, then spaces without end.
   *
   * @param status The status.
   * @param prefix The body's first bytes, e.g. a JSON error.
   */
  endless(status: number, prefix?: string): Response;
  /**
   * An answer whose body is `prefix`, then breaks off: the connection is
   * dropped.
   *
   * @param status The status.
   * @param prefix The body's first bytes.
   */
  broken(status: number, prefix: string): Response;
}

/** A running route with answers of the test's own. */
export interface FloodApi {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `${url}/v1`. */
  baseUrl: string;
  /** The API key the route accepts. */
  apiKey: string;
  /** `"METHOD /path"` of every request, in order of arrival. */
  requests: string[];
  /** Every endless body handed out so far. */
  floods: Flood[];
  /**
   * Waits until every endless body handed out was cancelled.
   *
   * @param ms How long to wait at most.
   * @throws {Error} If one is still being read after `ms`.
   */
  cancelled(ms?: number): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the files route at `/v1` (parts of any size allowed), answering
 * what `answer` chooses to answer itself.
 *
 * @param answer Answers a request, or leaves it to the route by returning
 * `undefined`.
 * @returns The running API.
 */
export async function startFloodApi(
  answer: (
    request: Request,
    answers: Answers,
  ) => Response | undefined | Promise<Response | undefined>,
): Promise<FloodApi> {
  const app = new Hono().route(
    "/v1",
    filesRoute({
      secret: SECRET,
      apiKeys: [API_KEY],
      minPartSize: 1,
      storage: memoryStorage(),
    }),
  );
  const requests: string[] = [];
  const floods: Flood[] = [];
  const answers: Answers = {
    route: async (request) => await app.fetch(request),
    endless(status, prefix = "") {
      const flood: Flood = { sent: 0, cancelled: false };
      floods.push(flood);
      const first = new TextEncoder().encode(prefix);
      const spaces = new Uint8Array(64 * 1024).fill(0x20);
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (flood.sent > FLOOD_LIMIT) {
              return controller.error(new Error("The client read on"));
            }
            const chunk = flood.sent === 0 && first.byteLength > 0
              ? first
              : spaces;
            flood.sent += chunk.byteLength;
            controller.enqueue(chunk);
          },
          cancel() {
            flood.cancelled = true;
          },
        }, { highWaterMark: 0 }),
        { status, headers: { "content-type": "application/json" } },
      );
    },
    broken(status, prefix) {
      let sent = false;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (sent) {
              // Let the first bytes go out before the connection drops.
              await new Promise((resolve) => setTimeout(resolve, 50));
              return controller.error(
                new Error("The test breaks this answer off"),
              );
            }
            sent = true;
            controller.enqueue(new TextEncoder().encode(prefix));
          },
        }, { highWaterMark: 0 }),
        { status, headers: { "content-type": "application/json" } },
      );
    },
  };
  const served = await serveApp({
    async fetch(request) {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      return await answer(request, answers) ?? await app.fetch(request);
    },
  });
  return {
    url: served.url,
    baseUrl: `${served.url}/v1`,
    apiKey: API_KEY,
    requests,
    floods,
    async cancelled(ms = 5_000) {
      const until = Date.now() + ms;
      while (floods.some((flood) => !flood.cancelled)) {
        if (Date.now() > until) {
          throw new Error(
            `An endless answer was not cancelled within ${ms} ms: ${
              JSON.stringify(floods)
            }`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => served.close(),
  };
}

/**
 * The same answer with its body padded with spaces (which JSON allows) to
 * exactly `size` bytes.
 *
 * @param response A JSON answer.
 * @param size The body's size in bytes.
 * @returns The padded answer, with an exact `Content-Length`.
 */
export async function padded(
  response: Response,
  size: number,
): Promise<Response> {
  const text = await response.text();
  const body = new Uint8Array(size).fill(0x20);
  body.set(new TextEncoder().encode(text));
  return new Response(body, {
    status: response.status,
    headers: { "content-type": "application/json" },
  });
}
