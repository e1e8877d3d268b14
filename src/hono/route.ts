/**
 * The files API as a Hono sub-app: `POST /files/urls` hands out signed upload
 * and download URLs, `PUT` on an upload URL stores the bytes, `GET`/`HEAD` on
 * a download URL serves them, and `GET`/`DELETE /files…` manage the stored
 * files. This module wires the endpoints; each lives in a file of its own.
 *
 * @module
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { CreateFileUrlsParams, FileObject, FileUrls } from "../api.ts";
import { apiKeyAuth } from "./_auth.ts";
import { jsonBody } from "./_body.ts";
import { corsHeaders, preflight } from "./_cors.ts";
import { renderError, RouteError } from "./_errors.ts";
import { parseFilePath } from "./_signed_url.ts";
import { confirmUpload } from "./confirm.ts";
import { createUrls } from "./create_urls.ts";
import { download } from "./download.ts";
import { createDownloadUrl, deleteFile, getFile, listFiles } from "./manage.ts";
import { type Config, configure, type FilesRouteOptions } from "./options.ts";
import { startUpload } from "./start_upload.ts";
import { upload } from "./upload.ts";
import { uploadPart } from "./upload_part.ts";
import { uploadSession } from "./upload_session.ts";

/** The validated body of `POST /files/urls`: the API's own params. */
export type FileUrlsRequest = CreateFileUrlsParams;

/** The `201` answer of `POST /files/urls`. */
export type FileUrlsResponse = FileUrls & {
  /** The file id. */
  id: string;
  /** When the upload URL expires, as an ISO 8601 date. */
  expires_at: string;
};

/** The `201` answer of a `PUT` on an upload URL. */
export type UploadedFileResponse = FileObject;

// `deno doc --lint` counts types from other packages as private
// (denoland/deno#27364): the alias names Hono's type, and `@internal` keeps
// the lint out of Hono's own declarations.
/**
 * Hono's `Hono` app, which {@linkcode filesRoute} returns.
 *
 * @internal
 */
export type FilesRouteApp = Hono;

/**
 * Makes the files API as a Hono app to mount under a prefix:
 *
 * - `POST /files/urls` with `{name, size, resource, mime_type, lifetime?}`
 *   answers `201 {id, upload_url, download_url, expires_at}`, and
 *   `complete_url` with a presigned storage that confirms uploads;
 * - `PUT /files/{id}?name&size&type&res&fexp&exp&kid&sig` stores exactly
 *   `size` bytes and answers `201`;
 * - `POST /files/{id}/complete?…&sig` (presigned storages) confirms that the
 *   bytes arrived in the store and answers `200` with the file;
 * - `GET`/`HEAD /files/{id}/{name}?exp&kid&sig` serves them, with ranges;
 * - `POST /files/uploads` starts a multipart upload (where the storage
 *   offers them) and answers its capability URL, `upload_url`, on which
 *   `GET` lists the stored parts, `POST …/parts` signs part URLs, `POST
 *   …/complete` makes the file, and `DELETE` aborts;
 * - with `apiKeys` or `manage`: `GET /files?resource&limit&cursor` lists the
 *   stored files newest first, `GET /files/{id}` describes one, `DELETE
 *   /files/{id}` removes it for good, and `POST /files/{id}/download_url`
 *   signs a fresh download URL;
 * - `OPTIONS` on all of them answers CORS preflights when `cors` is set.
 *
 * Errors are JSON `{"error": {"type", "message"}}`. A body that moves no
 * byte for `bodyTimeout` ms answers 408; once `signal` aborts, bodies still
 * arriving and new uploads answer 503; a full storage answers 507. None of
 * them leaves anything stored, and the upload URL can be used again.
 *
 * @param options Storage, secrets, who may create URLs, and limits.
 * @returns A Hono app; mount it with `app.route("/v1", filesRoute({...}))`.
 * @throws {TypeError} If an option is missing or malformed: no storage, a
 * secret shorter than 32 bytes, no way to authorize and `public` not set, a
 * malformed `publicUrl`, `allowedTypes` or `cors` origin, or `onUploaded`
 * with a presigned storage that cannot confirm uploads.
 * @throws {RangeError} If `maxSize`, `uploadTtl`, `downloadTtl`,
 * `bodyTimeout` or another limit is not a positive safe integer, or
 * `maxLifetime` or `maxDownloadTtl` is below `lifetime` or `downloadTtl`.
 *
 * @example Mount it and create URLs
 * ```ts
 * import { Hono } from "hono";
 * import { filesRoute, memoryStorage } from "@fileurls/fileurls/hono";
 *
 * const app = new Hono();
 * app.route(
 *   "/v1",
 *   filesRoute({
 *     storage: memoryStorage(),
 *     secret: "a secret of at least thirty-two bytes",
 *     apiKeys: ["my-api-key"],
 *   }),
 * );
 * const res = await app.request("http://localhost/v1/files/urls", {
 *   method: "POST",
 *   headers: { authorization: "Bearer my-api-key" },
 *   body: JSON.stringify({
 *     name: "a.txt",
 *     size: 2,
 *     resource: "prediction",
 *     mime_type: "text/plain",
 *   }),
 * });
 * const { upload_url } = await res.json(); // "http://localhost/v1/files/…"
 * ```
 */
export function filesRoute(options: FilesRouteOptions): FilesRouteApp {
  const config = configure(options);
  const app = new Hono();
  app.onError(renderError);
  const cors = config.cors;
  if (cors !== undefined) {
    app.use("*", corsHeaders(cors));
    app.options("/files/urls", (c) => preflight(c, cors, ["POST"]));
    if (config.multipart !== undefined) {
      app.options("/files/uploads", (c) => preflight(c, cors, ["POST"]));
      app.options(
        "/files/uploads/*",
        (c) => preflight(c, cors, ["GET", "POST", "PUT", "DELETE"]),
      );
    }
    if (config.managed) {
      app.options("/files", (c) => preflight(c, cors, ["GET", "HEAD"]));
    }
    app.options("/files/*", (c) => {
      const methods = allowedMethods(c, config);
      if (methods.length === 0) throw noSuchEndpoint(c);
      return preflight(c, cors, methods);
    });
  }
  const action = "Cannot create file URLs";
  if (config.apiKeys) {
    app.post("/files/urls", apiKeyAuth(config.apiKeys, action));
  }
  app.post(
    "/files/urls",
    jsonBody(config, action),
    (c) => createUrls(c, config),
  );
  app.all("/files/urls", (c) => notAllowed(c, ["POST"]));

  if (config.multipart !== undefined) {
    const start = "Cannot start an upload";
    if (config.apiKeys) {
      app.post("/files/uploads", apiKeyAuth(config.apiKeys, start));
    }
    app.post(
      "/files/uploads",
      jsonBody(config, start),
      (c) => startUpload(c, config),
    );
    app.all("/files/uploads", (c) => notAllowed(c, ["POST"]));
    app.put("/files/uploads/:id/parts/:number", (c) => uploadPart(c, config));
    // A completion lists up to 10,000 parts.
    app.post(
      "/files/uploads/*",
      jsonBody(config, "Cannot use the upload", 1024 ** 2),
    );
    app.all("/files/uploads/*", (c) => uploadSession(c, config));
  }
  if (config.managed) {
    manageEndpoints(app, config);
  } else {
    // Before the download route, whose "/files/*" takes "/files" too.
    app.all("/files", (c) => {
      throw new RouteError(
        404,
        `Cannot ${c.req.method} ${
          pathOf(c)
        }: no such endpoint (stored files are listed only on a route with apiKeys or manage)`,
      );
    });
  }
  if (config.presigned) {
    app.post(`/files/${ID_PARAM}/complete`, (c) => confirmUpload(c, config));
  } else {
    app.put("/files/*", (c) => upload(c, config));
    // Hono answers HEAD with the GET handler and drops the body.
    app.get("/files/*", (c) => download(c, config));
  }
  app.all("/files/*", (c) => {
    const methods = allowedMethods(c, config);
    if (methods.length > 0) return notAllowed(c, methods);
    throw noSuchEndpoint(c);
  });
  return app;
}

/** A file id in a Hono path; the handlers read it again from the raw path. */
const ID_PARAM = ":id{[A-Za-z0-9_-]{22}}";

/**
 * `GET /files`, `GET`/`DELETE /files/{id}` and `POST
 * /files/{id}/download_url`, behind the API key when there are keys.
 */
function manageEndpoints(app: Hono, config: Config): void {
  const guard = (action: string): MiddlewareHandler =>
    config.apiKeys === undefined
      ? (_c, next) => next()
      : apiKeyAuth(config.apiKeys, action);
  app.get("/files", guard("Cannot list files"), (c) => listFiles(c, config));
  app.all("/files", (c) => notAllowed(c, ["GET", "HEAD"]));
  app.get(
    `/files/${ID_PARAM}`,
    guard("Cannot get the file"),
    (c) => getFile(c, config),
  );
  app.delete(
    `/files/${ID_PARAM}`,
    guard("Cannot delete the file"),
    (c) => deleteFile(c, config),
  );
  const signing = "Cannot create a download URL";
  app.post(
    `/files/${ID_PARAM}/download_url`,
    guard(signing),
    jsonBody(config, signing),
    (c) => createDownloadUrl(c, config),
  );
  // An id no file can have, whatever the key: 404 that says so, where the
  // download route below would speak of a download URL.
  const noSuchFile = (action: string) => (): never => {
    throw new RouteError(404, `${action}: no such file`);
  };
  app.get("/files/:id", noSuchFile("Cannot get the file"));
  app.delete("/files/:id", noSuchFile("Cannot delete the file"));
  app.post("/files/:id/download_url", noSuchFile(signing));
}

/**
 * The methods a path under `/files/` answers: none for a path that is no
 * file's; for `/files/{id}`, `PUT` (upload), `GET` (description, when
 * managed) and `DELETE`; for `/files/{id}/{name}`, `GET` (download) and
 * `POST` where the name is `download_url` or `complete`.
 */
function allowedMethods(c: Context, config: Config): string[] {
  let path: { id: string; name?: string };
  try {
    path = parseFilePath(c.req.url, "");
  } catch {
    return [];
  }
  const own = !config.presigned;
  const methods = path.name === undefined
    ? [
      ...(own ? ["PUT"] : []),
      ...(own || config.managed ? ["GET", "HEAD"] : []),
      ...(config.managed ? ["DELETE"] : []),
    ]
    : [
      // A PUT there answers 403: it is no upload URL.
      ...(own ? ["PUT", "GET", "HEAD"] : []),
      ...((config.managed && path.name === "download_url") ||
          (config.presigned && path.name === "complete")
        ? ["POST"]
        : []),
    ];
  return methods;
}

function noSuchEndpoint(c: Context): RouteError {
  return new RouteError(
    404,
    `Cannot ${c.req.method} ${pathOf(c)}: no such endpoint`,
  );
}

function pathOf(c: Context): string {
  return new URL(c.req.url).pathname;
}

/** 405 with `Allow`, for a known path and another method. */
function notAllowed(c: Context, methods: string[]): never {
  throw new RouteError(
    405,
    `Cannot ${c.req.method} ${pathOf(c)}: the method is not allowed here`,
    { allow: methods.join(", ") },
  );
}
