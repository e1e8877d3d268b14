/**
 * Helpers for the route tests: an app with the files route mounted at `/v1`,
 * a storage wrapper that records every call, and servers on loopback for the
 * runtime the tests run on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type ByteRange,
  filesRoute,
  type FilesRouteOptions,
  type ListOptions,
  memoryStorage,
  type Storage,
  type StorageMultipart,
  type StoredFile,
} from "../src/hono/mod.ts";

/** A secret of exactly 32 bytes. */
export const SECRET = "0123456789abcdef0123456789abcdef";
/** The API key the test apps accept. */
export const API_KEY = "test-api-key";

/** A storage that records every call made to it. */
export interface RecordingStorage extends Storage {
  /**
   * `"put key"`, `"stat key"`, `"read key"`, `"delete key"`, `"list
   * cursor"`, in order.
   */
  calls: string[];
  /** Keys whose `put` resolved. */
  completed: string[];
}

/**
 * Wraps a storage and records what the route asks of it.
 *
 * @param inner The real storage.
 * @returns The wrapper.
 */
export function recording(inner: Storage): RecordingStorage {
  const calls: string[] = [];
  const completed: string[] = [];
  const blob = inner.blob?.bind(inner);
  return {
    calls,
    completed,
    ...(blob === undefined ? {} : {
      blob(key: string, range?: ByteRange) {
        calls.push(`read ${key}`);
        return blob(key, range);
      },
    }),
    async put(key, body, info) {
      calls.push(`put ${key}`);
      const file = await inner.put(key, body, info);
      completed.push(key);
      return file;
    },
    stat(key) {
      calls.push(`stat ${key}`);
      return inner.stat(key);
    },
    read(key, range) {
      calls.push(`read ${key}`);
      return inner.read(key, range);
    },
    delete(key) {
      calls.push(`delete ${key}`);
      return inner.delete(key);
    },
    ...(inner.list === undefined ? {} : {
      list(options: ListOptions) {
        calls.push(`list ${options.cursor ?? ""}`);
        return inner.list!(options);
      },
    }),
    ...(inner.multipart === undefined ? {} : {
      multipart: recordingMultipart(inner.multipart, calls, completed),
    }),
  };
}

function recordingMultipart(
  inner: StorageMultipart,
  calls: string[],
  completed: string[],
): StorageMultipart {
  return {
    limits: inner.limits,
    create(key, info) {
      calls.push(`create ${key}`);
      return inner.create(key, info);
    },
    put(key, uploadId, part, body) {
      calls.push(`put ${key} part ${part.number}`);
      return inner.put(key, uploadId, part, body);
    },
    list(key, uploadId) {
      calls.push(`list ${key}`);
      return inner.list(key, uploadId);
    },
    ...(inner.exists === undefined ? {} : {
      exists(key: string, uploadId: string) {
        calls.push(`exists ${key}`);
        return inner.exists!(key, uploadId);
      },
    }),
    async complete(key, uploadId, parts, info) {
      calls.push(`complete ${key}`);
      const file = await inner.complete(key, uploadId, parts, info);
      completed.push(key);
      return file;
    },
    abort(key, uploadId) {
      calls.push(`abort ${key}`);
      return inner.abort(key, uploadId);
    },
  };
}

/** An app with the route at `/v1`, and what it stores. */
export interface TestApp {
  app: Hono;
  storage: RecordingStorage;
  /** Every file `onUploaded` was called with. */
  uploaded: StoredFile[];
}

/**
 * Mounts the route at `/v1` over a recording memory storage.
 *
 * @param options Options to override; `storage` replaces the inner storage.
 * @returns The app and its storage.
 */
export function makeApp(options: Partial<FilesRouteOptions> = {}): TestApp {
  const storage = recording((options.storage as Storage) ?? memoryStorage());
  const uploaded: StoredFile[] = [];
  const app = new Hono();
  app.route(
    "/v1",
    filesRoute({
      secret: SECRET,
      apiKeys: [API_KEY],
      onUploaded: (file) => {
        uploaded.push(file);
      },
      ...options,
      storage,
    }),
  );
  return { app, storage, uploaded };
}

/** The body of `POST /files/urls` most tests start from. */
export const HELLO = {
  name: "hello.txt",
  size: 5,
  resource: "prediction",
  mime_type: "text/plain",
};

/**
 * Sends `POST /v1/files/urls` with the test API key.
 *
 * @param app The app.
 * @param body The JSON body, or a string sent as it is.
 * @param headers Headers to add or override.
 * @returns The answer.
 */
export function postUrls(
  app: Hono,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(app.request("http://localhost/v1/files/urls", {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }));
}

/** The URLs of a created file. */
export interface Created {
  upload_url: string;
  download_url: string;
  expires_at: string;
  /** The file id, read from the upload URL. */
  id: string;
}

/**
 * Creates URLs and fails the test unless the route answers 201.
 *
 * @param app The app.
 * @param body The create body.
 * @returns The URLs and the id.
 */
export async function create(
  app: Hono,
  body: Record<string, unknown> = HELLO,
): Promise<Created> {
  const res = await postUrls(app, body);
  if (res.status !== 201) {
    throw new Error(`Cannot create URLs: ${res.status} ${await res.text()}`);
  }
  const json = await res.json();
  return { ...json, id: new URL(json.upload_url).pathname.split("/")[3] };
}

/**
 * Sends `PUT` with an exact `Content-Length` and the given type.
 *
 * @param app The app.
 * @param url The upload URL.
 * @param body The bytes.
 * @param headers Headers to add or override.
 * @returns The answer.
 */
export function put(
  app: Hono,
  url: string,
  body: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const length = typeof body === "string"
    ? new TextEncoder().encode(body).byteLength
    : body instanceof Uint8Array
    ? body.byteLength
    : undefined;
  return Promise.resolve(app.request(url, {
    method: "PUT",
    headers: {
      "content-type": "text/plain",
      ...(length === undefined ? {} : { "content-length": String(length) }),
      ...headers,
    },
    body,
    duplex: "half",
  } as RequestInit));
}

/**
 * Reads a JSON error answer.
 *
 * @param res The answer.
 * @returns `[status, type, message]`.
 */
export async function errorOf(
  res: Response,
): Promise<[number, string, string]> {
  const json = await res.json();
  return [res.status, json.error.type, json.error.message];
}

/** The UTF-8 bytes of a text. */
export function bytes(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/**
 * Shows that the route stored nothing for `id` and never tried to.
 *
 * @param t The app.
 * @param id A file id to look up in the storage.
 */
export async function assertNothingStored(
  t: TestApp,
  id?: string,
): Promise<void> {
  assert.deepEqual(t.storage.completed, []);
  assert.deepEqual(t.uploaded, []);
  if (id !== undefined) assert.equal(await t.storage.stat(id), undefined);
}

/**
 * Shows that no call reached the storage at all.
 *
 * @param t The app.
 */
export function assertStorageUntouched(t: TestApp): void {
  assert.deepEqual(t.storage.calls, []);
  assert.deepEqual(t.storage.completed, []);
}
