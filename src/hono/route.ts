/**
 * The files API as a Hono sub-app: `POST /files/urls` hands out signed upload
 * and download URLs, `PUT` on an upload URL stores the bytes, `GET`/`HEAD` on
 * a download URL serves them.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { essence, isMediaType } from "../media_type.ts";
import {
  type ByteRange,
  type PresignedStorage,
  type PresignedUrls,
  type Storage,
  StorageConflictError,
  type StoredFile,
} from "./storage.ts";
import {
  base64url,
  checkSecrets,
  createSigner,
  type SignedFields,
  type Signer,
} from "./_signing.ts";
import { contentDisposition, isInlineType } from "./_content_disposition.ts";

/** The validated body of `POST /files/urls`, as the API names its fields. */
export interface FileUrlsRequest {
  /** The file name: metadata only, never part of a storage key. */
  name: string;
  /** The exact size in bytes. */
  size: number;
  /** What the file is for; one of the route's `resources`. */
  resource: string;
  /** The media type the upload must be sent with. */
  mime_type: string;
}

/** The `201` answer of `POST /files/urls`. */
export interface FileUrlsResponse {
  /** Absolute URL to `PUT` the bytes to, with the exact size and type. */
  upload_url: string;
  /** Absolute URL to `GET` the file from once it is uploaded. */
  download_url: string;
  /** When the upload URL expires, as an ISO 8601 date. */
  expires_at: string;
}

/** The `201` answer of a `PUT` on an upload URL. */
export interface UploadedFileResponse {
  /** The file id, as in the URLs. */
  id: string;
  /** The declared name. */
  name: string;
  /** The size in bytes. */
  size: number;
  /** The declared media type. */
  mime_type: string;
  /** When the upload completed, as an ISO 8601 date. */
  uploaded_at: string;
}

/** Options of {@linkcode filesRoute}. */
export interface FilesRouteOptions {
  /**
   * Where files go. A {@linkcode Storage} receives the bytes through this
   * route; a {@linkcode PresignedStorage} hands out URLs of its own, and the
   * route then only authorizes and validates `POST /files/urls`.
   */
  storage: Storage | PresignedStorage;
  /**
   * HMAC-SHA-256 secrets for the URLs, each at least 32 bytes of UTF-8. The
   * first signs; every one verifies, so put a new secret first and drop the
   * old one once its URLs have expired.
   */
  secret: string | string[];
  /**
   * Keys that may create URLs, sent as `Authorization: Bearer <key>`.
   *
   * @default {undefined} no key list
   */
  apiKeys?: string[];
  /**
   * Decides who may create URLs, after the API key (if any) was accepted and
   * the body validated. `false` answers 403. An error it throws answers 500.
   *
   * @default {undefined} no extra check
   */
  authorize?: (
    c: Context,
    params: FileUrlsRequest,
  ) => boolean | Promise<boolean>;
  /**
   * Lets anyone create URLs. Needed, and only allowed, when neither `apiKeys`
   * nor `authorize` is given.
   *
   * @default {false}
   */
  public?: boolean;
  /**
   * The external URL of the mount point, e.g. `"https://files.example.com/v1"`,
   * used in the URLs handed out. Set it behind a proxy: without it they are
   * made from the request's own URL, and forwarding headers are not trusted.
   *
   * @default {undefined} the request URL's origin and mount prefix
   */
  publicUrl?: string;
  /**
   * The largest size in bytes `POST /files/urls` accepts (413 above).
   *
   * @default {1073741824} 1 GiB
   */
  maxSize?: number;
  /**
   * The media types that may be uploaded (415 otherwise), compared by
   * type/subtype without parameters; `"image/*"` allows a whole type.
   *
   * @default {undefined} any well-formed type
   */
  allowedTypes?: string[];
  /**
   * The accepted values of `resource` (400 otherwise).
   *
   * @default {["prediction"]}
   */
  resources?: string[];
  /**
   * How long an upload URL works, in seconds.
   *
   * @default {3600}
   */
  uploadTtl?: number;
  /**
   * How long a download URL works, in seconds, counted from when it was
   * created (not from the upload).
   *
   * @default {86400}
   */
  downloadTtl?: number;
  /**
   * Origins that browsers may call the API from: `"*"` for any, or exact
   * origins such as `"https://app.example.com"`. Preflights are answered and
   * answers carry `Access-Control-Allow-Origin`. Credentials are never
   * allowed; the API key travels in `Authorization`.
   *
   * @default {undefined} no CORS headers, no preflight handling
   */
  cors?: "*" | string[];
  /**
   * Called once after a file is completely stored, before the `201` answer.
   * An error it throws is logged with `console.error` and does not undo the
   * upload, which still answers `201`.
   *
   * @default {undefined}
   */
  onUploaded?: (file: StoredFile) => void | Promise<void>;
  /**
   * The clock, in milliseconds since the epoch, for expiry.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** The `error.type` values of the route's JSON errors, by status. */
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request",
  401: "authentication_error",
  403: "permission_denied",
  404: "not_found",
  409: "conflict",
  411: "length_required",
  413: "too_large",
  415: "unsupported_media_type",
  416: "range_not_satisfiable",
  500: "internal_error",
};

const ID = /^[A-Za-z0-9_-]{22}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const MAX_JSON_BYTES = 64 * 1024;
const encoder = new TextEncoder();

interface Config {
  storage: Storage | PresignedStorage;
  presigned: boolean;
  apiKeys?: Promise<Uint8Array[]>;
  authorize?: FilesRouteOptions["authorize"];
  publicUrl?: string;
  maxSize: number;
  allowedTypes?: string[];
  resources: string[];
  uploadTtl: number;
  downloadTtl: number;
  cors?: "*" | Set<string>;
  onUploaded?: FilesRouteOptions["onUploaded"];
  now: () => number;
  signer: Promise<Signer>;
}

/**
 * Makes the files API as a Hono app to mount under a prefix:
 *
 * - `POST /files/urls` with `{name, size, resource, mime_type}` answers
 *   `201 {upload_url, download_url, expires_at}`;
 * - `PUT /files/{id}?name&size&type&exp&kid&sig` stores exactly `size` bytes
 *   and answers `201`;
 * - `GET`/`HEAD /files/{id}/{name}?exp&kid&sig` serves them, with ranges;
 * - `OPTIONS` on both answers CORS preflights when `cors` is set.
 *
 * Errors are JSON `{"error": {"type", "message"}}`.
 *
 * @param options Storage, secrets, who may create URLs, and limits.
 * @returns A Hono app; mount it with `app.route("/v1", filesRoute({...}))`.
 * @throws {TypeError} If an option is missing or malformed: no storage, a
 * secret shorter than 32 bytes, no way to authorize and `public` not set, a
 * malformed `publicUrl`, `allowedTypes` or `cors` origin.
 * @throws {RangeError} If `maxSize`, `uploadTtl` or `downloadTtl` is not a
 * positive safe integer.
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
export function filesRoute(options: FilesRouteOptions): Hono {
  const config = configure(options);
  const app = new Hono();
  app.onError((error) => {
    console.error("fileurls: unexpected error:", error);
    return fail(500, "Cannot answer the request: internal error");
  });
  if (config.cors !== undefined) {
    const cors = config.cors;
    app.use("*", async (c, next) => {
      await next();
      const origin = c.req.header("origin");
      if (origin !== undefined && isAllowedOrigin(cors, origin)) {
        allowOrigin(c.res.headers, cors, origin);
        c.res.headers.set(
          "access-control-expose-headers",
          "Content-Length, Content-Range, Content-Disposition, ETag, Accept-Ranges",
        );
      }
    });
    app.options("/files/urls", (c) => preflight(c, cors, ["POST"]));
    if (!config.presigned) {
      app.options(
        "/files/*",
        (c) => preflight(c, cors, ["PUT", "GET", "HEAD"]),
      );
    }
  }
  app.post("/files/urls", (c) => createUrls(c, config));
  if (!config.presigned) {
    app.put("/files/*", (c) => upload(c, config));
    // Hono answers HEAD with the GET handler and drops the body.
    app.get("/files/*", (c) => download(c, config));
  }
  return app;
}

function configure(options: FilesRouteOptions): Config {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create the files route: options are missing");
  }
  const { storage } = options;
  const presigned =
    typeof (storage as PresignedStorage)?.presign === "function";
  if (
    !presigned &&
    (typeof (storage as Storage)?.put !== "function" ||
      typeof (storage as Storage)?.stat !== "function" ||
      typeof (storage as Storage)?.read !== "function")
  ) {
    throw new TypeError(
      "Cannot create the files route: storage must have put, stat and read, or presign",
    );
  }
  const secrets = checkSecrets(options.secret);
  const signer = createSigner(secrets);
  signer.catch(() => {}); // Reported by the request that awaits it.

  let apiKeys: Promise<Uint8Array[]> | undefined;
  if (options.apiKeys !== undefined) {
    if (
      !Array.isArray(options.apiKeys) || options.apiKeys.length === 0 ||
      !options.apiKeys.every((key) => typeof key === "string" && key !== "")
    ) {
      throw new TypeError(
        "Cannot create the files route: apiKeys must be a non-empty array of non-empty strings",
      );
    }
    apiKeys = Promise.all(options.apiKeys.map(digest));
  }
  if (
    options.authorize !== undefined && typeof options.authorize !== "function"
  ) {
    throw new TypeError(
      "Cannot create the files route: authorize must be a function",
    );
  }
  const guarded = apiKeys !== undefined || options.authorize !== undefined;
  if (options.public === true && guarded) {
    throw new TypeError(
      "Cannot create the files route: public cannot be combined with apiKeys or authorize",
    );
  }
  if (!guarded && options.public !== true) {
    throw new TypeError(
      "Cannot create the files route: give apiKeys or authorize, or set public: true to let anyone create URLs",
    );
  }

  let publicUrl: string | undefined;
  if (options.publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.publicUrl);
    } catch {
      url = undefined;
    }
    if (
      url === undefined || !/^https?:$/.test(url.protocol) || url.search ||
      url.hash || url.username || url.password
    ) {
      throw new TypeError(
        `Cannot create the files route: publicUrl ${
          JSON.stringify(options.publicUrl)
        } is not an http(s) URL without query or fragment`,
      );
    }
    publicUrl = url.href.replace(/\/+$/, "");
  }

  let allowedTypes: string[] | undefined;
  if (options.allowedTypes !== undefined) {
    allowedTypes = options.allowedTypes.map((type) => {
      if (
        typeof type !== "string" || !isMediaType(type.replace(/\/\*$/, "/x"))
      ) {
        throw new TypeError(
          `Cannot create the files route: allowed type ${
            JSON.stringify(type)
          } is not a media type or "type/*"`,
        );
      }
      return essence(type);
    });
  }

  let cors: "*" | Set<string> | undefined;
  if (options.cors === "*") cors = "*";
  else if (options.cors !== undefined) {
    if (!Array.isArray(options.cors)) {
      throw new TypeError(
        'Cannot create the files route: cors must be "*" or an array of origins',
      );
    }
    cors = new Set(options.cors.map((origin) => {
      let parsed: string | undefined;
      try {
        parsed = new URL(origin).origin;
      } catch {
        parsed = undefined;
      }
      if (parsed !== origin) {
        throw new TypeError(
          `Cannot create the files route: cors origin ${
            JSON.stringify(origin)
          } is not an origin such as "https://app.example.com"`,
        );
      }
      return origin;
    }));
  }

  const resources = options.resources ?? ["prediction"];
  if (
    !Array.isArray(resources) ||
    !resources.every((value) => typeof value === "string")
  ) {
    throw new TypeError(
      "Cannot create the files route: resources must be an array of strings",
    );
  }

  return {
    storage,
    presigned,
    apiKeys,
    authorize: options.authorize,
    publicUrl,
    maxSize: positive(options.maxSize ?? 1024 ** 3, "maxSize"),
    allowedTypes,
    resources,
    uploadTtl: positive(options.uploadTtl ?? 3600, "uploadTtl"),
    downloadTtl: positive(options.downloadTtl ?? 86400, "downloadTtl"),
    cors,
    onUploaded: options.onUploaded,
    now: options.now ?? Date.now,
    signer,
  };
}

function positive(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot create the files route: ${option} must be a positive safe integer, got ${value}`,
    );
  }
  return value;
}

// ---------------------------------------------------------------- answers

function fail(
  status: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return Response.json(
    { error: { type: ERROR_TYPES[status], message } },
    { status, headers: { "cache-control": "no-store", ...headers } },
  );
}

// ------------------------------------------------------------ POST /files/urls

async function createUrls(c: Context, config: Config): Promise<Response> {
  const action = "Cannot create file URLs";
  if (config.apiKeys !== undefined) {
    const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(
      c.req.header("authorization") ?? "",
    );
    const challenge = { "www-authenticate": "Bearer" };
    if (match === null) {
      return fail(401, `${action}: no API key was given`, challenge);
    }
    if (!await isKnownKey(match[1], await config.apiKeys)) {
      return fail(401, `${action}: the API key is not valid`, challenge);
    }
  }

  const text = await readText(c.req.raw, MAX_JSON_BYTES);
  if (text === undefined) {
    return fail(413, `${action}: the body is over ${MAX_JSON_BYTES} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(400, `${action}: the body is not valid JSON`);
  }
  const checked = checkParams(body, config);
  if (typeof checked === "string") return fail(400, `${action}: ${checked}`);
  if (Array.isArray(checked)) {
    return fail(checked[0], `${action}: ${checked[1]}`);
  }
  const params = checked;

  if (config.authorize !== undefined && !await config.authorize(c, params)) {
    return fail(403, `${action}: not allowed`);
  }

  const nowSeconds = Math.floor(config.now() / 1000);
  const uploadExp = nowSeconds + config.uploadTtl;
  const downloadExp = nowSeconds + config.downloadTtl;
  const info = { name: params.name, size: params.size, type: params.mime_type };
  let answer: FileUrlsResponse;
  if (config.presigned) {
    let urls: PresignedUrls;
    try {
      urls = await (config.storage as PresignedStorage).presign(info, {
        uploadExpiresAt: new Date(uploadExp * 1000),
        downloadExpiresAt: new Date(downloadExp * 1000),
      });
    } catch (error) {
      // The size is valid by now: a RangeError says the store cannot take
      // a file this large (S3 takes at most 5 GiB in one PUT).
      if (error instanceof RangeError) {
        return fail(413, `${action}: ${error.message}`);
      }
      throw error;
    }
    answer = {
      upload_url: urls.upload_url,
      download_url: urls.download_url,
      expires_at: (urls.uploadExpiresAt ?? new Date(uploadExp * 1000))
        .toISOString(),
    };
  } else {
    const base = config.publicUrl ?? requestBase(c.req.url);
    const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const signer = await config.signer;
    const up = await signer.sign({
      purpose: "upload",
      id,
      name: info.name,
      size: info.size,
      type: info.type,
      exp: uploadExp,
    });
    const down = await signer.sign({
      purpose: "download",
      id,
      name: info.name,
      exp: downloadExp,
    });
    const uploadQuery = new URLSearchParams({
      name: info.name,
      size: String(info.size),
      type: info.type,
      exp: String(uploadExp),
      kid: up.kid,
      sig: up.sig,
    });
    const downloadQuery = new URLSearchParams({
      exp: String(downloadExp),
      kid: down.kid,
      sig: down.sig,
    });
    answer = {
      upload_url: `${base}/files/${id}?${uploadQuery}`,
      download_url: `${base}/files/${id}/${
        encodeURIComponent(info.name)
      }?${downloadQuery}`,
      expires_at: new Date(uploadExp * 1000).toISOString(),
    };
  }
  return Response.json(answer, {
    status: 201,
    headers: { "cache-control": "no-store" },
  });
}

/** The origin and mount prefix of a `POST …/files/urls` request. */
function requestBase(href: string): string {
  const url = new URL(href);
  return url.origin + url.pathname.slice(0, -"/files/urls".length);
}

/**
 * Validates the create body. Returns the params, a 400 message, or a
 * `[status, message]` pair for 413 and 415.
 */
function checkParams(
  body: unknown,
  config: Config,
): FileUrlsRequest | string | [number, string] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "the body must be a JSON object";
  }
  const { name, size, resource, mime_type } = body as Record<string, unknown>;
  for (
    const [field, value, type] of [
      ["name", name, "string"],
      ["size", size, "number"],
      ["resource", resource, "string"],
      ["mime_type", mime_type, "string"],
    ] as const
  ) {
    if (value === undefined) return `${field} is missing`;
    const actual = typeof value;
    if (actual !== type) return `${field} must be a ${type}`;
  }
  const params = { name, size, resource, mime_type } as FileUrlsRequest;
  const nameProblem = checkName(params.name);
  if (nameProblem !== undefined) {
    return `name ${JSON.stringify(params.name)} ${nameProblem}`;
  }
  if (!Number.isSafeInteger(params.size) || params.size < 0) {
    return `size must be a non-negative safe integer, got ${params.size}`;
  }
  if (!config.resources.includes(params.resource)) {
    return `resource ${JSON.stringify(params.resource)} is not one of ${
      config.resources.map((value) => JSON.stringify(value)).join(", ")
    }`;
  }
  if (!isMediaType(params.mime_type)) {
    return `mime_type ${
      JSON.stringify(params.mime_type)
    } is not a media type such as "image/png"`;
  }
  if (params.size > config.maxSize) {
    return [
      413,
      `size ${params.size} is over the limit of ${config.maxSize} bytes`,
    ];
  }
  if (
    config.allowedTypes !== undefined &&
    !isAllowedType(config.allowedTypes, params.mime_type)
  ) {
    return [
      415,
      `mime_type ${JSON.stringify(params.mime_type)} is not allowed`,
    ];
  }
  return params;
}

/** Returns what is wrong with a file name, or `undefined` if nothing. */
function checkName(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name === "." || name === "..") return "is not a file name";
  if (/[/\\]/.test(name)) return "contains a slash or backslash";
  if (/\p{Cc}/u.test(name)) return "contains a control character";
  if (/\p{Cs}/u.test(name)) return "contains a lone surrogate";
  const bytes = encoder.encode(name).byteLength;
  if (bytes > 255) return `has ${bytes} UTF-8 bytes, at most 255 are allowed`;
  return undefined;
}

function isAllowedType(allowed: string[], type: string): boolean {
  const value = essence(type);
  return allowed.some((pattern) =>
    pattern === "*/*" || pattern === value ||
    (pattern.endsWith("/*") && value.startsWith(pattern.slice(0, -1)))
  );
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/** Compares digests of every key without stopping at the first match. */
async function isKnownKey(key: string, known: Uint8Array[]): Promise<boolean> {
  const given = await digest(key);
  let found = 0;
  for (const candidate of known) {
    let diff = 0;
    for (let i = 0; i < given.length; i++) diff |= given[i] ^ candidate[i];
    found |= diff === 0 ? 1 : 0;
  }
  return found === 1;
}

/** Reads a request body as text, or `undefined` if it is over `limit` bytes. */
async function readText(
  request: Request,
  limit: number,
): Promise<string | undefined> {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > limit) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

// ------------------------------------------------------- signed file URLs

interface FilePath {
  id: string;
  /** The decoded name of a download path; absent on an upload path. */
  name?: string;
}

/**
 * Reads `…/files/{id}` or `…/files/{id}/{name}` from the raw, still
 * percent-encoded path. Anything else — an id with other characters than
 * base64url, or a name that could never have been signed (an encoded `/`,
 * `\`, NUL, `..`) — is `undefined`, which answers 404 before storage is
 * touched.
 */
function parseFilePath(href: string): FilePath | undefined {
  const segments = new URL(href).pathname.split("/");
  const n = segments.length;
  if (n >= 3 && segments[n - 2] === "files" && ID.test(segments[n - 1])) {
    return { id: segments[n - 1] };
  }
  if (n >= 4 && segments[n - 3] === "files" && ID.test(segments[n - 2])) {
    let name: string;
    try {
      name = decodeURIComponent(segments[n - 1]);
    } catch {
      return undefined;
    }
    if (checkName(name) !== undefined) return undefined;
    return { id: segments[n - 2], name };
  }
  return undefined;
}

function decimal(value: string | null): number | undefined {
  if (value === null || !DECIMAL.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * Checks the signature and expiry of a file URL. Returns the signed fields,
 * or the 403 answer. The two are told apart by a field, not by
 * `instanceof Response`: `@hono/node-server` replaces the global `Response`
 * while `Response.json()` still makes the original kind, so `instanceof`
 * would take a refusal for signed fields.
 */
async function verifyUrl(
  c: Context,
  config: Config,
  path: FilePath,
  purpose: "upload" | "download",
  action: string,
): Promise<{ fields: SignedFields } | { refusal: Response }> {
  const query = new URL(c.req.url).searchParams;
  let name: string | null = path.name ?? null;
  let size: number | undefined;
  let type: string | undefined;
  if (purpose === "upload") {
    // An upload URL has no name segment; a download URL used to PUT fails here.
    name = path.name === undefined ? query.get("name") : null;
    size = decimal(query.get("size"));
    type = query.get("type") ?? undefined;
  }
  const exp = decimal(query.get("exp"));
  const kid = query.get("kid");
  const sig = query.get("sig");
  if (
    name === null || exp === undefined || kid === null || sig === null ||
    (purpose === "upload" && (size === undefined || type === undefined))
  ) {
    return { refusal: fail(403, `${action}: the URL is not signed for this`) };
  }
  const fields: SignedFields = { purpose, id: path.id, name, size, type, exp };
  const signer = await config.signer;
  if (!await signer.verify(fields, { kid, sig })) {
    return { refusal: fail(403, `${action}: the signature is not valid`) };
  }
  if (Math.floor(config.now() / 1000) >= exp) {
    const expired = new Date(exp * 1000).toISOString();
    return { refusal: fail(403, `${action}: the URL expired at ${expired}`) };
  }
  return { fields };
}

// ---------------------------------------------------------- PUT upload URL

async function upload(c: Context, config: Config): Promise<Response> {
  const storage = config.storage as Storage;
  const path = parseFilePath(c.req.url);
  if (path === undefined) return fail(404, "Cannot upload: no such file URL");
  const verified = await verifyUrl(c, config, path, "upload", "Cannot upload");
  if ("refusal" in verified) return verified.refusal;
  const signed = verified.fields;
  const size = signed.size as number;
  const type = signed.type as string;
  const action = `Cannot upload ${JSON.stringify(signed.name)}`;

  const request = c.req.raw;
  if (request.headers.has("transfer-encoding")) {
    return fail(
      411,
      `${action}: send the body with a Content-Length, not Transfer-Encoding`,
    );
  }
  const lengthHeader = request.headers.get("content-length");
  if (lengthHeader === null) {
    return fail(411, `${action}: Content-Length is missing`);
  }
  const length = decimal(lengthHeader);
  if (length === undefined) {
    return fail(
      400,
      `${action}: Content-Length ${
        JSON.stringify(lengthHeader)
      } is not a decimal number`,
    );
  }
  if (length < size) {
    return fail(
      400,
      `${action}: Content-Length ${length} is less than the declared ${size} bytes`,
    );
  }
  if (length > size) {
    return fail(
      413,
      `${action}: Content-Length ${length} is more than the declared ${size} bytes`,
    );
  }
  const contentType = request.headers.get("content-type");
  if (contentType === null || essence(contentType) !== essence(type)) {
    return fail(
      415,
      `${action}: Content-Type ${
        JSON.stringify(contentType ?? "")
      } is not the declared ${JSON.stringify(type)}`,
    );
  }
  if (await storage.stat(path.id) !== undefined) {
    return fail(409, `${action}: the file is already uploaded`);
  }

  // Count what arrives, so that even a storage that does not check sizes
  // never gets more or less than declared.
  let received = 0;
  const counted = (request.body ?? new Blob([]).stream()).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        if (received > size) {
          throw new RangeError(`the body is longer than ${size} bytes`);
        }
        controller.enqueue(chunk);
      },
      flush() {
        if (received !== size) {
          throw new RangeError(
            `the body ended after ${received} of ${size} bytes`,
          );
        }
      },
    }),
  );
  let file: StoredFile;
  try {
    file = await storage.put(path.id, counted, {
      name: signed.name,
      size,
      type,
    });
  } catch (error) {
    if (error instanceof StorageConflictError) {
      return fail(409, `${action}: the file is already being uploaded`);
    }
    if (received > size) {
      return fail(413, `${action}: the body is longer than ${size} bytes`);
    }
    if (received < size || error instanceof RangeError) {
      return fail(
        400,
        `${action}: the body ended after ${received} of ${size} bytes`,
      );
    }
    throw error;
  }
  if (config.onUploaded !== undefined) {
    try {
      await config.onUploaded(file);
    } catch (error) {
      console.error(`fileurls: onUploaded failed for "${file.key}":`, error);
    }
  }
  const answer: UploadedFileResponse = {
    id: path.id,
    name: file.name,
    size: file.size,
    mime_type: file.type,
    uploaded_at: file.uploadedAt.toISOString(),
  };
  return Response.json(answer, {
    status: 201,
    headers: { etag: etag(file), "cache-control": "no-store" },
  });
}

// ------------------------------------------------------- GET download URL

function etag(file: StoredFile): string {
  return `"${file.key}.${file.uploadedAt.getTime().toString(36)}"`;
}

async function download(c: Context, config: Config): Promise<Response> {
  const storage = config.storage as Storage;
  const path = parseFilePath(c.req.url);
  if (path === undefined) return fail(404, "Cannot download: no such file URL");
  const verified = await verifyUrl(
    c,
    config,
    path,
    "download",
    "Cannot download",
  );
  if ("refusal" in verified) return verified.refusal;
  const signed = verified.fields;
  const action = `Cannot download ${JSON.stringify(signed.name)}`;
  const file = await storage.stat(path.id);
  if (file === undefined) {
    return fail(404, `${action}: the file is not uploaded yet`);
  }

  const tag = etag(file);
  const maxAge = Math.max(0, signed.exp - Math.floor(config.now() / 1000));
  const headers = new Headers({
    "etag": tag,
    "cache-control": `private, max-age=${maxAge}, immutable`,
    "accept-ranges": "bytes",
    "x-content-type-options": "nosniff",
  });
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, tag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-type", file.type);
  headers.set(
    "content-disposition",
    contentDisposition(file.name, isInlineType(file.type)),
  );

  let range: ByteRange | "unsatisfiable" | undefined;
  const ifRange = c.req.header("if-range");
  if (ifRange === undefined || ifRange.trim() === tag) {
    range = parseRange(c.req.header("range"), file.size);
  }
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${file.size}`);
    headers.set("content-type", "application/json");
    headers.delete("content-disposition");
    const answer = fail(
      416,
      `${action}: the range is outside the file's ${file.size} bytes`,
    );
    answer.headers.forEach((value, key) => headers.set(key, value));
    return new Response(answer.body, { status: 416, headers });
  }
  const status = range === undefined ? 200 : 206;
  const length = range === undefined ? file.size : range.end - range.start + 1;
  headers.set("content-length", String(length));
  if (range !== undefined) {
    headers.set(
      "content-range",
      `bytes ${range.start}-${range.end}/${file.size}`,
    );
  }
  if (c.req.method === "HEAD" || length === 0) {
    return new Response(null, { status, headers });
  }
  const body = storage.blob === undefined
    ? await storage.read(path.id, range)
    : await storage.blob(path.id, range);
  if (body === undefined) {
    return fail(404, `${action}: the file is not uploaded yet`);
  }
  return new Response(body, { status, headers });
}

function matchesEtag(header: string, tag: string): boolean {
  if (header.trim() === "*") return true;
  return header.split(",").some((value) =>
    value.trim().replace(/^W\//, "") === tag
  );
}

/**
 * Reads a single `bytes=` range. A multi-range or malformed header is
 * ignored (the whole file is sent, as RFC 9110 allows).
 */
function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*$/i.exec(header.trim());
  if (match === null) return undefined;
  const [, first, last] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Infinity : Number(last);
  if (end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

// -------------------------------------------------------------------- CORS

function isAllowedOrigin(cors: "*" | Set<string>, origin: string): boolean {
  return cors === "*" || cors.has(origin);
}

function allowOrigin(
  headers: Headers,
  cors: "*" | Set<string>,
  origin: string,
): void {
  if (cors === "*") {
    headers.set("access-control-allow-origin", "*");
  } else {
    headers.set("access-control-allow-origin", origin);
    headers.append("vary", "Origin");
  }
}

function preflight(
  c: Context,
  cors: "*" | Set<string>,
  methods: string[],
): Response {
  const origin = c.req.header("origin");
  const method = c.req.header("access-control-request-method");
  if (origin === undefined || method === undefined) {
    return new Response(null, {
      status: 204,
      headers: { allow: ["OPTIONS", ...methods].join(", ") },
    });
  }
  if (!isAllowedOrigin(cors, origin)) {
    return fail(
      403,
      `Cannot allow the request: origin ${origin} is not allowed`,
    );
  }
  if (!methods.includes(method.toUpperCase())) {
    return fail(
      403,
      `Cannot allow the request: method ${method} is not allowed`,
    );
  }
  const headers = new Headers({
    "access-control-allow-methods": methods.join(", "),
    // No credentials are ever allowed, so any request header is harmless.
    "access-control-allow-headers": c.req.header(
      "access-control-request-headers",
    ) ??
      (methods.includes("POST")
        ? "authorization, content-type"
        : "content-type, range, if-none-match, if-range"),
    "access-control-max-age": "600",
  });
  headers.append("vary", "Access-Control-Request-Headers");
  return new Response(null, { status: 204, headers });
}
