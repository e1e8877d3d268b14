/**
 * The `Files` resource: URLs for one file, and uploads.
 *
 * @module
 */
import { toPayload } from "./_content.ts";
import { type RequestSettings, send } from "./_request.ts";
import { FileUrlsError } from "./errors.ts";
import { isMediaType } from "./media_type.ts";
import type {
  CreateFileUrlsParams,
  FileContent,
  FileResource,
  FileUrls,
  UploadOptions,
  UploadProgress,
} from "./types.ts";

/** Options of {@linkcode Client} and {@linkcode Files}. */
export interface ClientOptions {
  /**
   * The API's base URL, e.g. `"https://api.example.com/v1"`.
   *
   * @default {the environment variable `FILEURLS_BASE_URL`}
   */
  baseUrl?: string | URL;
  /**
   * The API key, sent as `Authorization: Bearer <apiKey>` to the API (never
   * to upload URLs).
   *
   * @default {the environment variable `FILEURLS_API_KEY`, else no key}
   */
  apiKey?: string;
  /**
   * The `fetch` to send every request with.
   *
   * @default {globalThis.fetch}
   */
  fetch?: (
    input: string,
    init: RequestInit,
  ) => Response | Promise<Response>;
  /**
   * How often to retry a request after a network error, 408, 429 or 5xx.
   *
   * @default {2}
   */
  maxRetries?: number;
  /**
   * Milliseconds each request may take, body included.
   *
   * @default {60000}
   */
  timeout?: number;
  /**
   * Extra headers for requests to the API (not for upload URLs, whose
   * signatures cover their headers).
   *
   * @default {{}}
   */
  headers?: HeadersInit;
}

const RESOURCES: readonly string[] = ["prediction"] satisfies FileResource[];

/**
 * The `Files` resource of the API: {@linkcode Files.createUrls} and
 * {@linkcode Files.upload}. Usually reached as `client.files`.
 *
 * @example
 * ```ts ignore
 * import { Files } from "@fileurls/fileurls";
 * const files = new Files({ baseUrl: "https://api.example.com/v1", apiKey: "…" });
 * const url = await files.upload(new File(["hello"], "hello.txt"), "prediction");
 * ```
 */
export class Files {
  #baseUrl: string;
  #apiKey: string | undefined;
  #fetch: (input: string, init: RequestInit) => Response | Promise<Response>;
  #maxRetries: number;
  #timeout: number;
  #headers: Headers;

  /**
   * Creates the resource.
   *
   * @param options Base URL, API key, `fetch`, retries, timeout and headers.
   * @throws {TypeError} If there is no base URL, or an option is malformed.
   * @throws {RangeError} If `maxRetries` or `timeout` is out of range.
   */
  constructor(options: ClientOptions = {}) {
    const baseUrl = options.baseUrl ?? env("FILEURLS_BASE_URL");
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
    this.#baseUrl = url.href.replace(/\/+$/, "");
    this.#apiKey = options.apiKey ?? env("FILEURLS_API_KEY");
    const fetcher = options.fetch;
    this.#fetch = fetcher ?? ((input, init) => globalThis.fetch(input, init));
    this.#maxRetries = count(options.maxRetries ?? 2, "maxRetries");
    this.#timeout = count(options.timeout ?? 60_000, "timeout");
    this.#headers = new Headers(options.headers);
  }

  /**
   * Asks the API for a pair of URLs for one file: `POST {baseUrl}/files/urls`.
   *
   * @param params The file's name, exact size, resource and media type.
   * @param options An abort signal.
   * @returns The upload and download URLs, with any further field the API sent.
   * @throws {TypeError} If a field is missing or malformed (no request is made).
   * @throws {RangeError} If `size` is not a non-negative safe integer.
   * @throws {ApiError} If the API answers with a status outside 2xx.
   * @throws {ConnectionError} If the API cannot be reached.
   * @throws {TimeoutError} If the API does not answer in time.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * const { upload_url, download_url } = await client.files.createUrls({
   *   name: "report.pdf",
   *   size: 1234,
   *   resource: "prediction",
   *   mime_type: "application/pdf",
   * });
   * ```
   */
  async createUrls(
    params: CreateFileUrlsParams,
    options: { signal?: AbortSignal } = {},
  ): Promise<FileUrls> {
    checkParams(params);
    return await this.#createUrls(
      params,
      `Cannot create URLs for ${JSON.stringify(params.name)}`,
      options.signal,
    );
  }

  /**
   * Uploads a file: works out its name, exact size and media type, asks for
   * URLs, then sends the bytes with `PUT` and an exact `Content-Length` (never
   * chunked) and returns where the file can be downloaded.
   *
   * A `ReadableStream` or async iterable is read into a Blob first, since its
   * size must be known before anything is sent.
   *
   * @param file The contents: a Blob or File, bytes, a stream, an async
   * iterable, or a file path (`string` or `file:` URL).
   * @param resource What the file is for.
   * @param options Name, media type, abort signal and progress callback.
   * @returns The download URL.
   * @throws {TypeError} If no name can be found, or an argument is malformed
   * (no request is made).
   * @throws {ApiError} If a server answers with a status outside 2xx.
   * @throws {ConnectionError} If a server cannot be reached.
   * @throws {TimeoutError} If a request takes longer than `timeout`.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * const bytes = new TextEncoder().encode("a,b\n1,2\n");
   * const url = await client.files.upload(bytes, "prediction", {
   *   name: "table.csv",
   *   onProgress: ({ loaded, total }) => console.log(`${loaded}/${total}`),
   * });
   * ```
   */
  async upload(
    file: FileContent,
    resource: FileResource,
    options: UploadOptions = {},
  ): Promise<string> {
    checkResource(resource);
    const payload = await toPayload(file, options);
    const params: CreateFileUrlsParams = {
      name: payload.name,
      size: payload.size,
      resource,
      mime_type: payload.type,
    };
    checkParams(params);
    const action = `Cannot upload ${JSON.stringify(payload.name)}`;
    const { signal, onProgress } = options;
    const urls = await this.#createUrls(params, action, signal);
    const total = payload.size;
    onProgress?.({ loaded: 0, total });
    await send(
      this.#settings(action, signal),
      urls.upload_url,
      () => ({
        method: "PUT",
        headers: {
          "content-type": payload.type,
          "content-length": String(total),
        },
        ...uploadBody(payload.data, total, onProgress),
      }),
      (response) => response.body?.cancel() ?? Promise.resolve(),
    );
    onProgress?.({ loaded: total, total });
    return urls.download_url;
  }

  #createUrls(
    params: CreateFileUrlsParams,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<FileUrls> {
    const headers = new Headers(this.#headers);
    headers.set("content-type", "application/json");
    headers.set("accept", "application/json");
    if (this.#apiKey) headers.set("authorization", `Bearer ${this.#apiKey}`);
    const { name, size, resource, mime_type } = params;
    const body = JSON.stringify({ name, size, resource, mime_type });
    return send(
      this.#settings(action, signal),
      `${this.#baseUrl}/files/urls`,
      () => ({ method: "POST", headers, body }),
      async (response) => {
        const text = await response.text();
        let urls: FileUrls | undefined;
        try {
          urls = JSON.parse(text);
        } catch {
          // Reported below.
        }
        if (
          typeof urls?.upload_url !== "string" ||
          typeof urls?.download_url !== "string"
        ) {
          throw new FileUrlsError(
            `${action}: server answered ${response.status} without upload_url and download_url`,
          );
        }
        return urls;
      },
    );
  }

  #settings(action: string, signal?: AbortSignal): RequestSettings {
    return {
      fetch: this.#fetch,
      maxRetries: this.#maxRetries,
      timeout: this.#timeout,
      signal,
      action,
    };
  }
}

/**
 * The body of one upload attempt. Bun and Node send a stream with a hand-set
 * `Content-Length` as exactly that many bytes, so there the bytes are streamed
 * to report progress. Elsewhere (Deno, workerd, browsers) a stream would go
 * chunked, so the Blob or bytes go as they are, which every `fetch` sends with
 * an exact length. Zero bytes go as an empty array: an empty Blob goes chunked
 * on Deno.
 */
function uploadBody(
  data: Blob | Uint8Array,
  total: number,
  onProgress: ((progress: UploadProgress) => void) | undefined,
): { body: BodyInit; duplex?: "half" } {
  if (total === 0) return { body: new Uint8Array(0) };
  if (!onProgress || !streamsExactLength()) {
    return { body: data as BodyInit };
  }
  const source = data instanceof Blob ? data : new Blob([data as BlobPart]);
  let loaded = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      loaded += chunk.byteLength;
      if (loaded < total) onProgress({ loaded, total });
    },
  });
  return { body: source.stream().pipeThrough(counter), duplex: "half" };
}

function streamsExactLength(): boolean {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno !== undefined) return false;
  return g.Bun !== undefined ||
    (typeof g.process?.versions?.node === "string" &&
      g.navigator?.userAgent !== "Cloudflare-Workers");
}

function checkResource(resource: unknown): void {
  if (typeof resource !== "string" || !RESOURCES.includes(resource)) {
    throw new TypeError(
      `Cannot upload: resource must be one of ${
        RESOURCES.map((r) => JSON.stringify(r)).join(", ")
      }, got ${JSON.stringify(resource)}`,
    );
  }
}

function checkParams(params: CreateFileUrlsParams): void {
  const { name, size, resource, mime_type } = params ?? {};
  const action = `Cannot create URLs for ${JSON.stringify(name)}`;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot create URLs: name must be a non-empty string, got ${
        JSON.stringify(name)
      }`,
    );
  }
  if (typeof size !== "number") {
    throw new TypeError(`${action}: size must be a number, got ${typeof size}`);
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `${action}: size must be a non-negative safe integer, got ${size}`,
    );
  }
  if (typeof resource !== "string" || !RESOURCES.includes(resource)) {
    throw new TypeError(
      `${action}: resource must be "prediction", got ${
        JSON.stringify(resource)
      }`,
    );
  }
  if (typeof mime_type !== "string" || !isMediaType(mime_type)) {
    throw new TypeError(
      `${action}: mime_type must be a media type such as "image/png", got ${
        JSON.stringify(mime_type)
      }`,
    );
  }
}

function count(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot create a client: ${name} must be a non-negative integer, got ${value}`,
    );
  }
  return value;
}

function env(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  try {
    return g.Deno?.env?.get(name) ?? g.process?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env.
  }
}
