/**
 * When to try a request again, and how long to wait first: exponential
 * backoff with jitter, and `Retry-After` in seconds or as a date.
 *
 * @module
 */

/** The first backoff, before jitter halves it at most. */
const BACKOFF_BASE = 500;
/** The longest backoff. */
const BACKOFF_LIMIT = 8_000;
/** A `Retry-After` longer than this is not waited for. */
export const RETRY_AFTER_LIMIT = 60_000;

/**
 * Tells whether an answer is worth another try: 408, 429 and 5xx, and a 409
 * that says when to try again (`Retry-After`: the same part of an upload
 * being written by a request the server has not yet seen fail).
 *
 * @param status The HTTP status.
 * @param headers The answer's headers.
 * @returns `true` if a retry may succeed.
 */
export function isRetryableStatus(status: number, headers?: Headers): boolean {
  if (status === 409) return headers?.has("retry-after") ?? false;
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Exponential backoff with jitter: 250–500 ms, 500–1000 ms, … up to 8 s.
 *
 * @param attempt The attempt that failed, from 0.
 * @returns Milliseconds to wait.
 */
export function backoff(attempt: number): number {
  const delay = Math.min(BACKOFF_LIMIT, BACKOFF_BASE * 2 ** attempt);
  return delay / 2 + Math.random() * delay / 2;
}

/**
 * How long to wait before retrying an answer: its `Retry-After` (seconds or
 * an HTTP date) if it has a sane one, else {@linkcode backoff}.
 *
 * @param headers The answer's headers.
 * @param attempt The attempt that failed, from 0.
 * @param now The clock, in milliseconds.
 * @returns Milliseconds to wait, or `undefined` if the server asks for more
 * than {@linkcode RETRY_AFTER_LIMIT}.
 */
export function retryDelay(
  headers: Headers,
  attempt: number,
  now: number = Date.now(),
): number | undefined {
  const header = headers.get("retry-after");
  if (header === null) return backoff(attempt);
  let delay = /^\d+$/.test(header.trim())
    ? Number(header) * 1000
    : Date.parse(header) - now;
  if (Number.isNaN(delay)) return backoff(attempt);
  delay = Math.max(0, delay);
  return delay > RETRY_AFTER_LIMIT ? undefined : delay;
}

/**
 * Waits for a promise, unless the signal aborts first: then rejects with its
 * reason, leaving the promise to settle on its own. For reads of the caller's
 * source, which may never end.
 *
 * @param promise What is waited for.
 * @param signal Stops the wait.
 * @returns What the promise resolves with.
 */
export function unlessAborted<T>(
  promise: Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}

/**
 * Waits, unless the signal aborts first.
 *
 * @param ms Milliseconds.
 * @param signal Stops the wait, rejecting with its reason.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
