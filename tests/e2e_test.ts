/**
 * End to end: the client uploads every kind of input to `filesRoute` served on
 * loopback by the runtime's own server (`Deno.serve`, `Bun.serve`,
 * `@hono/node-server`), over memory and fs storage, and the downloads match.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { ApiError, Client, type UploadProgress } from "../mod.ts";
import {
  filesRoute,
  type FilesRouteOptions,
  fsStorage,
  memoryStorage,
  type Storage,
} from "../src/hono/mod.ts";
import { serveApp } from "./_serve.ts";
import { API_KEY, recording, type RecordingStorage, SECRET } from "./_route.ts";
import { randomBytes, sha256 } from "./_data.ts";
import { INPUT_KINDS, type InputKind } from "./_inputs.ts";

const MiB = 1024 * 1024;

/** `inline` or `attachment`, and the name from `filename*`. */
function parseDisposition(header: string | null): [string, string] {
  assert.ok(header, "Content-Disposition is missing");
  const match = /^(inline|attachment);.*filename\*=UTF-8''([^;]+)$/.exec(
    header,
  );
  assert.ok(match, `Content-Disposition ${header} has no filename*`);
  return [match[1], decodeURIComponent(match[2])];
}

/** The route served on loopback, and what reached it. */
interface Server {
  baseUrl: string;
  storage: RecordingStorage;
  /** `"METHOD /path"` of every request the server received, in order. */
  requests: string[];
  client(apiKey?: string): Client;
  close(): Promise<void>;
}

async function startServer(
  storage: Storage,
  options: Partial<FilesRouteOptions> = {},
): Promise<Server> {
  const recorded = recording(storage);
  const requests: string[] = [];
  const app = new Hono();
  app.use("*", async (c, next) => {
    requests.push(`${c.req.method} ${new URL(c.req.url).pathname}`);
    await next();
  });
  app.route(
    "/v1",
    filesRoute({
      secret: SECRET,
      apiKeys: [API_KEY],
      ...options,
      storage: recorded,
    }),
  );
  const served = await serveApp(app);
  const baseUrl = `${served.url}/v1`;
  return {
    baseUrl,
    storage: recorded,
    requests,
    client: (apiKey = API_KEY) =>
      new Client({ baseUrl, apiKey, maxRetries: 0 }),
    close: () => served.close(),
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-e2e-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A kind of input at a size, and the options it is uploaded with. */
interface Case extends InputKind {
  size: number;
  mimeType?: string;
}

/** Every kind of input at 300 KB, zero bytes, and a 20 MiB file. */
const CASES: Case[] = [
  ...INPUT_KINDS.map((kind) => ({ ...kind, size: 300_000 })),
  {
    label: "zero bytes",
    size: 0,
    make: (d) => d,
    name: "empty.txt",
    expectName: "empty.txt",
    expectType: "text/plain",
    expectDisposition: "inline",
  },
  {
    label: "a 20 MiB file",
    size: 20 * MiB,
    make: async (d, dir) => {
      const path = join(dir, "big.bin");
      await writeFile(path, d);
      return path;
    },
    mimeType: "video/mp4",
    expectName: "big.bin",
    expectType: "video/mp4",
    expectDisposition: "inline",
  },
];

const STORAGES: [string, () => Promise<Storage>][] = [
  ["memoryStorage()", () => Promise.resolve(memoryStorage())],
  [
    "fsStorage()",
    async () => fsStorage({ dir: await mkdtemp(join(dir, "storage-")) }),
  ],
];

for (const [storageLabel, makeStorage] of STORAGES) {
  describe(`Client.files.upload() to filesRoute with ${storageLabel} on loopback`, () => {
    let server: Server;
    before(async () => {
      server = await startServer(await makeStorage());
    });
    after(async () => {
      await server.close();
    });

    test("a download carries the exact Content-Length, as does HEAD", async () => {
      const data = randomBytes(300_000);
      const url = await server.client().files.upload(data, "prediction", {
        name: "data.bin",
      });
      const head = await fetch(url, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "300000");
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), "300000");
      assert.equal(await sha256(await res.arrayBuffer()), await sha256(data));
    });

    for (const kind of CASES) {
      for (const withProgress of [false, true]) {
        test(
          `${kind.label} ${
            withProgress ? "with" : "without"
          } onProgress downloads with the same SHA-256, type and name`,
          async () => {
            const data = randomBytes(kind.size);
            const progress: UploadProgress[] = [];
            const url = await server.client().files.upload(
              await kind.make(data, dir),
              "prediction",
              {
                name: kind.name,
                mimeType: kind.mimeType,
                onProgress: withProgress
                  ? (p) => progress.push({ ...p })
                  : undefined,
              },
            );
            assert.ok(url.startsWith(`${server.baseUrl}/files/`), url);

            const res = await fetch(url);
            assert.equal(res.status, 200);
            const body = await res.arrayBuffer();
            assert.equal(body.byteLength, kind.size);
            assert.equal(await sha256(body), await sha256(data));
            assert.equal(res.headers.get("content-type"), kind.expectType);
            assert.deepEqual(
              parseDisposition(res.headers.get("content-disposition")),
              [kind.expectDisposition, kind.expectName],
            );

            if (withProgress) {
              // Large files go in parts, whose events also carry the upload.
              const counts = ({ loaded, total }: UploadProgress) => ({
                loaded,
                total,
              });
              assert.deepEqual(counts(progress[0]), {
                loaded: 0,
                total: kind.size,
              });
              assert.deepEqual(counts(progress.at(-1)!), {
                loaded: kind.size,
                total: kind.size,
              });
              for (let i = 1; i < progress.length; i++) {
                assert.ok(progress[i].loaded >= progress[i - 1].loaded);
                assert.equal(progress[i].total, kind.size);
              }
            }
          },
        );
      }
    }
  });
}

describe("Client errors from filesRoute on loopback", () => {
  test("a wrong API key is an ApiError 401 with the route's message, and nothing is stored", async () => {
    const server = await startServer(memoryStorage());
    try {
      const error = await server.client("wrong-key").files.upload(
        new File(["hello"], "hello.txt"),
        "prediction",
      ).then(() => undefined, (e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.type, "authentication_error");
      assert.equal(
        error.message,
        'Cannot upload "hello.txt": server responded with 401: Cannot create file URLs: the API key is not valid',
      );
      assert.deepEqual(server.requests, ["POST /v1/files/urls"]);
      assert.deepEqual(server.storage.calls, []);
    } finally {
      await server.close();
    }
  });

  test("a file over maxSize is an ApiError 413 before any byte is sent", async () => {
    const storageDir = await mkdtemp(join(dir, "limit-"));
    const server = await startServer(fsStorage({ dir: storageDir }), {
      maxSize: 1000,
    });
    try {
      const error = await server.client().files.upload(
        randomBytes(1001),
        "prediction",
        { name: "big.bin" },
      ).then(() => undefined, (e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 413);
      assert.equal(error.type, "too_large");
      assert.match(error.message, /size 1001 is over the limit of 1000 bytes/);
      assert.deepEqual(server.requests, ["POST /v1/files/urls"]);
      assert.deepEqual(server.storage.calls, []);
      assert.deepEqual(await readdir(storageDir), []);

      // At the limit it goes through.
      await server.client().files.upload(randomBytes(1000), "prediction", {
        name: "ok.bin",
      });
      assert.equal(server.storage.completed.length, 1);
    } finally {
      await server.close();
    }
  });

  test("a type outside allowedTypes is an ApiError 415, and nothing is stored", async () => {
    const server = await startServer(memoryStorage(), {
      allowedTypes: ["image/*"],
    });
    try {
      const error = await server.client().files.upload(
        new File(["%PDF-1.7"], "report.pdf"),
        "prediction",
      ).then(() => undefined, (e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 415);
      assert.equal(error.type, "unsupported_media_type");
      assert.match(error.message, /"application\/pdf" is not allowed/);
      assert.deepEqual(server.requests, ["POST /v1/files/urls"]);
      assert.deepEqual(server.storage.calls, []);
    } finally {
      await server.close();
    }
  });

  test("a download URL answers 403 once it expired", async () => {
    let now = Date.UTC(2030, 0, 1);
    const server = await startServer(memoryStorage(), {
      downloadTtl: 60,
      now: () => now,
    });
    try {
      const url = await server.client().files.upload(
        new File(["hello"], "hello.txt"),
        "prediction",
      );
      now += 59_000;
      const fresh = await fetch(url);
      assert.equal(fresh.status, 200);
      assert.equal(await fresh.text(), "hello");

      now += 1_000;
      const expired = await fetch(url);
      assert.equal(expired.status, 403);
      const body = await expired.json();
      assert.equal(body.error.type, "permission_denied");
      assert.equal(
        body.error.message,
        "Cannot download: the URL expired at 2030-01-01T00:01:00.000Z",
      );
    } finally {
      await server.close();
    }
  });
});
