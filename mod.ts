/**
 * fileurls: upload files to an API that hands out signed upload and download
 * URLs, from Deno, Bun, Node, edge workers and browsers, on `fetch`, `Blob`
 * and `ReadableStream` alone.
 *
 * `client.files.upload()` works out a file's name, exact size and media type,
 * asks the API for a pair of URLs (`POST /files/urls`), sends the bytes with
 * `PUT` and an exact `Content-Length` (never chunked, which signed URLs
 * reject), and returns the download URL.
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
 * @module
 */
export { Client } from "./src/client.ts";
export { type ClientOptions, Files } from "./src/files.ts";
export {
  ApiError,
  type ApiErrorInit,
  ConnectionError,
  FileUrlsError,
  TimeoutError,
} from "./src/errors.ts";
export type {
  CreateFileUrlsParams,
  FileContent,
  FileResource,
  FileUrls,
  UploadOptions,
  UploadProgress,
} from "./src/types.ts";
