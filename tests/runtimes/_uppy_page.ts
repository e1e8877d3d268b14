/**
 * The page half of the Uppy recipe, bundled for Chromium by
 * `browser_uppy_test.ts`: an Uppy whose `@uppy/aws-s3` plugin sends each file
 * as one `PUT` to the upload URL a backend got from fileurls. The page never
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
}

/**
 * Makes an Uppy that uploads through fileurls: for each file, `signRequest`
 * asks the backend at `backend` for its upload URL and headers, and keeps the
 * file's download URL in its meta, as `download_url`.
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
      uppy.setFileMeta(file.id, { download_url: answer.download_url });
      return { url: answer.url, headers: answer.headers };
    },
  });
  return uppy;
}
