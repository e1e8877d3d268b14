/**
 * fileurls: upload files to an API that hands out signed upload and download
 * URLs, from Deno, Bun, Node, edge workers and browsers, on `fetch`, `Blob`
 * and `ReadableStream` alone.
 *
 * `client.files.upload()` works out a file's name, exact size and media type,
 * asks the API for a pair of URLs (`POST /files/urls`), sends the bytes with
 * `PUT` and an exact `Content-Length` (never chunked, which signed URLs
 * reject), and returns the download URL. A file larger than one part (5 MiB)
 * goes as a multipart upload: parts read one at a time, sent four at once,
 * each with its SHA-256, retried alone, resumable after a failure, in memory
 * bounded by the part size whatever the file's size. `uploadTo()` does the
 * same with URLs a backend made, with no API key.
 *
 * @example Upload bytes, a File, or a file path
 * ```ts ignore
 * import { Client } from "@fileurls/fileurls";
 *
 * const client = new Client({
 *   baseUrl: "https://api.example.com/v1", // default: FILEURLS_BASE_URL
 *   apiKey: "…", // default: FILEURLS_API_KEY
 * });
 * const url = await client.files.upload(
 *   new TextEncoder().encode("hello"),
 *   "prediction",
 *   { name: "hello.txt" },
 * );
 * ```
 *
 * @example Manage the stored files with the API key
 * ```ts ignore
 * import { Client } from "@fileurls/fileurls";
 *
 * const client = new Client({ baseUrl: "https://api.example.com/v1" });
 * const { id } = await client.files.uploadFile("./report.pdf", "prediction", {
 *   lifetime: 7 * 24 * 3600, // kept a week
 * });
 * for await (const file of client.files.list({ resource: "prediction" })) {
 *   console.log(file.id, file.name, file.size, file.expires_at);
 * }
 * const { download_url } = await client.files.downloadUrl(id!, {
 *   expiresIn: 3600,
 * });
 * await client.files.delete(id!);
 * ```
 *
 * @example Upload to the files route in the same process, and download
 * ```ts
 * import { Client } from "@fileurls/fileurls";
 * import { filesRoute, memoryStorage } from "@fileurls/fileurls/hono";
 * import { Hono } from "hono";
 *
 * // The API, here served by calling the Hono app directly.
 * const app = new Hono().route(
 *   "/v1",
 *   filesRoute({
 *     storage: memoryStorage(),
 *     secret: crypto.randomUUID() + crypto.randomUUID(),
 *     apiKeys: ["my-api-key"],
 *   }),
 * );
 * const client = new Client({
 *   baseUrl: "http://localhost/v1",
 *   apiKey: "my-api-key",
 *   fetch: async (input, init) => await app.request(input, init),
 * });
 *
 * const url = await client.files.upload(
 *   new File(["a,b\n1,2\n"], "table.csv"),
 *   "prediction",
 * );
 * const download = await app.request(url);
 * if (await download.text() !== "a,b\n1,2\n") throw new Error("bytes differ");
 * ```
 *
 * @module
 */
export { Client } from "./src/client/client.ts";
export { Files } from "./src/client/files.ts";
export { uploadTo } from "./src/client/upload_to.ts";
export {
  ApiError,
  type ApiErrorInit,
  ConnectionError,
  FileUrlsError,
  TimeoutError,
} from "./src/client/errors.ts";
export type {
  ClientOptions,
  DownloadUrlOptions,
  FileContent,
  ListFilesOptions,
  UploadOptions,
  UploadProgress,
  UploadResult,
  UploadToOptions,
} from "./src/client/types.ts";
export {
  type ApiErrorBody,
  type CompletedUpload,
  type CompleteUploadParams,
  type CreateFileUrlsParams,
  type CreateUploadParams,
  DEFAULT_RESOURCE,
  type DownloadUrl,
  type DownloadUrlParams,
  type FileList,
  type FileObject,
  type FileResource,
  type FileUrls,
  type MultipartUpload,
  type PartUrl,
  type PartUrls,
  type PartUrlsParams,
  type UploadedFile,
  type UploadedPart,
  type UploadStatus,
} from "./src/api.ts";
