/**
 * What the commands that talk to an API share: the `--base-url`,
 * `--api-key` and `--timeout` options, the client made from them, and error
 * messages with a hint where the cause is known.
 *
 * @module
 */

import process from "node:process";
import { Client } from "../client/client.ts";
import { ApiError, ConnectionError } from "../client/errors.ts";
import { messageOf, UsageError } from "./_output.ts";

/** The usage lines of `--base-url` and `--api-key`. */
export const API_USAGE: string =
  `  -u, --base-url URL        The API's base URL, e.g. http://127.0.0.1:8787/v1
                            (default: FILEURLS_BASE_URL)
  -k, --api-key KEY         The API key (default: FILEURLS_API_KEY)`;

/** The `parseArgs` options of `--base-url` and `--api-key`. */
export const API_OPTIONS = {
  "base-url": { type: "string", short: "u" },
  "api-key": { type: "string", short: "k" },
} as const;

/** A client made from the command line, and what its messages need. */
export interface CliClient {
  /** The client. */
  client: Client;
  /** The base URL, without a trailing slash. */
  baseUrl: string;
  /** Whether an API key was given, by option or environment. */
  hasKey: boolean;
}

/**
 * Makes a client from `--base-url`, `--api-key` and a timeout.
 *
 * @param values The parsed options.
 * @param timeout Seconds a request may go without a byte moving.
 * @returns The client, its base URL, and whether a key was given.
 * @throws {UsageError} If no base URL is given, or it is not `http(s)://`.
 */
export function cliClient(
  values: { "base-url"?: string; "api-key"?: string },
  timeout: number,
): CliClient {
  const given = values["base-url"] || process.env.FILEURLS_BASE_URL;
  if (!given) {
    throw new UsageError("pass --base-url (-u) or set FILEURLS_BASE_URL");
  }
  const from = values["base-url"] ? "--base-url" : "FILEURLS_BASE_URL";
  if (!/^https?:\/\//i.test(given)) {
    const example = given.includes("://") ? "" : `, as in http://${given}`;
    throw new UsageError(
      `${from} must start with http:// or https://, got ${
        JSON.stringify(given)
      }${example}`,
    );
  }
  let client: Client;
  try {
    client = new Client({
      baseUrl: given,
      apiKey: values["api-key"],
      timeout: Math.round(timeout * 1000),
    });
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  return {
    client,
    baseUrl: given.replace(/\/+$/, ""),
    hasKey: Boolean(values["api-key"] || process.env.FILEURLS_API_KEY),
  };
}

/**
 * Reads a positive number, e.g. of seconds.
 *
 * @param value The value given.
 * @param option The option, for the message.
 * @param unit The unit, for the message.
 * @returns The number.
 * @throws {UsageError} For anything else.
 */
export function positiveNumber(
  value: string,
  option: string,
  unit: string,
): number {
  const number = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || number <= 0) {
    throw new UsageError(
      `${option} must be a positive number of ${unit}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return number;
}

/**
 * An error's message, with what the URL tried was and what to do where that
 * is known: a 404 from one of the API's own endpoints (a base URL without
 * `/v1`), a 401 (which key), a refused connection.
 *
 * @param error What a request rejected with.
 * @param cli The client's base URL and whether a key was given.
 * @param endpoints The paths under the base URL whose 404 means the
 * endpoint is missing, not the file, e.g. `["/files/urls"]`.
 * @returns The message, and a `hint:` line where one helps.
 */
export function explain(
  error: unknown,
  cli: Pick<CliClient, "baseUrl" | "hasKey">,
  endpoints: string[],
): string {
  const { baseUrl, hasKey } = cli;
  const message = messageOf(error);
  if (error instanceof ApiError) {
    const url = error.response?.url ? shortUrl(error.response.url) : "";
    const fromApi = url === "" ||
      endpoints.some((path) => url === `${baseUrl}${path}`);
    if (error.status === 404 && fromApi) {
      const tried = url === "" ? "" : ` (${url})`;
      const hint = /\/v1$/.test(baseUrl)
        ? "is the base URL right? The API answered no such endpoint"
        : `is the base URL right? It usually ends in /v1, as in ${baseUrl}/v1`;
      return `${message}${tried}\nhint: ${hint}`;
    }
    if (error.status === 413) {
      return `${message}\nhint: the API takes no file this large (the limit of fileurls serve is its --max-size)`;
    }
    if (error.status === 401) {
      return hasKey
        ? `${message}\nhint: use the key fileurls serve printed at start: it keeps it in <data>/api-key (./fileurls-data/api-key by default) unless --api-key or FILEURLS_API_KEY gave it`
        : `${message}\nhint: no API key was given: pass --api-key (-k) or set FILEURLS_API_KEY`;
    }
  }
  if (error instanceof ConnectionError && /connection refused$/.test(message)) {
    return `${message}\nhint: is the server running, and listening at that address and port?`;
  }
  if (error instanceof ConnectionError && /: TLS: /.test(message)) {
    return `${message}\nhint: does the server speak https? fileurls serve speaks plain http, unless a proxy in front of it speaks https`;
  }
  return message;
}

/** A URL without its query, which may hold a signature. */
function shortUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}
