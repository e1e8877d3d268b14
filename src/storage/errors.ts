/**
 * The errors a storage throws that the route turns into answers: 409 for a
 * key that is taken, 507 for a full storage, 404 for a multipart upload that
 * is gone, 400 for a presigned upload that is not what was declared.
 *
 * @module
 */

/**
 * Thrown by `Storage.put` when the key is already stored or another
 * upload to it is in progress, and by a multipart upload's `put` when the
 * same part is being written. The route answers 409.
 */
export class StorageConflictError extends Error {
  /**
   * Seconds after which the conflict is over for sure, where the storage
   * can tell: e.g. when a lock left by a crashed writer is taken over. The
   * route sends it as `Retry-After` for a part being written.
   */
  readonly retryAfter?: number;

  /**
   * Creates the error.
   *
   * @param key The storage key that is taken.
   * @param options The cause, if any, and `retryAfter`.
   */
  constructor(
    key: string,
    options?: ErrorOptions & { retryAfter?: number },
  ) {
    super(`Cannot store "${key}": the key is already taken`, options);
    this.name = "StorageConflictError";
    if (options?.retryAfter !== undefined) {
      this.retryAfter = options.retryAfter;
    }
  }
}

/**
 * Thrown by a storage that has no room left for what it is asked to write:
 * the disk or the user's quota is full, or the file is larger than the file
 * system takes. Nothing partial is left behind and the key stays free. The
 * route answers 507.
 *
 * @example Tell a full disk from other failures
 * ```ts
 * import { fsStorage, StorageFullError } from "@fileurls/fileurls/hono";
 *
 * const dir = await Deno.makeTempDir();
 * const storage = fsStorage({ dir });
 * try {
 *   await storage.put("abc", new Blob(["hi"]).stream(), {
 *     name: "hi.txt",
 *     size: 2,
 *     type: "text/plain",
 *   });
 * } catch (error) {
 *   if (!(error instanceof StorageFullError)) throw error;
 *   console.error("Free some space:", error.message);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class StorageFullError extends Error {
  /**
   * Creates the error.
   *
   * @param key The storage key that could not be written.
   * @param options The cause: the file system's error (`ENOSPC`, …).
   */
  constructor(key: string, options?: ErrorOptions) {
    super(`Cannot store "${key}": the storage is full`, options);
    this.name = "StorageFullError";
  }
}

/**
 * Thrown by a storage's multipart calls when the upload does not exist:
 * never started, aborted, or already completed. The route answers 404.
 */
export class StorageNotFoundError extends Error {
  /**
   * Creates the error.
   *
   * @param key The storage key.
   * @param uploadId The multipart upload's id.
   */
  constructor(key: string, uploadId: string) {
    super(`Cannot find upload "${uploadId}" of "${key}"`);
    this.name = "StorageNotFoundError";
  }
}

/**
 * Thrown by a storage when what was stored is not what was declared (for a
 * presigned upload: another size or type than the URL was signed for). The
 * route answers 400 and the object is removed.
 */
export class StorageMismatchError extends Error {
  /**
   * Creates the error.
   *
   * @param key The storage key.
   * @param detail What differs, e.g. `"size 3 is not 5"`.
   */
  constructor(key: string, detail: string) {
    super(`Cannot confirm "${key}": ${detail}`);
    this.name = "StorageMismatchError";
  }
}
