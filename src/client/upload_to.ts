/**
 * Uploading to URLs made elsewhere: a backend asks the API for them with its
 * key, and hands them to a browser or worker that has none.
 *
 * @module
 */
import {
  DEFAULT_RESOURCE,
  type FileUrls,
  type MultipartUpload,
  type UploadStatus,
} from "../api.ts";
import { Transport } from "./_request.ts";
import { readStatus, uploadFile } from "./_upload.ts";
import { namesItself } from "./_source.ts";
import { checkUrl } from "./_url.ts";
import { essence } from "../_media_type.ts";
import type { FileContent, UploadResult, UploadToOptions } from "./types.ts";

/**
 * Uploads a file to URLs that were created elsewhere, with the guarantees
 * of {@linkcode Files.upload}: exact `Content-Length`, never chunked,
 * retries, and for a multipart upload, parts with their SHA-256, bounded
 * memory, and a checked result.
 *
 * - The answer of `POST /files/urls` (`{upload_url, download_url}`): one
 *   `PUT` of the whole file, then a `POST` to its `complete_url` if it has
 *   one, before the returned promise resolves.
 * - The answer of `POST /files/uploads` (`{upload_url, part_size, …}`): the
 *   parts of a multipart upload, once its state is read: a file of another
 *   size than the one declared is refused before any part is sent, and one
 *   whose parts are stored already is not sent again.
 * - A multipart upload's `upload_url` alone: resumes it, sending only the
 *   parts the API does not hold yet. Contents with no name of their own (a
 *   Blob, bytes, a stream) take the name the upload was made for.
 *
 * No API key is needed or sent: the URLs are the capability.
 *
 * @param target What the API answered, or a multipart upload's `upload_url`.
 * @param file The contents, as for {@linkcode Files.upload}, of the size
 * the URLs were made for. Its name and media type are those the answer
 * names (`name`, `mime_type`, which the fileurls route sends); where the
 * answer has none, the file's own or `options`'.
 * @param options As for {@linkcode Files.upload}, with `fetch`, `maxRetries`
 * and `timeout`.
 * @returns The uploaded file.
 * @throws {TypeError} If no name can be found (a Blob, with no name in the
 * answer nor in `options`), `options.name` or `options.mimeType` is not
 * what the answer says the URLs were made for, or an argument is
 * malformed (no request is made).
 * @throws {FileUrlsError} If a request fails, an answer is longer than
 * 1 MiB, a URL is not absolute `http:` or `https:` (nothing is sent to
 * it), or the file is not of the size the URLs were made for (nothing is
 * sent).
 *
 * @example In a browser, with URLs from your backend
 * ```ts ignore
 * import { uploadTo } from "@fileurls/fileurls";
 *
 * const input = document.querySelector("input[type=file]")!;
 * const file = input.files![0];
 * // Your backend called POST /files/uploads with its API key.
 * const upload = await (await fetch("/my-backend/uploads", {
 *   method: "POST",
 *   body: JSON.stringify({ name: file.name, size: file.size, type: file.type }),
 * })).json();
 * const { downloadUrl } = await uploadTo(upload, file, {
 *   onProgress: ({ loaded, total }) => console.log(loaded, total),
 * });
 * ```
 */
export async function uploadTo(
  target: FileUrls | MultipartUpload | string,
  file: FileContent,
  options: UploadToOptions = {},
): Promise<UploadResult> {
  const transport = new Transport(options, false);
  if (typeof target === "string") {
    // Contents with no name of their own take the one the upload was made
    // for, which its state tells; the resume then starts from that state.
    let status: UploadStatus | undefined;
    if (options.name === undefined && !namesItself(file)) {
      checkUrl(target, "upload_url", "Cannot upload");
      status = await readStatus(
        transport,
        target,
        "Cannot upload",
        options.signal,
      );
    }
    return await uploadFile(
      transport,
      file,
      { resource: DEFAULT_RESOURCE, status },
      { ...options, name: options.name ?? status?.name, resume: target },
    );
  }
  if (typeof target !== "object" || target === null) {
    throw new TypeError(
      "Cannot upload: target must be the URLs the API answered, or an upload_url",
    );
  }
  // The name and type the URLs were made for, where the answer tells them:
  // the file goes under that name, and its upload URL takes only that type.
  const name = stringOr(target.name);
  const type = stringOr(target.mime_type);
  if (
    name !== undefined && options.name !== undefined && options.name !== name
  ) {
    throw new TypeError(
      `Cannot upload ${JSON.stringify(options.name)}: the URLs were made for ${
        JSON.stringify(name)
      }; leave options.name out, or have the URLs made for that name`,
    );
  }
  if (
    type !== undefined && options.mimeType !== undefined &&
    essence(options.mimeType) !== essence(type)
  ) {
    throw new TypeError(
      `Cannot upload ${
        JSON.stringify(name ?? options.name ?? "a file")
      }: the URLs were made for the type ${JSON.stringify(type)}, not ${
        JSON.stringify(options.mimeType)
      }`,
    );
  }
  // The type as it was declared, to the letter: a presigned URL signs it.
  const declared: UploadToOptions = {
    ...options,
    name: name ?? options.name,
    mimeType: type ?? options.mimeType,
  };
  if ("part_size" in target) {
    // Asked for its state first, as a resumed upload is: a file of another
    // size than the one declared is refused before any part is sent.
    return await uploadFile(transport, file, {
      resource: DEFAULT_RESOURCE,
      started: target as MultipartUpload,
    }, declared);
  }
  const urls = target as FileUrls;
  return await uploadFile(transport, file, {
    resource: DEFAULT_RESOURCE,
    single: () => Promise.resolve(urls),
  }, declared);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
