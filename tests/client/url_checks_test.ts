/**
 * Every URL the client sends to or hands back must be absolute `http:` or
 * `https:`: a relative, `file:`, `data:` or `javascript:` URL from the API's
 * answer or from the caller is a `FileUrlsError` naming the action, and
 * nothing is sent to it. A recording API on loopback shows what was sent.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, FileUrlsError, uploadTo } from "../../mod.ts";
import { apiClient, startApi } from "../_api.ts";
import { partNumber, type RouteApi, startRouteApi } from "../_route_api.ts";
import type { RecordedRequest } from "../_recorder.ts";

/** Bad URLs, and how the message goes on after the URL's name. */
const BAD: [string, string, string][] = [
  ["a relative URL", "/upload/1?sig=x", 'is not an absolute URL: "/upload/1"'],
  ["a file: URL", "file:///etc/passwd", "is a file: URL, not http: or https:"],
  ["a data: URL", "data:text/plain,hi", "is a data: URL, not http: or https:"],
  [
    "a javascript: URL",
    "javascript:alert(1)",
    "is a javascript: URL, not http: or https:",
  ],
];

const file = () => new File(["abc"], "a.bin");

/** Uploads `file()` to the route in parts of 2 bytes. */
function uploadInParts(api: RouteApi): Promise<unknown> {
  return new Client({ baseUrl: api.baseUrl, apiKey: api.apiKey }).files
    .uploadFile(file(), "prediction", { partSize: 2, concurrency: 1 });
}

/** Rejects unless `promise` rejects with a `FileUrlsError` of `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  message: string,
): Promise<void> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof FileUrlsError, String(error));
  assert.equal(error.message, message);
}

/** The API's answer to `POST /files/urls`, with `field` set to `url`. */
function urlsAnswering(field: "upload_url" | "download_url", url: string) {
  return (request: RecordedRequest) =>
    request.method === "POST"
      ? {
        status: 201,
        body: JSON.stringify({
          upload_url: "http://127.0.0.1:1/upload/0?sig=x",
          download_url: "http://127.0.0.1:1/download/0?sig=y",
          [field]: url,
        }),
      }
      : undefined;
}

for (const [kind, url, rest] of BAD) {
  describe(`${kind} is refused before anything is sent to it`, () => {
    for (const field of ["upload_url", "download_url"] as const) {
      test(`upload() with ${field} ${url}`, async () => {
        const api = await startApi(urlsAnswering(field, url));
        try {
          await rejectsWith(
            apiClient(api).files.upload(file()),
            `Cannot upload "a.bin": ${field} ${rest}`,
          );
          assert.equal(api.creates().length, 1);
          assert.equal(api.uploads().length, 0, "nothing is uploaded");
        } finally {
          await api.close();
        }
      });

      test(`createUrls() with ${field} ${url}`, async () => {
        const api = await startApi(urlsAnswering(field, url));
        try {
          await rejectsWith(
            apiClient(api).files.createUrls({
              name: "a.bin",
              size: 3,
              resource: "prediction",
              mime_type: "application/octet-stream",
            }),
            `Cannot create URLs for "a.bin": ${field} ${rest}`,
          );
        } finally {
          await api.close();
        }
      });

      test(`uploadTo() with ${field} ${url}`, async () => {
        const api = await startApi();
        try {
          await rejectsWith(
            uploadTo({
              upload_url: `${api.url}/upload/0?sig=x`,
              download_url: `${api.url}/download/0?sig=y`,
              [field]: url,
            }, file()),
            `Cannot upload "a.bin": ${field} ${rest}`,
          );
          assert.equal(api.requests.length, 0, "no request");
        } finally {
          await api.close();
        }
      });
    }

    test(`uploadTo() a multipart upload whose upload_url is ${url}`, async () => {
      await rejectsWith(
        uploadTo({
          id: "f_1",
          upload_url: url,
          download_url: "http://127.0.0.1:1/download/0",
          part_size: 2,
          max_parts: 10,
          expires_at: "2030-01-01T00:00:00.000Z",
        }, file()),
        `Cannot upload "a.bin": upload_url ${rest}`,
      );
    });

    test(`uploadTo() to resume ${url}`, async () => {
      await rejectsWith(
        uploadTo(url, file()),
        `Cannot upload: resume ${rest}`,
      );
    });

    test(`uploadFile() in parts, with a part URL ${url}`, async () => {
      const api = await startRouteApi(
        {},
        (request) =>
          request.method === "POST" && /\/parts\?/.test(request.target)
            ? {
              status: 200,
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                parts: [{
                  number: 1,
                  url,
                  headers: {},
                  expires_at: "2030-01-01T00:00:00.000Z",
                }],
              }),
            }
            : undefined,
      );
      try {
        await rejectsWith(
          uploadInParts(api),
          `Cannot upload "a.bin": part 1: the part URL ${rest}`,
        );
        assert.equal(api.starts().length, 1);
        assert.deepEqual(api.parts().map(partNumber), [], "no part is sent");
      } finally {
        await api.close();
      }
    });

    test(`uploadFile() in parts, completed with download_url ${url}`, async () => {
      const api = await startRouteApi(
        {},
        (request) =>
          request.method === "POST" && /\/complete\?/.test(request.target)
            ? {
              status: 201,
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ download_url: url }),
            }
            : undefined,
      );
      try {
        await rejectsWith(
          uploadInParts(api),
          `Cannot upload "a.bin": cannot complete the upload: download_url ${rest}`,
        );
      } finally {
        await api.close();
      }
    });
  });
}
