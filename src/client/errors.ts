/**
 * The errors a {@linkcode Client} rejects with. Every one extends
 * {@linkcode FileUrlsError}, so one `instanceof` check catches them all.
 * Bad arguments are not among them: they throw `TypeError` or `RangeError`
 * before any request is made.
 *
 * @module
 */

/**
 * The base of every error a request made by fileurls rejects with.
 *
 * @example
 * ```ts ignore
 * import { Client, FileUrlsError } from "@fileurls/fileurls";
 * try {
 *   await new Client().files.upload(new File(["hi"], "a.txt"), "prediction");
 * } catch (error) {
 *   if (error instanceof FileUrlsError) console.error(error.message);
 * }
 * ```
 */
export class FileUrlsError extends Error {
  /**
   * The capability URL of a multipart upload that failed midway: pass it as
   * `resume` to send only the parts the API does not hold yet.
   */
  uploadUrl?: string;

  /**
   * Creates the error.
   *
   * @param message What failed, naming the action.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileUrlsError";
  }
}

/** The fields {@linkcode ApiError} is made from. */
export interface ApiErrorInit {
  /** The HTTP status of the answer. */
  status: number;
  /** The `error.type` of the JSON answer, or `"http_error"` if it had none. */
  type: string;
  /** The server's own message, or the status text if it gave none. */
  detail: string;
  /** The answer's headers. */
  headers: Headers;
  /** The answer itself, its body already read (at most its first 64 KiB). */
  response?: Response;
}

/**
 * The server answered with a status outside 2xx.
 *
 * The message names the action and the status, and ends with the server's
 * own message: `Cannot upload "a.png": server responded with 413: Too large`.
 *
 * @example
 * ```ts ignore
 * import { ApiError, Client } from "@fileurls/fileurls";
 * try {
 *   await new Client().files.upload(new File(["hi"], "a.txt"), "prediction");
 * } catch (error) {
 *   if (error instanceof ApiError && error.status === 401) {
 *     console.error("Check FILEURLS_API_KEY");
 *   }
 * }
 * ```
 */
export class ApiError extends FileUrlsError {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The `error.type` of the JSON answer, or `"http_error"` if it had none. */
  readonly type: string;
  /** The answer's `x-request-id` header, if it had one. */
  readonly requestId: string | undefined;
  /** The answer's headers. */
  readonly headers: Headers;
  /**
   * The answer itself, its body already read (at most its first 64 KiB);
   * absent if none was given.
   */
  readonly response: Response | undefined;

  /**
   * Creates the error.
   *
   * @param action What failed, e.g. `Cannot upload "a.png"`.
   * @param init The status, type, detail, headers and the answer itself.
   */
  constructor(action: string, init: ApiErrorInit) {
    super(
      `${action}: server responded with ${init.status}` +
        (init.detail ? `: ${init.detail}` : ""),
    );
    this.name = "ApiError";
    this.status = init.status;
    this.type = init.type;
    this.headers = init.headers;
    this.response = init.response;
    this.requestId = init.headers.get("x-request-id") ?? undefined;
  }
}

/**
 * The request never got an answer: the server could not be reached or the
 * connection broke. The message names the URL (without its query, which may
 * hold a signature) and the network's reason (connection refused, host not
 * found, TLS, connection reset); the original error is the `cause`.
 *
 * @example
 * ```ts ignore
 * import { Client, ConnectionError } from "@fileurls/fileurls";
 * try {
 *   await new Client().files.upload(new File(["hi"], "a.txt"), "prediction");
 * } catch (error) {
 *   if (error instanceof ConnectionError) console.error(error.cause);
 * }
 * ```
 */
export class ConnectionError extends FileUrlsError {
  /** The URL that could not be reached, without its query. */
  readonly url: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What failed, naming the action and the URL.
   * @param options The underlying network error, and the URL.
   */
  constructor(message: string, options?: ErrorOptions & { url?: string }) {
    super(message, options);
    this.name = "ConnectionError";
    this.url = options?.url;
  }
}

/**
 * A request took longer than the client's `timeout`. The message names the
 * URL, without its query.
 *
 * @example
 * ```ts ignore
 * import { Client, TimeoutError } from "@fileurls/fileurls";
 * const client = new Client({ timeout: 5_000 });
 * try {
 *   await client.files.upload(new File(["hi"], "a.txt"), "prediction");
 * } catch (error) {
 *   if (error instanceof TimeoutError) console.error(error.timeout);
 * }
 * ```
 */
export class TimeoutError extends FileUrlsError {
  /** The timeout that ran out, in milliseconds. */
  readonly timeout: number;
  /** The URL that did not answer, without its query. */
  readonly url: string | undefined;

  /**
   * Creates the error.
   *
   * @param action What failed, e.g. `Cannot upload "a.png"`.
   * @param timeout The timeout that ran out, in milliseconds.
   * @param url The URL that did not answer, without its query.
   */
  constructor(action: string, timeout: number, url?: string) {
    super(
      `${action}: no answer${url ? ` from ${url}` : ""} within ${timeout} ms`,
    );
    this.name = "TimeoutError";
    this.timeout = timeout;
    this.url = url;
  }
}
