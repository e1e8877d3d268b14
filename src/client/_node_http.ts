/**
 * Requests with a body of bytes through `node:http` and `node:https`: the
 * parts of a multipart upload on Deno and Node, and on Node the small JSON
 * calls to an upload's URL that go with every part.
 *
 * Their `fetch` keeps a copy of each request's bytes beyond the request
 * (measured: about 50 MiB per part in flight on Deno, and on Node more than
 * the parts themselves), while `node:http` writes the caller's bytes as they
 * are, a slice at a time, with an exact `Content-Length`, and tells when each
 * slice has gone, which keeps the timeout counting silence. Deno's `fetch`
 * would also send a stream chunked.
 *
 * @module
 */
import { builtinModule, env, runtime } from "../_runtime.ts";

interface IncomingMessage {
  statusCode?: number;
  statusMessage?: string;
  headers: Record<string, string | string[] | undefined>;
  /** Whether the whole answer has arrived, read or not. */
  complete: boolean;
  pause(): this;
  resume(): this;
  on(event: "data", listener: (chunk: Uint8Array) => void): this;
  on(event: "end" | "aborted", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}

interface ClientRequest {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(error?: Error): void;
  once(event: "drain", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: "close", listener: () => void): this;
}

interface NodeHttp {
  request(
    url: URL,
    options: {
      method: string;
      headers: Record<string, string>;
      agent?: false;
    },
    callback: (response: IncomingMessage) => void,
  ): ClientRequest;
}

/** Bytes per write: each write that goes shows the request is alive. */
const SLICE = 256 * 1024;

/** A `fetch` for bodies of bytes, that also tells when bytes go. */
export type NodeFetch = (
  url: string,
  init: RequestInit,
  touch: () => void,
) => Promise<Response>;

/**
 * A `fetch` for a body of bytes through `node:http`, where it is the better
 * way: on the runtimes named, with no proxy set in the environment (which
 * `fetch` honours on Deno and `node:http` does not). On Node, `fetch` also
 * leaves more garbage per request: for the two requests of every part that
 * was 16 MiB of peak memory in `bench/upload.ts`.
 *
 * @param runtimes Where to use it: `"deno"`, `"node"`.
 * @returns The function, or `undefined` where `fetch` should be used.
 */
export function nodeFetch(
  runtimes: readonly ("deno" | "node")[],
): NodeFetch | undefined {
  const where = runtime();
  if (where !== "deno" && where !== "node") return undefined;
  if (!runtimes.includes(where)) return undefined;
  if (
    where === "deno" &&
    ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"].some((name) =>
      env(name)
    )
  ) {
    return undefined;
  }
  const http = builtinModule<NodeHttp>("node:http");
  const https = builtinModule<NodeHttp>("node:https");
  if (http === undefined || https === undefined) return undefined;
  // Deno's node:http sends a request again, without its body, when a kept
  // alive connection closes under it: there every part has its own.
  const fresh = where === "deno";
  return (url, init, touch) =>
    put(
      new URL(url),
      init,
      touch,
      url.startsWith("https:") ? https : http,
      fresh,
    );
}

function put(
  url: URL,
  init: RequestInit,
  touch: () => void,
  module: NodeHttp,
  fresh: boolean,
): Promise<Response> {
  const body = (init.body ?? new Uint8Array(0)) as Uint8Array;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  headers["content-length"] = String(body.byteLength);
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    // The answer's head, and its body as a stream once the head has come.
    let head: IncomingMessage | undefined;
    let answer: ReadableStreamDefaultController<Uint8Array> | undefined;
    // Whether the exchange is over: failed, answered whole, or cancelled.
    let done = false;
    const finish = () => {
      done = true;
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown) => {
      if (done) return;
      finish();
      request.destroy();
      if (answer) answer.error(error);
      else reject(error);
    };
    const onAbort = () => fail(signal!.reason);
    const request = module.request(
      url,
      {
        method: init.method ?? "PUT",
        headers,
        ...(fresh ? { agent: false as const } : {}),
      },
      (response) => {
        head = response;
        const status = response.statusCode ?? 0;
        const fields = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) {
            fields.set(name, Array.isArray(value) ? value.join(", ") : value);
          }
        }
        response.on("error", fail);
        response.on("aborted", () =>
          fail(
            Object.assign(new Error("the answer broke off"), {
              code: "ECONNRESET",
            }),
          ));
        response.on("end", () => {
          if (done) return;
          finish();
          answer?.close();
        });
        const empty = status === 204 || status === 304;
        // The body flows only as it is read, so that its reader decides how
        // much of it is kept.
        const stream = empty ? null : new ReadableStream<Uint8Array>({
          start(controller) {
            answer = controller;
          },
          pull() {
            response.resume();
          },
          cancel() {
            if (done) return;
            finish();
            // An answer that has come whole is drained, which keeps its
            // connection for the next request; any other is cut off.
            if (response.complete) response.resume();
            else request.destroy();
          },
        });
        response.on("data", (chunk) => {
          if (done) return;
          touch();
          answer!.enqueue(chunk);
          if ((answer!.desiredSize ?? 0) <= 0) response.pause();
        });
        if (empty) response.resume();
        resolve(
          new Response(stream, {
            status,
            statusText: response.statusMessage,
            headers: fields,
          }),
        );
      },
    );
    request.on("error", fail);
    // A connection closed before the whole answer came (which Deno's
    // node:http reports with no error).
    request.on("close", () => {
      if (head?.complete) return;
      fail(
        Object.assign(
          new Error(
            head
              ? "the connection closed during the answer"
              : "the connection closed before an answer",
          ),
          { code: "ECONNRESET" },
        ),
      );
    });
    if (signal?.aborted) return fail(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    (async () => {
      for (let offset = 0; offset < body.byteLength; offset += SLICE) {
        if (done) return;
        const more = request.write(body.subarray(offset, offset + SLICE));
        touch();
        if (!more) {
          await new Promise<void>((drained) => request.once("drain", drained));
        }
      }
      request.end();
    })().catch(fail);
  });
}
