/**
 * The API client: it owns the transport (base URL, API key, `fetch`,
 * retries, timeout, headers) that its resources borrow.
 *
 * @module
 */
import { Files } from "./files.ts";
import { lendTransport, Transport } from "./_request.ts";
import type { ClientOptions } from "./types.ts";

/**
 * A client of the files API.
 *
 * @example
 * ```ts ignore
 * import { Client } from "@fileurls/fileurls";
 * const client = new Client({
 *   baseUrl: "https://api.example.com/v1",
 *   apiKey: Deno.env.get("FILEURLS_API_KEY"),
 * });
 * const url = await client.files.upload("./photo.png", "prediction");
 * ```
 */
export class Client {
  /** The `Files` resource: URLs for one file, and uploads. */
  readonly files: Files;

  /**
   * Creates a client.
   *
   * @param options Base URL, API key, `fetch`, retries, timeout and headers.
   * @throws {TypeError} If there is no base URL, the base URL is not an
   * absolute `http:` or `https:` URL, or an option is malformed.
   * @throws {RangeError} If `maxRetries` or `timeout` is out of range.
   */
  constructor(options: ClientOptions = {}) {
    lendTransport(this, new Transport(options));
    this.files = new Files(this);
  }
}
