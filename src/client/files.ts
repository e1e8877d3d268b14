/**
 * The `Files` resource: URLs for one file, and uploads.
 *
 * @module
 */
import {
  checkCreateParams,
  type CreateFileUrlsParams,
  DEFAULT_RESOURCE,
  type FileResource,
  type FileUrls,
} from "../api.ts";
import { runtime } from "../_runtime.ts";
import type { Client } from "./client.ts";
import { FileUrlsError } from "./errors.ts";
import { toPayload } from "./_content.ts";
import { type Transport, transportOf } from "./_request.ts";
import type {
  ClientOptions,
  FileContent,
  UploadOptions,
  UploadProgress,
} from "./types.ts";

/**
 * The `Files` resource of the API: {@linkcode Files.createUrls} and
 * {@linkcode Files.upload}. Usually reached as `client.files`.
 *
 * @example
 * ```ts ignore
 * import { Client } from "@fileurls/fileurls";
 * const client = new Client({ baseUrl: "https://api.example.com/v1", apiKey: "…" });
 * const url = await client.files.upload(new File(["hello"], "hello.txt"));
 * ```
 */
export class Files {
  #transport: Transport;

  /**
   * Creates the resource on a client's transport. `client.files` is already
   * one; options make a transport of its own.
   *
   * @param client The client whose transport to use, or client options.
   * @throws {TypeError} If options have no base URL, or one is malformed.
   * @throws {RangeError} If `maxRetries` or `timeout` is out of range.
   */
  constructor(client: Client | ClientOptions = {}) {
    this.#transport = transportOf(client);
  }

  /**
   * Asks the API for a pair of URLs for one file: `POST {baseUrl}/files/urls`.
   *
   * The fields are checked first by the API's own rules, so a name the API
   * would refuse (`"a/b"`, over 255 UTF-8 bytes, …) is refused here without
   * a request.
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
    const name = (params as { name?: unknown } | undefined)?.name;
    const action = typeof name === "string" && name !== ""
      ? `Cannot create URLs for ${JSON.stringify(name)}`
      : "Cannot create URLs";
    if (typeof params !== "object" || params === null) {
      throw new TypeError(`${action}: params must be an object`);
    }
    const checked = checkCreateParams({ ...params }, action);
    return await this.#createUrls(checked, action, options.signal);
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
   * @param resource What the file is for; the API decides which it accepts.
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
    resource: FileResource = DEFAULT_RESOURCE,
    options: UploadOptions = {},
  ): Promise<string> {
    if (typeof resource !== "string" || resource === "") {
      throw new TypeError(
        `Cannot upload: resource must be a non-empty string, got ${
          JSON.stringify(resource)
        }`,
      );
    }
    const payload = await toPayload(file, options);
    const action = `Cannot upload ${JSON.stringify(payload.name)}`;
    const params = checkCreateParams({
      name: payload.name,
      size: payload.size,
      resource,
      mime_type: payload.type,
    }, action);
    const { signal, onProgress } = options;
    const urls = await this.#createUrls(params, action, signal);
    const total = payload.size;
    onProgress?.({ loaded: 0, total });
    await this.#transport.send(
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
      { action, signal },
    );
    onProgress?.({ loaded: total, total });
    return urls.download_url;
  }

  async #createUrls(
    params: CreateFileUrlsParams,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<FileUrls> {
    const { name, size, resource, mime_type } = params;
    const { status, body } = await this.#transport.json(
      "POST",
      "/files/urls",
      { name, size, resource, mime_type },
      { action, signal },
    );
    const urls = body as FileUrls | undefined;
    if (
      typeof urls?.upload_url !== "string" ||
      typeof urls?.download_url !== "string"
    ) {
      throw new FileUrlsError(
        `${action}: server answered ${status} without upload_url and download_url`,
      );
    }
    return urls;
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
  const where = runtime();
  if (!onProgress || (where !== "bun" && where !== "node")) {
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
