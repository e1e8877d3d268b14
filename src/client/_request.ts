/**
 * The client's transport: the settings every request shares (base URL, API
 * key, `fetch`, retries, timeout, headers), and one HTTP exchange with
 * timeout, abort and retries, mapped onto the error family of `errors.ts`.
 *
 * A {@linkcode Client} owns one transport; its resources borrow it.
 *
 * @module
 */

import { env } from "../_runtime.ts";
import {
  ApiError,
  ConnectionError,
  FileUrlsError,
  TimeoutError,
} from "./errors.ts";
import { ERROR_LIMIT, readJson, readText } from "./_body.ts";
import { xmlText } from "../_xml.ts";
import { backoff, isRetryableStatus, retryDelay, sleep } from "./_retry.ts";
import { nodeFetch } from "./_node_http.ts";
import type { ClientOptions } from "./types.ts";
import { corsHint, networkReason } from "./_network.ts";

/** One request's purpose and abort signal. */
export interface RequestContext {
  /** What the caller is doing, for messages: `Cannot upload "a.png"`. */
  action: string;
  /** Aborts the request and any wait between attempts. */
  signal?: AbortSignal;
  /**
   * Called as soon as an attempt is to be made again: with its number, why
   * the last one failed, and the milliseconds it waits first.
   */
  onRetry?(attempt: number, reason: unknown, delay: number): void;
  /** Sends this request instead of the transport's `fetch`. */
  fetch?: (
    url: string,
    init: RequestInit,
    touch: () => void,
  ) => Promise<Response>;
  /**
   * How many times the client's `timeout` the request may stay silent: a
   * body whose progress cannot be seen, sharing the link with others.
   */
  patience?: number;
}

/** The settings every request of one client shares. */
export class Transport {
  /** The API's base URL, without a trailing slash. */
  readonly baseUrl: string;
  #apiKey: string | undefined;
  #fetch: (input: string, init: RequestInit) => Response | Promise<Response>;
  /** Whether `fetch` is the caller's own, which every request must use. */
  readonly ownFetch: boolean;
  #maxRetries: number;
  #timeout: number;
  #headers: Headers;

  /**
   * Checks the options and fills in the defaults.
   *
   * @param options The client's options.
   * @param needsApi `false` for a transport that only talks to URLs the API
   * handed out, which needs no base URL.
   * @throws {TypeError} If there is no base URL, or an option is malformed.
   * @throws {RangeError} If `maxRetries` or `timeout` is out of range.
   */
  constructor(options: ClientOptions, needsApi = true) {
    this.baseUrl = needsApi ? checkBaseUrl(options.baseUrl) : "";
    this.#apiKey = needsApi
      ? options.apiKey ?? env("FILEURLS_API_KEY")
      : undefined;
    const fetcher = options.fetch;
    this.ownFetch = fetcher !== undefined;
    this.#fetch = fetcher ?? ((input, init) => globalThis.fetch(input, init));
    this.#maxRetries = count(options.maxRetries ?? 2, "maxRetries");
    this.#timeout = count(options.timeout ?? 60_000, "timeout");
    this.#headers = new Headers(options.headers);
  }

  /**
   * Sends JSON to the API at `{baseUrl}{path}` with the API key and the
   * client's headers, and reads the JSON answer.
   *
   * @param method The HTTP method.
   * @param path The path under the base URL, e.g. `"/files/urls"`.
   * @param body The JSON body.
   * @param context The action, for messages, and the abort signal.
   * @returns The status and the parsed JSON answer (`undefined` if it was
   * not JSON).
   * @throws {FileUrlsError} If the answer is longer than 1 MiB, or the
   * request fails.
   */
  async json(
    method: string,
    path: string,
    body: unknown,
    context: RequestContext,
  ): Promise<{ status: number; body: unknown }> {
    const headers = new Headers(this.#headers);
    if (this.#apiKey) headers.set("authorization", `Bearer ${this.#apiKey}`);
    return await this.#json(
      method,
      `${this.baseUrl}${path}`,
      body,
      headers,
      context,
      true,
    );
  }

  /**
   * Sends JSON to a URL the API handed out (an upload's capability URL),
   * without the API key or the client's headers, and reads the JSON answer.
   *
   * @param url The URL.
   * @param body The JSON body.
   * @param context The action, for messages, and the abort signal.
   * @returns The parsed JSON answer.
   */
  async post(
    url: string,
    body: unknown,
    context: RequestContext,
  ): Promise<unknown> {
    return (await this.#json("POST", url, body, new Headers(), context)).body;
  }

  /**
   * Reads the JSON at a URL the API handed out, without the API key.
   *
   * @param url The URL.
   * @param context The action, for messages, and the abort signal.
   * @returns The parsed JSON answer.
   */
  async get(url: string, context: RequestContext): Promise<unknown> {
    return (await this.#json("GET", url, undefined, new Headers(), context))
      .body;
  }

  /**
   * Sends `DELETE` to a URL the API handed out, without the API key.
   *
   * @param url The URL.
   * @param context The action, for messages, and the abort signal.
   */
  async delete(url: string, context: RequestContext): Promise<void> {
    await this.#json("DELETE", url, undefined, new Headers(), context);
  }

  async #json(
    method: string,
    url: string,
    body: unknown,
    headers: Headers,
    context: RequestContext,
    api = false,
  ): Promise<{ status: number; body: unknown }> {
    headers.set("accept", "application/json");
    if (body !== undefined) headers.set("content-type", "application/json");
    const text = body === undefined ? undefined : JSON.stringify(body);
    // The calls to an upload's URL, one per part, go through node:http on
    // Node (see _node_http.ts); calls to the API keep the client's fetch.
    const viaNode = context.fetch ??
      (this.ownFetch || api ? undefined : nodeFetch(["node"]));
    const bytes = viaNode && text !== undefined
      ? new TextEncoder().encode(text)
      : undefined;
    return await this.send(
      url,
      () => ({ method, headers, body: bytes ?? text }),
      async (response) => ({
        status: response.status,
        body: await readJson(response, context.action),
      }),
      { ...context, fetch: viaNode },
    );
  }

  /**
   * Sends a request, retrying on network errors, 408, 429, 5xx and a 409
   * with `Retry-After`, and reads the successful answer with `read`. The
   * timeout counts silence: `touch`, which a body stream calls as it is
   * read, starts it afresh, as does the answer's arrival.
   *
   * @param url The URL.
   * @param init Makes the request init afresh for every attempt, so that a
   * body is sent whole again; gets `touch`.
   * @param read Reads a 2xx answer. An error it throws that is not a
   * `FileUrlsError` (a body that broke off) becomes a `ConnectionError`, as
   * does an error answer whose body breaks off.
   * @param context The action, for messages, and the abort signal.
   * @returns What `read` returned.
   */
  async send<T>(
    url: string,
    init: (attempt: number, touch: () => void) => RequestInit,
    read: (response: Response) => Promise<T>,
    context: RequestContext,
  ): Promise<T> {
    const { signal, action } = context;
    const where = displayUrl(url);
    const timeout = this.#timeout * (context.patience ?? 1);
    let reason: unknown;
    for (let attempt = 0;; attempt++) {
      signal?.throwIfAborted();
      const timer = new AbortController();
      const expire = () =>
        timer.abort(new TimeoutError(action, timeout, where));
      let id = setTimeout(expire, timeout);
      const touch = () => {
        clearTimeout(id);
        if (!timer.signal.aborted) id = setTimeout(expire, timeout);
      };
      const onAbort = () => timer.abort(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const retriesLeft = attempt < this.#maxRetries;
      let wait: number | undefined;
      try {
        let response: Response;
        try {
          const request = { ...init(attempt, touch), signal: timer.signal };
          response = await (context.fetch
            ? context.fetch(url, request, touch)
            : this.#fetch(url, request));
          touch();
        } catch (error) {
          if (timer.signal.aborted) throw timer.signal.reason;
          if (!retriesLeft) {
            throw new ConnectionError(
              `${action}: cannot reach ${where}: ${networkReason(error)}${
                corsHint(url)
              }`,
              { cause: error, url: where },
            );
          }
          reason = error;
          wait = backoff(attempt);
          continue;
        }
        // What a body that fails to be read becomes.
        const unread = (error: unknown) => {
          if (timer.signal.aborted) return timer.signal.reason;
          if (error instanceof FileUrlsError) return error;
          return new ConnectionError(
            `${action}: the answer from ${where} broke off: ${
              networkReason(error)
            }`,
            { cause: error, url: where },
          );
        };
        if (response.ok) {
          try {
            return await read(response);
          } catch (error) {
            throw unread(error);
          }
        }
        const delay = isRetryableStatus(response.status, response.headers) &&
            retriesLeft
          ? retryDelay(response.headers, attempt)
          : undefined;
        if (delay !== undefined) {
          await response.body?.cancel().catch(() => {});
          reason = `status ${response.status}`;
          wait = delay;
          continue;
        }
        throw await toApiError(action, response, timer.signal).catch(
          (error) => {
            throw unread(error);
          },
        );
      } finally {
        clearTimeout(id);
        signal?.removeEventListener("abort", onAbort);
        if (wait !== undefined) {
          // Told now, not once the wait is over: a Retry-After may be long.
          context.onRetry?.(attempt + 1, reason, wait);
          await sleep(wait, signal);
        }
      }
    }
  }
}

function checkBaseUrl(option: string | URL | undefined): string {
  const baseUrl = option ?? env("FILEURLS_BASE_URL");
  if (baseUrl === undefined || baseUrl === "") {
    throw new TypeError(
      "Cannot create a client: pass options.baseUrl or set FILEURLS_BASE_URL",
    );
  }
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new TypeError(
      `Cannot create a client: baseUrl is not a URL: ${String(baseUrl)}`,
      { cause },
    );
  }
  // "localhost:8787" parses as a URL of the scheme "localhost:".
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot create a client: baseUrl must be an absolute http: or https: URL, got ${
        JSON.stringify(String(baseUrl))
      }`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/** The transport of each client, for its resources to borrow. */
const transports = new WeakMap<object, Transport>();

/**
 * Makes `transport` the one that resources made with `owner` use.
 *
 * @param owner A client.
 * @param transport Its transport.
 */
export function lendTransport(owner: object, transport: Transport): void {
  transports.set(owner, transport);
}

/**
 * The transport a resource should use: its client's own, or a new one made
 * from options.
 *
 * @param from A client, or client options.
 * @returns The transport.
 */
export function transportOf(from: object): Transport {
  return transports.get(from) ?? new Transport(from as ClientOptions);
}

function count(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot create a client: ${name} must be a non-negative integer, got ${value}`,
    );
  }
  return value;
}

/**
 * A URL fit for messages and logs: origin and path, without the query, which
 * may hold a signature that works as a password.
 *
 * @param url The URL.
 * @returns E.g. `http://127.0.0.1:8787/v1/files/urls`.
 */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/**
 * Why an attempt failed, as a retry event tells it: a status as
 * `status 503`, a network failure in the words of {@linkcode networkReason}.
 *
 * @param reason What the transport's `onRetry` was given.
 * @returns The reason in a few words.
 */
export function retryReason(reason: unknown): string {
  return typeof reason === "string" ? reason : networkReason(reason);
}

async function toApiError(
  action: string,
  response: Response,
  signal: AbortSignal,
): Promise<ApiError> {
  // At most the first 64 KiB: an error's JSON is short, and a body that
  // goes on is cancelled there.
  let text: string;
  try {
    ({ text } = await readText(response, ERROR_LIMIT));
  } catch (error) {
    if (signal.aborted) throw error;
    // The status came, then the connection broke (a server that answered
    // before it read the whole body, then closed): the status still tells.
    return new ApiError(action, {
      status: response.status,
      type: "http_error",
      detail: `${response.statusText || "no message"} (the answer broke off: ${
        networkReason(error)
      })`,
      headers: response.headers,
      response,
    });
  }
  let type = "http_error";
  let detail = response.statusText;
  try {
    const { error } = JSON.parse(text);
    if (typeof error?.type === "string") type = error.type;
    if (typeof error?.message === "string") detail = error.message;
  } catch {
    // Not JSON: a proxy's HTML page, say, where the status text must do;
    // or a bucket's XML error, whose code and message say more.
    const code = xmlText(text, "Code")?.trim().slice(0, 100);
    const message = xmlText(text, "Message")?.trim().slice(0, 500);
    if (code) {
      type = code;
      detail = message ? `${code}: ${message}` : code;
    }
  }
  return new ApiError(action, {
    status: response.status,
    type,
    detail,
    headers: response.headers,
    response,
  });
}
