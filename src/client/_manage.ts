/**
 * Managing stored files through the API with its key: one file's record,
 * the list of them page by page, deleting one, and a fresh download URL.
 * `Files` exposes these; the checks of ids and options, the requests and the
 * checks of the answers are here.
 *
 * @module
 */
import type { DownloadUrl, FileList, FileObject } from "../api.ts";
import { describe } from "./_describe.ts";
import { ApiError, FileUrlsError } from "./errors.ts";
import type { Transport } from "./_request.ts";
import { checkUrl } from "./_url.ts";
import type { DownloadUrlOptions, ListFilesOptions } from "./types.ts";

/** The most files one page of `GET /files` may hold. */
export const MAX_PAGE_SIZE = 1000;

/**
 * The path of one file under the base URL, its id encoded as one segment.
 *
 * @param id The file id, checked as {@linkcode checkId} does.
 * @returns E.g. `/files/-xT3k9ZqAbCdEfGhIjKlMn`.
 */
function filePath(id: string): string {
  return `/files/${encodeURIComponent(id)}`;
}

/**
 * Refuses what cannot be a file id: anything but a non-empty string, and
 * `.` or `..`, which a URL would resolve to another path.
 *
 * @param id What was given.
 * @param verb What is being done, e.g. `get`, for the message.
 * @returns The action for messages, e.g. `Cannot get file "abc"`.
 * @throws {TypeError} If `id` cannot be a file id.
 */
export function checkId(id: unknown, verb: string): string {
  if (typeof id !== "string" || id === "" || id === "." || id === "..") {
    throw new TypeError(
      `Cannot ${verb} file: id must be a non-empty string other than "." and "..", got ${
        describe(id)
      }`,
    );
  }
  return `Cannot ${verb} file ${JSON.stringify(id)}`;
}

/**
 * `GET /files/{id}`: the record of one stored file.
 *
 * @param transport The client's transport.
 * @param id The file id.
 * @param signal Aborts the request.
 * @returns The file.
 */
export async function getFile(
  transport: Transport,
  id: string,
  signal: AbortSignal | undefined,
): Promise<FileObject> {
  const action = checkId(id, "get");
  const { status, body } = await transport.json(
    "GET",
    filePath(id),
    undefined,
    { action, signal },
  );
  return checkFileObject(body, status, action);
}

/**
 * Checks the options of `GET /files` before any request.
 *
 * @param options The options given.
 * @returns The query of the first page.
 * @throws {TypeError} If `resource` is not a non-empty string.
 * @throws {RangeError} If `limit` is not a whole number from 1 to 1000.
 */
export function listQuery(options: ListFilesOptions): URLSearchParams {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot list files: options must be an object");
  }
  const { resource, limit } = options;
  const query = new URLSearchParams();
  if (resource !== undefined) {
    if (typeof resource !== "string" || resource === "") {
      throw new TypeError(
        `Cannot list files: resource must be a non-empty string, got ${
          describe(resource)
        }`,
      );
    }
    query.set("resource", resource);
  }
  if (limit !== undefined) {
    if (
      typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 ||
      limit > MAX_PAGE_SIZE
    ) {
      throw new RangeError(
        `Cannot list files: limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${
          typeof limit === "number" ? limit : describe(limit)
        }`,
      );
    }
    query.set("limit", String(limit));
  }
  return query;
}

/**
 * `GET /files`, page after page, following `next_cursor` until it is
 * `null`: one page in memory at a time.
 *
 * @param transport The client's transport.
 * @param query The query of the first page, from {@linkcode listQuery}.
 * @param signal Aborts the pending request.
 * @returns The files, newest first.
 */
export async function* listFiles(
  transport: Transport,
  query: URLSearchParams,
  signal: AbortSignal | undefined,
): AsyncGenerator<FileObject, void, undefined> {
  const action = "Cannot list files";
  for (const seen = new Set<string>();;) {
    const search = query.toString();
    const { status, body } = await transport.json(
      "GET",
      search === "" ? "/files" : `/files?${search}`,
      undefined,
      { action, signal },
    );
    const page = checkFileList(body, status, action);
    for (const file of page.files) yield file;
    const next = page.next_cursor;
    if (next === null) return;
    // A server that hands back a cursor it gave before would be listed
    // forever.
    if (seen.has(next)) {
      throw new FileUrlsError(
        `${action}: server answered the cursor ${
          JSON.stringify(next.slice(0, 100))
        } a second time`,
      );
    }
    seen.add(next);
    query.set("cursor", next);
  }
}

/**
 * `DELETE /files/{id}`. A 404 after a retry resolves: the attempt whose
 * answer was lost deleted the file.
 *
 * @param transport The client's transport.
 * @param id The file id.
 * @param signal Aborts the request.
 */
export async function deleteFile(
  transport: Transport,
  id: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const action = checkId(id, "delete");
  let retried = false;
  try {
    await transport.json("DELETE", filePath(id), undefined, {
      action,
      signal,
      onRetry: () => retried = true,
    });
  } catch (error) {
    if (retried && error instanceof ApiError && error.status === 404) return;
    throw error;
  }
}

/**
 * Checks `expiresIn` before any request.
 *
 * @param id The file id.
 * @param options The options given.
 * @returns The action for messages, and the JSON body.
 * @throws {TypeError} If `id` cannot be a file id.
 * @throws {RangeError} If `expiresIn` is not a positive whole number.
 */
export function downloadUrlRequest(
  id: string,
  options: DownloadUrlOptions,
): { action: string; body: { expires_in?: number } } {
  const action = checkId(id, "create a download URL for");
  const expiresIn = options?.expiresIn;
  if (
    expiresIn !== undefined &&
    (typeof expiresIn !== "number" || !Number.isSafeInteger(expiresIn) ||
      expiresIn < 1)
  ) {
    throw new RangeError(
      `${action}: expiresIn must be a positive whole number of seconds, got ${
        typeof expiresIn === "number" ? expiresIn : describe(expiresIn)
      }`,
    );
  }
  return {
    action,
    body: expiresIn === undefined ? {} : { expires_in: expiresIn },
  };
}

/**
 * `POST /files/{id}/download_url`: a fresh signed download URL.
 *
 * @param transport The client's transport.
 * @param id The file id.
 * @param options How long the URL works, and an abort signal.
 * @returns The URL and when it expires.
 */
export async function createDownloadUrl(
  transport: Transport,
  id: string,
  options: DownloadUrlOptions,
): Promise<DownloadUrl> {
  const { action, body } = downloadUrlRequest(id, options);
  const answer = await transport.json(
    "POST",
    `${filePath(id)}/download_url`,
    body,
    { action, signal: options.signal },
  );
  const url = answer.body as Partial<DownloadUrl> | undefined;
  if (typeof url?.expires_at !== "string") {
    throw new FileUrlsError(
      `${action}: server answered ${answer.status} without download_url and expires_at`,
    );
  }
  checkUrl(url.download_url, "download_url", action);
  return url as DownloadUrl;
}

function checkFileObject(
  value: unknown,
  status: number,
  action: string,
): FileObject {
  const file = value as Partial<FileObject> | undefined;
  if (
    typeof file?.id !== "string" || typeof file.name !== "string" ||
    typeof file.size !== "number"
  ) {
    throw new FileUrlsError(
      `${action}: server answered ${status} without a file's id, name and size`,
    );
  }
  return file as FileObject;
}

function checkFileList(
  value: unknown,
  status: number,
  action: string,
): FileList {
  const list = value as Partial<FileList> | undefined;
  const cursor = list?.next_cursor;
  if (
    !Array.isArray(list?.files) ||
    !(cursor === null || (typeof cursor === "string" && cursor !== ""))
  ) {
    throw new FileUrlsError(
      `${action}: server answered ${status} without files and next_cursor`,
    );
  }
  for (const file of list.files) checkFileObject(file, status, action);
  return list as FileList;
}
