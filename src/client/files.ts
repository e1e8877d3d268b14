/**
 * The `Files` resource: URLs for one file, uploads, and the stored files.
 *
 * @module
 */
import {
  type CreateFileUrlsParams,
  type CreateUploadParams,
  DEFAULT_RESOURCE,
  type DownloadUrl,
  type FileObject,
  type FileResource,
  type FileUrls,
  type MultipartUpload,
} from "../api.ts";
import { checkCreateParams } from "../_params.ts";
import type { Client } from "./client.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import { type Transport, transportOf } from "./_request.ts";
import { uploadFile } from "./_upload.ts";
import { checkFileUrls, checkUrl } from "./_url.ts";
import {
  createDownloadUrl,
  deleteFile,
  getFile,
  listFiles,
  listQuery,
} from "./_manage.ts";
import type {
  ClientOptions,
  DownloadUrlOptions,
  FileContent,
  ListFilesOptions,
  UploadOptions,
  UploadResult,
} from "./types.ts";

/**
 * The `Files` resource of the API: {@linkcode Files.createUrls} and
 * {@linkcode Files.upload}, and the stored files ({@linkcode Files.get},
 * {@linkcode Files.list}, {@linkcode Files.delete},
 * {@linkcode Files.downloadUrl}). Usually reached as `client.files`.
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
   * @param params The file's name, exact size, resource and media type, and
   * how long the file is kept.
   * @param options An abort signal.
   * @returns The upload and download URLs, with any further field the API sent.
   * @throws {TypeError} If a field is missing or malformed (no request is made).
   * @throws {RangeError} If `size` is not a non-negative safe integer, or
   * `lifetime` not a positive one.
   * @throws {ApiError} If the API answers with a status outside 2xx.
   * @throws {ConnectionError} If the API cannot be reached.
   * @throws {TimeoutError} If the API does not answer in time.
   * @throws {FileUrlsError} If the answer is longer than 1 MiB, or a URL in
   * it is not absolute `http:` or `https:`.
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
    const urls = await this.#createUrls(checked, action, options.signal);
    checkFileUrls(urls, action);
    return urls;
  }

  /**
   * Uploads a file: works out its name, exact size and media type, sends the
   * bytes with an exact `Content-Length` (never chunked), and returns where
   * the file can be downloaded.
   *
   * A file no larger than `partSize` (5 MiB) goes as one `PUT` to the URLs of
   * {@linkcode Files.createUrls}. A larger one goes as a multipart upload
   * (`POST {baseUrl}/files/uploads`): parts read one at a time, each sent
   * with its SHA-256, `concurrency` at once, a failed part retried alone,
   * the whole checked at the end; memory stays near
   * `partSize * (concurrency + 1)`. An API without multipart uploads gets
   * the single `PUT`. A stream or async iterable is read one part at a time:
   * if it ends within the first part, it goes as one `PUT`. Where the API
   * answered a `complete_url` (a storage that takes the bytes directly, such
   * as S3), it is called after the `PUT`, before the upload resolves.
   *
   * @param file The contents: a Blob or File (`Bun.file()` included), bytes,
   * a stream, an async iterable, a file path (`string` or `file:` URL), or a
   * Node `fs.ReadStream`.
   * @param resource What the file is for; the API decides which it accepts.
   * @param options Name, media type, abort signal, progress, part size,
   * concurrency, an upload to resume, and how long the file is kept.
   * @returns The download URL.
   * @throws {TypeError} If no name can be found, or an argument is malformed
   * (no request is made).
   * @throws {RangeError} If `partSize`, `concurrency` or `lifetime` is not a
   * positive whole number.
   * @throws {ApiError} If a server answers with a status outside 2xx.
   * @throws {ConnectionError} If a server cannot be reached.
   * @throws {TimeoutError} If a request goes silent for longer than `timeout`.
   * @throws {FileUrlsError} If an answer is longer than 1 MiB, or a URL the
   * API answered is not absolute `http:` or `https:` (nothing is sent to it).
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
    return (await this.uploadFile(file, resource, options)).downloadUrl;
  }

  /**
   * Uploads a file as {@linkcode Files.upload} does, and tells more of the
   * result: the file id, size and type, and for a multipart upload the
   * SHA-256 of its parts, which the client checked against its own.
   *
   * @param file The contents, as for {@linkcode Files.upload}.
   * @param resource What the file is for.
   * @param options As for {@linkcode Files.upload}.
   * @returns The uploaded file.
   * @throws {TypeError} If no name can be found, or an argument is malformed.
   * @throws {RangeError} If `partSize` or `concurrency` is out of range.
   * @throws {FileUrlsError} If a request fails (`ApiError`,
   * `ConnectionError`, `TimeoutError`), an answer is longer than 1 MiB, a
   * URL the API answered is not absolute `http:` or `https:`, or the API's
   * checksum of the file is not the client's; its `uploadUrl` resumes a
   * multipart upload.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * const file = await client.files.uploadFile("./weights.safetensors");
   * console.log(file.downloadUrl, file.size, file.sha256);
   * ```
   */
  async uploadFile(
    file: FileContent,
    resource: FileResource = DEFAULT_RESOURCE,
    options: UploadOptions = {},
  ): Promise<UploadResult> {
    if (typeof resource !== "string" || resource === "") {
      throw new TypeError(
        `Cannot upload: resource must be a non-empty string, got ${
          JSON.stringify(resource)
        }`,
      );
    }
    const lifetime = checkLifetime(options.lifetime, "Cannot upload");
    return await uploadFile(this.#transport, file, {
      resource,
      single: (params, action) =>
        this.#createUrls({ ...params, lifetime }, action, options.signal),
      multipart: (params, action) =>
        this.#startUpload({ ...params, lifetime }, action, options.signal),
    }, options);
  }

  /**
   * The record of one stored file: `GET {baseUrl}/files/{id}`.
   *
   * @param id The file id, as {@linkcode UploadResult.id} or
   * {@linkcode Files.list} tells it.
   * @param options An abort signal.
   * @returns The file: name, size, media type, resource, when it was
   * uploaded and when it expires.
   * @throws {TypeError} If `id` is not a non-empty string (no request is
   * made).
   * @throws {ApiError} If the API answers with a status outside 2xx: 404
   * for a file that is unknown, expired or deleted.
   * @throws {ConnectionError} If the API cannot be reached.
   * @throws {TimeoutError} If the API does not answer in time.
   * @throws {FileUrlsError} If the answer is not a file, or is longer than
   * 1 MiB.
   *
   * @example
   * ```ts ignore
   * import { ApiError, Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * try {
   *   const file = await client.files.get("-xT3k9ZqAbCdEfGhIjKlMn");
   *   console.log(file.name, file.size, file.expires_at ?? "never expires");
   * } catch (error) {
   *   if (error instanceof ApiError && error.status === 404) {
   *     console.log("no such file");
   *   }
   * }
   * ```
   */
  async get(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<FileObject> {
    return await getFile(this.#transport, id, options?.signal);
  }

  /**
   * Every stored file, newest first: `GET {baseUrl}/files`, page after page,
   * following `next_cursor`. Only one page is held at a time; the next is
   * asked for once the iteration reaches it, and none after a `break`.
   * Expired files are left out by the API.
   *
   * The options are checked when `list()` is called; the first request is
   * made when the iteration starts.
   *
   * @param options The resource to list, the page size, an abort signal.
   * @returns The files, as an async iterable.
   * @throws {TypeError} If `resource` is not a non-empty string.
   * @throws {RangeError} If `limit` is not a whole number from 1 to 1000.
   * @throws {ApiError} (from the iteration) If the API answers with a
   * status outside 2xx.
   * @throws {ConnectionError} (from the iteration) If the API cannot be
   * reached.
   * @throws {TimeoutError} (from the iteration) If the API does not answer in
   * time.
   * @throws {FileUrlsError} (from the iteration) If a page is not a list of
   * files, or the API answers a cursor it gave before.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * for await (const file of client.files.list({ resource: "prediction" })) {
   *   console.log(file.id, file.name, file.size);
   * }
   * ```
   */
  list(
    options: ListFilesOptions = {},
  ): AsyncGenerator<FileObject, void, undefined> {
    const query = listQuery(options);
    return listFiles(this.#transport, query, options.signal);
  }

  /**
   * Deletes a stored file: `DELETE {baseUrl}/files/{id}`. Its download URLs
   * stop working, and the id can never be uploaded to again.
   *
   * A retried request that gets 404 resolves: the attempt whose answer was
   * lost deleted the file.
   *
   * @param id The file id.
   * @param options An abort signal.
   * @throws {TypeError} If `id` is not a non-empty string (no request is
   * made).
   * @throws {ApiError} If the API answers with a status outside 2xx: 404
   * for a file that is not stored (unknown, expired, or already deleted).
   * @throws {ConnectionError} If the API cannot be reached.
   * @throws {TimeoutError} If the API does not answer in time.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * const { id } = await client.files.uploadFile("./draft.pdf");
   * await client.files.delete(id!);
   * ```
   */
  async delete(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await deleteFile(this.#transport, id, options?.signal);
  }

  /**
   * A fresh signed download URL for a stored file:
   * `POST {baseUrl}/files/{id}/download_url`. It never outlives the file.
   *
   * @param id The file id.
   * @param options How long the URL works (`expiresIn`, in seconds), and an
   * abort signal.
   * @returns The URL and when it expires.
   * @throws {TypeError} If `id` is not a non-empty string (no request is
   * made).
   * @throws {RangeError} If `expiresIn` is not a positive whole number.
   * @throws {ApiError} If the API answers with a status outside 2xx: 404
   * for a file that is not stored, 400 for an `expiresIn` over the API's
   * limit.
   * @throws {ConnectionError} If the API cannot be reached.
   * @throws {TimeoutError} If the API does not answer in time.
   * @throws {FileUrlsError} If the answer has no absolute `http:` or
   * `https:` URL, or is longer than 1 MiB.
   *
   * @example
   * ```ts ignore
   * import { Client } from "@fileurls/fileurls";
   * const client = new Client({ baseUrl: "https://api.example.com/v1" });
   * const { download_url, expires_at } = await client.files.downloadUrl(
   *   "-xT3k9ZqAbCdEfGhIjKlMn",
   *   { expiresIn: 3600 },
   * );
   * ```
   */
  async downloadUrl(
    id: string,
    options: DownloadUrlOptions = {},
  ): Promise<DownloadUrl> {
    return await createDownloadUrl(this.#transport, id, options ?? {});
  }

  async #startUpload(
    params: CreateUploadParams,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<MultipartUpload | undefined> {
    let answer: { status: number; body: unknown };
    // Not cut by the signal: an upload the API made as the signal aborted
    // would stay behind. Once it is known it is deleted, and only then does
    // the abort reject, so that a caller who exits at once leaves nothing.
    const creating = this.#transport.json("POST", "/files/uploads", params, {
      action,
    });
    try {
      answer = await creating;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // An API without multipart uploads.
      if (
        error instanceof ApiError &&
        (error.status === 404 || error.status === 405)
      ) {
        return undefined;
      }
      throw error;
    }
    if (signal?.aborted) {
      const url = (answer.body as MultipartUpload | undefined)?.upload_url;
      await Promise.resolve().then(() => {
        checkUrl(url, "upload_url", action);
        return this.#transport.delete(url!, {
          action: `${action}: cannot abort`,
        });
      }).catch(() => {});
      throw signal.reason;
    }
    const upload = answer.body as MultipartUpload | undefined;
    if (
      typeof upload?.upload_url !== "string" ||
      typeof upload.part_size !== "number" || upload.part_size < 1
    ) {
      throw new FileUrlsError(
        `${action}: server answered ${answer.status} without upload_url and part_size`,
      );
    }
    return upload;
  }

  async #createUrls(
    params: CreateFileUrlsParams,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<FileUrls> {
    const { name, size, resource, mime_type, lifetime } = params;
    const { status, body } = await this.#transport.json(
      "POST",
      "/files/urls",
      {
        name,
        size,
        resource,
        mime_type,
        ...(lifetime === undefined ? {} : { lifetime }),
      },
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

/** Refuses a `lifetime` that is not a positive whole number of seconds. */
function checkLifetime(
  lifetime: unknown,
  action: string,
): number | undefined {
  if (
    lifetime !== undefined &&
    (typeof lifetime !== "number" || !Number.isSafeInteger(lifetime) ||
      lifetime < 1)
  ) {
    throw new RangeError(
      `${action}: lifetime must be a positive whole number of seconds, got ${
        typeof lifetime === "number" ? lifetime : JSON.stringify(lifetime)
      }`,
    );
  }
  return lifetime;
}
