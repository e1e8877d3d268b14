/**
 * The files API as an optional Hono route: mount {@linkcode filesRoute} in a
 * Hono app and it hands out signed upload and download URLs, receives the
 * bytes and serves them back. Files go to a {@linkcode Storage}:
 * {@linkcode memoryStorage} for tests, {@linkcode fsStorage} for a folder on
 * disk, or your own backend. A {@linkcode PresignedStorage} (such as S3)
 * receives the bytes itself.
 *
 * @example Create URLs, upload, download
 * ```ts
 * import { Hono } from "hono";
 * import { filesRoute, memoryStorage } from "@fileurls/fileurls/hono";
 *
 * const app = new Hono();
 * app.route(
 *   "/v1",
 *   filesRoute({
 *     storage: memoryStorage(),
 *     secret: crypto.randomUUID() + crypto.randomUUID(),
 *     apiKeys: ["my-api-key"],
 *   }),
 * );
 *
 * const created = await app.request("http://localhost/v1/files/urls", {
 *   method: "POST",
 *   headers: {
 *     authorization: "Bearer my-api-key",
 *     "content-type": "application/json",
 *   },
 *   body: JSON.stringify({
 *     name: "hello.txt",
 *     size: 5,
 *     resource: "prediction",
 *     mime_type: "text/plain",
 *   }),
 * });
 * const { upload_url, download_url } = await created.json();
 *
 * const put = await app.request(upload_url, {
 *   method: "PUT",
 *   headers: { "content-type": "text/plain", "content-length": "5" },
 *   body: "hello",
 * });
 * if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
 *
 * const got = await app.request(download_url);
 * if (await got.text() !== "hello") throw new Error("bytes differ");
 * ```
 *
 * @module
 */

export {
  filesRoute,
  type FilesRouteApp,
  type FileUrlsRequest,
  type FileUrlsResponse,
  type UploadedFileResponse,
} from "./route.ts";
export {
  type FilesRouteContext,
  type FilesRouteOptions,
  type ManageRequest,
} from "./options.ts";
export type {
  ApiErrorBody,
  CompletedUpload,
  CompleteUploadParams,
  CreateFileUrlsParams,
  CreateUploadParams,
  DownloadUrl,
  DownloadUrlParams,
  FileList,
  FileObject,
  FileResource,
  FileUrls,
  MultipartUpload,
  PartUrl,
  PartUrls,
  PartUrlsParams,
  UploadedFile,
  UploadedPart,
  UploadStatus,
} from "../api.ts";
export { type MemoryStorage, memoryStorage } from "../storage/memory.ts";
export {
  type FsStorage,
  fsStorage,
  type FsStorageOptions,
  type SweepOptions,
} from "../storage/fs.ts";
export {
  type ByteRange,
  type FileInfo,
  type ListOptions,
  type MultipartInfo,
  type MultipartLimits,
  type MultipartStore,
  type PresignedMultipart,
  type PresignedStorage,
  type PresignedUrls,
  type PresignOptions,
  type SignedRequest,
  type Storage,
  StorageConflictError,
  StorageFullError,
  StorageMismatchError,
  type StorageMultipart,
  StorageNotFoundError,
  type StoredFile,
  type StoredFileList,
  type StoredPart,
} from "../storage/mod.ts";
