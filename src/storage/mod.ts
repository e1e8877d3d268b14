/**
 * The contract between {@linkcode filesRoute} and the places it keeps files.
 *
 * Two kinds of storage exist:
 *
 * - A {@linkcode Storage} receives the bytes through the route (`PUT` on an
 *   upload URL) and hands them back for downloads. {@linkcode memoryStorage}
 *   and {@linkcode fsStorage} are of this kind.
 * - A {@linkcode PresignedStorage} never sees the bytes: it hands out URLs of
 *   its own (for example presigned S3 URLs) that the client talks to directly.
 *
 * This module holds types only, and re-exports the errors a storage throws
 * (`errors.ts`).
 *
 * @module
 */

export {
  StorageConflictError,
  StorageFullError,
  StorageMismatchError,
  StorageNotFoundError,
} from "./errors.ts";

/** What the route knows about a file before any byte of it arrives. */
export interface FileInfo {
  /** The original file name, as the caller declared it. Metadata only. */
  name: string;
  /** The exact size in bytes. */
  size: number;
  /** The declared media type, e.g. `"image/png"`. */
  type: string;
  /** What the file is for, e.g. `"prediction"`. Kept with the file. */
  resource?: string;
  /**
   * When the stored file expires. After it the route answers 404 for it and
   * a sweep may remove it. Absent: the file never expires.
   */
  expiresAt?: Date;
}

/** A file that has been stored completely. */
export interface StoredFile extends FileInfo {
  /** The storage key: random, never derived from the name. */
  key: string;
  /** When the upload completed. */
  uploadedAt: Date;
  /**
   * The SHA-256 of a file uploaded in parts: S3's composite checksum of the
   * parts' digests, `base64-N`. Absent where it was not computed.
   */
  sha256?: string;
}

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export interface ByteRange {
  /** First byte, counted from 0. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** What a storage is told when a multipart upload starts. */
export interface MultipartInfo {
  /** The original file name. Metadata only. */
  name: string;
  /** The declared media type. */
  type: string;
  /** The exact size in bytes, or `undefined` until completion. */
  size?: number;
  /** The size of every part but the last: part N starts at `(N - 1) * partSize`. */
  partSize: number;
  /**
   * When the upload's URL stops working. After it, nothing can add to the
   * upload, and a storage may free it (the `sweep()` of `fsStorage` and
   * `memoryStorage` does).
   */
  expiresAt?: Date;
  /** What the file is for, to keep with the completed file. */
  resource?: string;
  /** When the completed file expires (its `StoredFile.expiresAt`). */
  fileExpiresAt?: Date;
}

/** One stored part of a multipart upload. */
export interface StoredPart {
  /** The part number, from 1. */
  number: number;
  /** Its size in bytes. */
  size: number;
  /** The SHA-256 of its bytes, base64. */
  sha256: string;
}

/** What a store allows of a multipart upload. */
export interface MultipartLimits {
  /** The smallest part but the last, in bytes. */
  minPartSize: number;
  /** The largest part, in bytes. */
  maxPartSize: number;
  /** The most parts. */
  maxParts: number;
}

/**
 * The multipart calls every kind of storage offers, in the spirit of S3's
 * multipart upload. Parts may be sent in any order and sent again (the last
 * one counts) until the upload is completed, which makes the file visible
 * at once, or aborted, which frees everything.
 */
export interface MultipartStore {
  /** What the store allows; the route never asks for more. */
  limits?: MultipartLimits;
  /**
   * Starts an upload of the file `key`.
   *
   * @param key A random key made by the route.
   * @param info Name, type, size if known, and the part size.
   * @returns The upload's id, which every other call names.
   */
  create(key: string, info: MultipartInfo): Promise<string>;
  /**
   * Lists the parts stored so far.
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   * @returns The parts, by number, or `undefined` if there is no such upload.
   */
  list(key: string, uploadId: string): Promise<StoredPart[] | undefined>;
  /**
   * Optional: tells whether the upload is still open, more cheaply than
   * {@linkcode MultipartStore.list} (the route asks before it signs parts).
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   * @returns `false` once the upload is completed or aborted.
   */
  exists?(key: string, uploadId: string): Promise<boolean>;
  /**
   * Makes the file out of exactly these parts (which the route checked
   * against {@linkcode MultipartStore.list}), all or nothing.
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   * @param parts Parts 1 to N.
   * @param info The file's name, type, part size, total size, and the
   * composite SHA-256 of its parts, to keep with it.
   * @returns The stored file.
   * @throws {StorageNotFoundError} If there is no such upload.
   * @throws {StorageConflictError} If the key is already stored.
   */
  complete(
    key: string,
    uploadId: string,
    parts: StoredPart[],
    info: MultipartInfo & { size: number; sha256: string },
  ): Promise<StoredFile>;
  /**
   * Frees every part of an upload. A missing upload is not an error.
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   */
  abort(key: string, uploadId: string): Promise<void>;
}

/** Multipart uploads of a {@linkcode Storage}, whose parts come through the route. */
export interface StorageMultipart extends MultipartStore {
  /**
   * Stores one part, all or nothing: after a body that fails, the part is
   * as it was, or not stored, but never stored in part. The route has
   * checked the body's size and SHA-256 by the time it ends.
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   * @param part The part's number, exact size and SHA-256.
   * @param body Exactly `part.size` bytes.
   * @returns The stored part.
   * @throws {StorageNotFoundError} If there is no such upload.
   * @throws {StorageConflictError} If the same part is being written.
   * @throws {StorageFullError} If there is no room for the part.
   */
  put(
    key: string,
    uploadId: string,
    part: StoredPart,
    body: ReadableStream<Uint8Array>,
  ): Promise<StoredPart>;
}

/** A URL and the headers a request to it must carry. */
export interface SignedRequest {
  /** The URL. */
  url: string;
  /** The headers, e.g. `content-length` and `x-amz-checksum-sha256`. */
  headers: Record<string, string>;
}

/** Multipart uploads of a {@linkcode PresignedStorage}, whose parts go to the store. */
export interface PresignedMultipart extends MultipartStore {
  /**
   * Signs the `PUT` of one part, for its exact size and SHA-256.
   *
   * @param key The storage key.
   * @param uploadId The upload's id.
   * @param part The part's number, exact size and SHA-256.
   * @param expiresAt When the URL stops working.
   * @returns The URL and the headers to send.
   */
  presignPart(
    key: string,
    uploadId: string,
    part: StoredPart,
    expiresAt: Date,
  ): Promise<SignedRequest>;
  /**
   * Signs a download URL of the file `key`.
   *
   * @param key The storage key.
   * @param info The name and type to serve it with.
   * @param expiresAt When the URL stops working.
   * @returns The URL.
   */
  presignDownload(
    key: string,
    info: Pick<FileInfo, "name" | "type">,
    expiresAt: Date,
  ): Promise<string>;
  /**
   * Looks up a completely stored file.
   *
   * @param key The storage key.
   * @returns The file, or `undefined` if it is not stored.
   */
  stat(key: string): Promise<StoredFile | undefined>;
}

/** Options of a storage's `list()`. */
export interface ListOptions {
  /** Only files kept with this `resource`. */
  resource?: string;
  /** The most files to answer, from 1. A page may hold fewer. */
  limit: number;
  /**
   * Where the page starts: the `cursor` of the page before, exclusive.
   * Absent: from the newest file.
   */
  cursor?: string;
}

/** One page of a storage's `list()`. */
export interface StoredFileList {
  /**
   * Completely stored files, newest first (by key: the route's file ids
   * sort newest first). Deleted files are never listed; expired ones may be.
   */
  files: StoredFile[];
  /**
   * Where the next page starts, or `undefined` when this page is the last.
   * A storage chooses its form (e.g. the last key it looked at); the route
   * wraps it in an opaque cursor.
   */
  cursor?: string;
}

/**
 * A storage that receives the bytes through the route.
 *
 * Implementations must keep these invariants, which the route relies on:
 *
 * - **All or nothing.** A file becomes visible to {@linkcode Storage.stat} and
 *   {@linkcode Storage.read} only after exactly `info.size` bytes have arrived.
 *   A body that ends early, runs long or errors leaves nothing behind, and the
 *   key stays free for a later attempt.
 * - **Write once.** `put` on a key that is stored, or that another `put` is
 *   writing, rejects with {@linkcode StorageConflictError}.
 * - **Streaming.** A body is never buffered whole where the backend can avoid it.
 *
 * @example A storage that refuses everything
 * ```ts
 * import type { Storage } from "@fileurls/fileurls/hono";
 *
 * const readOnly: Storage = {
 *   put: () => Promise.reject(new Error("Cannot store: read-only")),
 *   stat: () => Promise.resolve(undefined),
 *   read: () => Promise.resolve(undefined),
 *   delete: () => Promise.resolve(),
 * };
 * ```
 */
export interface Storage {
  /**
   * Stores a file under `key`, all or nothing.
   *
   * @param key A random key made by the route.
   * @param body The bytes. The storage must read exactly `info.size` bytes.
   * @param info Name, size and type to keep with the file.
   * @returns The stored file.
   * @throws {StorageConflictError} If the key is stored or being written.
   * @throws {StorageFullError} If there is no room for the file.
   * @throws {RangeError} If the body is shorter or longer than `info.size`.
   */
  put(
    key: string,
    body: ReadableStream<Uint8Array>,
    info: FileInfo,
  ): Promise<StoredFile>;
  /**
   * Looks up a completely stored file.
   *
   * @param key The storage key.
   * @returns The file, or `undefined` if it is not (yet) stored.
   */
  stat(key: string): Promise<StoredFile | undefined>;
  /**
   * Reads a stored file, or a byte range of it.
   *
   * @param key The storage key.
   * @param range An inclusive range within the file; the whole file if absent.
   * @returns The bytes, or `undefined` if the file is not stored.
   */
  read(
    key: string,
    range?: ByteRange,
  ): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * Optional: the stored file, or a byte range of it, as a `Blob` whose bytes
   * are read only when sent. Offer it where the runtime sends such a Blob
   * with an exact `Content-Length` and without holding it in memory; the
   * route then answers downloads with it instead of {@linkcode Storage.read}.
   * (Bun, for one, sends a `ReadableStream` body chunked whatever
   * `Content-Length` says, but a file-backed Blob with its exact length.)
   *
   * @param key The storage key.
   * @param range An inclusive range within the file; the whole file if absent.
   * @returns The bytes, or `undefined` if the file is not stored.
   */
  blob?(key: string, range?: ByteRange): Promise<Blob | undefined>;
  /**
   * Removes a stored file for good: afterwards {@linkcode Storage.stat} and
   * {@linkcode Storage.read} answer `undefined`, and the key is never
   * stored again (`put` rejects with {@linkcode StorageConflictError}), so
   * an upload URL that is still valid cannot bring it back. Removing a
   * missing key is not an error, and marks it deleted too.
   *
   * @param key The storage key.
   */
  delete(key: string): Promise<void>;
  /**
   * Optional: one page of the stored files, newest first, never loading
   * every record into memory. The route's `GET /files` needs it.
   *
   * @param options The resource to keep, the page size and where to start.
   * @returns The page, and where the next one starts.
   */
  list?(options: ListOptions): Promise<StoredFileList>;
  /** Optional: multipart uploads, for files of any size. */
  multipart?: StorageMultipart;
}

/** The URLs a {@linkcode PresignedStorage} hands out for one file. */
export interface PresignedUrls {
  /** Where the client sends `PUT` with the exact size and type. */
  upload_url: string;
  /** Where the stored file can be fetched with `GET`. */
  download_url: string;
  /** When the upload URL really expires, if the store clamped the request. */
  uploadExpiresAt?: Date;
}

/** The expiry times the route asks a {@linkcode PresignedStorage} for. */
export interface PresignOptions {
  /** When the upload URL stops working. */
  uploadExpiresAt: Date;
  /** When the download URL stops working. */
  downloadExpiresAt: Date;
  /**
   * The storage key the route chose (its file id). A storage that gets none
   * makes one.
   */
  key?: string;
}

/**
 * A storage that the client talks to directly, through URLs it signs itself
 * (for example S3 presigned URLs). The route only authorizes and signs; it
 * never sees the bytes.
 */
export interface PresignedStorage {
  /**
   * Makes the upload and download URLs for one file. The upload URL must make
   * the store itself reject a body of another size or type.
   *
   * @param info Name, size and type the upload must match.
   * @param options When each URL expires.
   * @returns The two URLs.
   * @throws {RangeError} If the store cannot take a file of this size; the
   * route answers 413.
   */
  presign(info: FileInfo, options: PresignOptions): Promise<PresignedUrls>;
  /**
   * Optional: checks that a presigned upload arrived as declared, and keeps
   * the file's metadata with it, so that {@linkcode PresignedStorage.stat}
   * and {@linkcode PresignedStorage.list} know it. The route calls it when
   * the client confirms an upload (`POST` on `complete_url`), and then calls
   * `onUploaded`. Confirming a file twice answers the stored file again.
   *
   * @param key The storage key.
   * @param info What the upload URL was signed for, and what to keep.
   * @returns The stored file, and whether this call confirmed it (`false`
   * if it was confirmed before).
   * @throws {StorageNotFoundError} If no object was uploaded to the key, or
   * the key was deleted.
   * @throws {StorageMismatchError} If the object has another size or type;
   * it is removed.
   */
  confirm?(
    key: string,
    info: FileInfo,
  ): Promise<{ file: StoredFile; confirmed: boolean }>;
  /**
   * Optional: looks up a confirmed file (or one stored by a multipart
   * upload).
   *
   * @param key The storage key.
   * @returns The file, or `undefined` if it is not stored, not confirmed
   * or deleted.
   */
  stat?(key: string): Promise<StoredFile | undefined>;
  /**
   * Optional: signs a download URL of a stored file.
   *
   * @param key The storage key.
   * @param info The name and type to serve it with.
   * @param expiresAt When the URL stops working.
   * @returns The URL.
   */
  presignDownload?(
    key: string,
    info: Pick<FileInfo, "name" | "type">,
    expiresAt: Date,
  ): Promise<string>;
  /**
   * Optional: removes a stored file for good, as {@linkcode Storage.delete}
   * does: afterwards `stat` answers `undefined` and the key can never be
   * confirmed or completed again.
   *
   * @param key The storage key.
   */
  delete?(key: string): Promise<void>;
  /**
   * Optional: one page of the confirmed files, newest first, as
   * {@linkcode Storage.list}.
   *
   * @param options The resource to keep, the page size and where to start.
   * @returns The page, and where the next one starts.
   */
  list?(options: ListOptions): Promise<StoredFileList>;
  /** Optional: multipart uploads, for files of any size. */
  multipart?: PresignedMultipart;
}
