/**
 * The options of {@linkcode filesRoute}, and their checked form, which every
 * endpoint reads.
 *
 * @module
 */

import type { Context } from "hono";
import { type CreateFileUrlsParams, DEFAULT_RESOURCE } from "../api.ts";
import { essence, isMediaType } from "../_media_type.ts";
import type {
  PresignedMultipart,
  PresignedStorage,
  Storage,
  StorageMultipart,
  StoredFile,
} from "../storage/mod.ts";
import { digest } from "./_auth.ts";
import { downloadTtls, lifetimes, positive } from "./_limits.ts";
import { checkSecrets, createSigner, type Signer } from "./_signing.ts";

// `deno doc --lint` counts types from other packages as private
// (denoland/deno#27364): the alias names Hono's type, and `@internal` keeps
// the lint out of Hono's own declarations.
/**
 * Hono's `Context` of the request, as {@linkcode FilesRouteOptions.authorize}
 * receives it.
 *
 * @internal
 */
export type FilesRouteContext = Context;

/**
 * What a request to manage stored files asks, as
 * {@linkcode FilesRouteOptions.manage} receives it.
 */
export interface ManageRequest {
  /**
   * `GET /files` (`"list"`), `GET /files/{id}` (`"get"`), `DELETE
   * /files/{id}` (`"delete"`) or `POST /files/{id}/download_url`
   * (`"download_url"`).
   */
  action: "get" | "list" | "delete" | "download_url";
  /** The file id, but for `"list"`. */
  id?: string;
  /**
   * For `"list"`, the `resource` asked for, if any; otherwise the stored
   * file's resource, absent when no such file is stored.
   */
  resource?: string;
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
   * Decides who may create URLs or start a multipart upload, after the API
   * key (if any) was accepted and the body validated. `false` answers 403.
   * An error it throws answers 500. A multipart upload whose size is not
   * known yet comes with `size` set to `maxSize`, the most it may hold.
   *
   * @default {undefined} no extra check
   */
  authorize?: (
    c: FilesRouteContext,
    params: CreateFileUrlsParams,
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
   * The accepted values of `resource` (400 otherwise): at least one, none
   * empty.
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
   * created (not from the upload). Never past the file's expiry.
   *
   * @default {86400} one day, or `maxDownloadTtl` if shorter
   */
  downloadTtl?: number;
  /**
   * The part size of a multipart upload whose client asks for none, in
   * bytes. The route raises it where the file would need more parts than
   * the storage takes (10,000 on S3).
   *
   * @default {8388608} 8 MiB
   */
  partSize?: number;
  /**
   * The smallest part size a client may ask for. Never below the storage's
   * own minimum (5 MiB on S3).
   *
   * @default {5242880} 5 MiB
   */
  minPartSize?: number;
  /**
   * How long a multipart upload's `upload_url` works, in seconds: the time
   * a client has to send every part, resume included.
   *
   * @default {86400}
   */
  multipartTtl?: number;
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
   * Called once after a file is completely stored, before the answer: the
   * `201` of a `PUT` or of a multipart completion, or, with a presigned
   * storage, the first `POST` on the `complete_url` (which needs the
   * storage's `confirm`). An error it throws is logged with
   * `console.error` and does not undo the upload, which still succeeds.
   *
   * @default {undefined}
   */
  onUploaded?: (file: StoredFile) => void | Promise<void>;
  /**
   * How long a request body may take to bring each KiB, in milliseconds:
   * the `PUT` on an upload URL or a part URL, and the JSON body of a
   * `POST`. A body that brings less than 1 KiB in that time (silent, or
   * dripping a byte now and then) is cancelled and answers 408; nothing of
   * it is kept and the upload URL works again at once. A body at 1 KiB/s is
   * never cut, and time spent waiting for the storage does not count.
   *
   * @default {30000} 30 s
   */
  bodyTimeout?: number;
  /**
   * Shuts the route down once it aborts: bodies still arriving are
   * cancelled, and those requests, and every new upload, part, create and
   * completion, answer 503 with `Retry-After: 5`. Nothing partial is kept.
   * Abort it when the server stops (say, on `SIGTERM` after a grace period),
   * so that clients retry elsewhere instead of waiting.
   *
   * @default {undefined} never shuts down
   */
  signal?: AbortSignal;
  /**
   * How long a stored file is kept, in seconds from its upload URL's
   * creation, unless the request asks for another `lifetime`. After it the
   * file answers 404 everywhere, its download URLs stop working, and the
   * storage's sweep (or a bucket's lifecycle rule) removes it.
   *
   * @default {undefined} files never expire
   */
  lifetime?: number;
  /**
   * The longest `lifetime` a request may ask for, in seconds (400 above).
   *
   * @default {undefined} `lifetime` when set, else no cap
   */
  maxLifetime?: number;
  /**
   * The longest `expires_in` of `POST /files/{id}/download_url`, in
   * seconds (400 above). Never below `downloadTtl`.
   *
   * @default {604800} 7 days, or `downloadTtl` if longer
   */
  maxDownloadTtl?: number;
  /**
   * Decides who may list, look up, delete and sign download URLs of stored
   * files (`GET /files`, `GET`/`DELETE /files/{id}`, `POST
   * /files/{id}/download_url`), after the API key (if any) was accepted.
   * `false` answers 403; an error it throws answers 500. These endpoints
   * exist only when `apiKeys` or `manage` is set: a route made with
   * `public: true` alone never lists files.
   *
   * @default {undefined} every API key may manage every file
   */
  manage?: (
    c: FilesRouteContext,
    request: ManageRequest,
  ) => boolean | Promise<boolean>;
  /**
   * The clock, in milliseconds since the epoch, for expiry.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** The options, checked, with their defaults filled in. */
export interface Config {
  storage: Storage | PresignedStorage;
  presigned: boolean;
  /** SHA-256 digests of the API keys. */
  apiKeys?: Promise<Uint8Array[]>;
  authorize?: FilesRouteOptions["authorize"];
  publicUrl?: string;
  maxSize: number;
  allowedTypes?: string[];
  resources: string[];
  uploadTtl: number;
  downloadTtl: number;
  partSize: number;
  minPartSize: number;
  multipartTtl: number;
  /** The storage's multipart calls, if it has them. */
  multipart?: StorageMultipart | PresignedMultipart;
  cors?: "*" | Set<string>;
  onUploaded?: FilesRouteOptions["onUploaded"];
  /** Milliseconds a body may go without a byte arriving. */
  bodyTimeout: number;
  /** Aborts when the route shuts down. */
  signal?: AbortSignal;
  /** Seconds a file is kept by default; `undefined`: never expires. */
  lifetime?: number;
  /** The most seconds a request's `lifetime` may ask for. */
  maxLifetime?: number;
  maxDownloadTtl: number;
  manage?: FilesRouteOptions["manage"];
  /** Whether the management endpoints exist (`apiKeys` or `manage`). */
  managed: boolean;
  now: () => number;
  signer: Promise<Signer>;
}

/**
 * Checks the options of {@linkcode filesRoute} and fills in the defaults.
 *
 * @param options The options.
 * @returns The checked options.
 * @throws {TypeError} If an option is missing or malformed, or `signal` is
 * not an `AbortSignal`.
 * @throws {RangeError} If a limit is not a positive safe integer.
 */
export function configure(options: FilesRouteOptions): Config {
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

  const signal = options.signal;
  if (
    signal !== undefined &&
    (typeof signal?.aborted !== "boolean" ||
      typeof signal.addEventListener !== "function")
  ) {
    throw new TypeError(
      "Cannot create the files route: signal must be an AbortSignal",
    );
  }

  const resources = options.resources ?? [DEFAULT_RESOURCE];
  if (
    !Array.isArray(resources) ||
    !resources.every((value) => typeof value === "string")
  ) {
    throw new TypeError(
      "Cannot create the files route: resources must be an array of strings",
    );
  }
  if (resources.length === 0 || resources.includes("")) {
    throw new TypeError(
      "Cannot create the files route: resources must name at least one resource, each a non-empty string",
    );
  }

  if (options.manage !== undefined && typeof options.manage !== "function") {
    throw new TypeError(
      "Cannot create the files route: manage must be a function",
    );
  }
  if (
    options.onUploaded !== undefined && presigned &&
    typeof (storage as PresignedStorage).confirm !== "function"
  ) {
    throw new TypeError(
      "Cannot create the files route: onUploaded needs a presigned storage with confirm, to know when an upload arrived",
    );
  }
  const { downloadTtl, maxDownloadTtl } = downloadTtls(options);
  const { lifetime, maxLifetime } = lifetimes(options);

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
    downloadTtl,
    partSize: positive(options.partSize ?? 8 * 1024 ** 2, "partSize"),
    minPartSize: positive(options.minPartSize ?? 5 * 1024 ** 2, "minPartSize"),
    multipartTtl: positive(options.multipartTtl ?? 86400, "multipartTtl"),
    multipart: storage.multipart,
    cors,
    onUploaded: options.onUploaded,
    bodyTimeout: positive(options.bodyTimeout ?? 30_000, "bodyTimeout"),
    signal,
    lifetime,
    maxLifetime,
    maxDownloadTtl,
    manage: options.manage,
    managed: apiKeys !== undefined || options.manage !== undefined,
    now: options.now ?? Date.now,
    signer,
  };
}
