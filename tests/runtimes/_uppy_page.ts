/**
 * The page half of the Uppy recipe, bundled for Chromium by
 * `browser_uppy_test.ts`: an Uppy whose `@uppy/aws-s3` plugin sends each file
 * as one `PUT` to the upload URL a backend got from fileurls, and a
 * post-processor confirms each file at its completion URL. The page never
 * holds the API key.
 *
 * @module
 */
import Uppy from "@uppy/core";
import AwsS3 from "@uppy/aws-s3";

/** What the backend answers for one file. */
interface BackendAnswer {
  url: string;
  headers: Record<string, string>;
  download_url: string;
  /** With `s3Storage()`: `POST` it once the `PUT` succeeded. */
  complete_url?: string;
}

/**
 * Makes an Uppy that uploads through fileurls: for each file, `signRequest`
 * asks the backend at `backend` for its upload URL and headers, and keeps the
 * file's download URL and completion URL in its meta, as `download_url` and
 * `complete_url`; once the `PUT`s are done, a post-processor `POST`s each
 * `complete_url`, and fails the file in Uppy if the API refuses.
 *
 * @param backend The backend endpoint, e.g. `/uploads`.
 * @returns The Uppy.
 */
export function fileurlsUppy(backend: string): Uppy {
  const uppy = new Uppy();
  uppy.use(AwsS3, {
    shouldUseMultipart: false,
    // The key is only a handle: fileurls names the stored file itself.
    generateObjectKey: (file) => file.id,
    async signRequest(request) {
      if (request.method !== "PUT" || "uploadId" in request) {
        throw new TypeError(`Cannot sign ${request.method}: single PUTs only`);
      }
      const file = uppy.getFile(request.key);
      const res = await fetch(backend, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          name: file.name,
          size: file.size,
          type: file.type,
        }),
      });
      if (!res.ok) {
        throw new Error(
          `Cannot upload ${
            JSON.stringify(file.name)
          }: backend responded with ${res.status}`,
        );
      }
      const answer: BackendAnswer = await res.json();
      uppy.setFileMeta(file.id, {
        download_url: answer.download_url,
        complete_url: answer.complete_url,
      });
      return { url: answer.url, headers: answer.headers };
    },
  });
  // upload() resolves once this is done. A failed confirmation fails its
  // file in the result (thrown, it would reject upload() for every file).
  uppy.addPostProcessor(async (fileIDs) => {
    await Promise.all(fileIDs.map(async (id) => {
      const file = uppy.getFile(id);
      const url = file?.meta.complete_url;
      if (typeof url !== "string" || file.error) return; // nothing to confirm
      try {
        const res = await fetch(url, { method: "POST" });
        if (!res.ok) throw new Error(`API responded with ${res.status}`);
      } catch (error) {
        const name = JSON.stringify(file.name);
        const why = (error as Error).message;
        uppy.emit(
          "upload-error",
          file,
          new Error(`Cannot confirm ${name}: ${why}`),
        );
      }
    }));
  });
  return uppy;
}
