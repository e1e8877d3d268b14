/**
 * One HTTP exchange with timeout, abort and retries, mapped onto the error
 * family of `errors.ts`.
 *
 * @module
 */
import { ApiError, ConnectionError, TimeoutError } from "./errors.ts";

/** How to send: the parts of the client's options every request shares. */
export interface RequestSettings {
  fetch: (input: string, init: RequestInit) => Response | Promise<Response>;
  maxRetries: number;
  timeout: number;
  signal?: AbortSignal;
  /** What the caller is doing, for messages: `Cannot upload "a.png"`. */
  action: string;
}

const RETRY_STATUSES = new Set([408, 429]);
const BACKOFF_BASE = 500;
const BACKOFF_LIMIT = 8_000;
const RETRY_AFTER_LIMIT = 60_000;

/**
 * Sends a request, retrying on network errors, 408, 429 and 5xx, and reads
 * the successful answer with `read` within the same timeout.
 *
 * @param settings Fetch, retries, timeout, signal and the action's name.
 * @param url The URL.
 * @param init Makes the request init afresh for every attempt, so that a
 * body is sent whole again.
 * @param read Reads a 2xx answer.
 */
export async function send<T>(
  settings: RequestSettings,
  url: string,
  init: (attempt: number) => RequestInit,
  read: (response: Response) => Promise<T>,
): Promise<T> {
  const { signal, action } = settings;
  for (let attempt = 0;; attempt++) {
    signal?.throwIfAborted();
    const timer = new AbortController();
    const id = setTimeout(
      () => timer.abort(new TimeoutError(action, settings.timeout)),
      settings.timeout,
    );
    const onAbort = () => timer.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const retriesLeft = attempt < settings.maxRetries;
    let wait: number | undefined;
    try {
      let response: Response;
      try {
        response = await settings.fetch(url, {
          ...init(attempt),
          signal: timer.signal,
        });
      } catch (error) {
        if (timer.signal.aborted) throw timer.signal.reason;
        if (!retriesLeft) {
          throw new ConnectionError(
            `${action}: cannot reach ${new URL(url).origin}`,
            { cause: error },
          );
        }
        wait = backoff(attempt);
        continue;
      }
      if (response.ok) {
        try {
          return await read(response);
        } catch (error) {
          if (timer.signal.aborted) throw timer.signal.reason;
          throw error;
        }
      }
      const retryable = RETRY_STATUSES.has(response.status) ||
        response.status >= 500;
      const delay = retryable && retriesLeft
        ? retryDelay(response, attempt)
        : undefined;
      if (delay !== undefined) {
        await response.body?.cancel().catch(() => {});
        wait = delay;
        continue;
      }
      throw await toApiError(action, response).catch((error) => {
        throw timer.signal.aborted ? timer.signal.reason : error;
      });
    } finally {
      clearTimeout(id);
      signal?.removeEventListener("abort", onAbort);
      if (wait !== undefined) await sleep(wait, signal);
    }
  }
}

/** Exponential backoff with jitter: 250–500 ms, 500–1000 ms, … up to 8 s. */
function backoff(attempt: number): number {
  const delay = Math.min(BACKOFF_LIMIT, BACKOFF_BASE * 2 ** attempt);
  return delay / 2 + Math.random() * delay / 2;
}

/** `Retry-After` (seconds or a date) if sane, else backoff; none if too long. */
function retryDelay(response: Response, attempt: number): number | undefined {
  const header = response.headers.get("retry-after");
  if (header === null) return backoff(attempt);
  let delay = /^\d+$/.test(header.trim())
    ? Number(header) * 1000
    : Date.parse(header) - Date.now();
  if (Number.isNaN(delay)) return backoff(attempt);
  delay = Math.max(0, delay);
  return delay > RETRY_AFTER_LIMIT ? undefined : delay;
}

async function toApiError(
  action: string,
  response: Response,
): Promise<ApiError> {
  const text = await response.text();
  let type = "http_error";
  let detail = response.statusText;
  try {
    const { error } = JSON.parse(text);
    if (typeof error?.type === "string") type = error.type;
    if (typeof error?.message === "string") detail = error.message;
  } catch {
    // Not JSON: a proxy's HTML page, say. The status text must do.
  }
  return new ApiError(action, {
    status: response.status,
    type,
    detail,
    headers: response.headers,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal?.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
