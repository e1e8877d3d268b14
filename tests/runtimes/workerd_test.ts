import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Hono } from "hono";
import { filesRoute, memoryStorage } from "../../src/hono/mod.ts";
import { type FakeApi, startApi } from "../_api.ts";
import { serveApp, type Served } from "../_serve.ts";
import {
  type ClientWorker,
  startWorkerd,
  type Workerd,
  WORKERD_API_KEY,
} from "./_workerd.ts";
import { bytes } from "../_data.ts";
import { type RouteApi, startRouteApi } from "../_route_api.ts";

// miniflare runs on Deno, Bun and Node 22 or later.
const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = !("Deno" in globalThis) && !("Bun" in globalThis) &&
    nodeMajor < 22
  ? "miniflare needs Node 22 or later"
  : false;

const KINDS = ["blob", "file", "bytes", "buffer", "stream", "iterable"];
/** A part size small enough for files of a few parts. */
const PART = 64 * 1024;
const WORKERS: ClientWorker[] = ["client", "client-node"];

let workerd: Workerd;
before(async () => {
  if (!skip) workerd = await startWorkerd();
});
after(async () => {
  await workerd?.close();
});

/** Uploads from a client worker and downloads from outside workerd. */
async function roundTrip(
  worker: ClientWorker,
  baseUrl: string,
  kind: string,
  data: Uint8Array,
  partSize?: number,
): Promise<void> {
  const name = `${kind}-${data.length}.bin`;
  const answer = await workerd.upload(
    worker,
    baseUrl,
    kind,
    data,
    name,
    partSize,
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.error));
  const total = data.length;
  const counts = (p?: { loaded: number; total?: number }) => [
    p?.loaded,
    p?.total,
  ];
  const stream = kind === "stream" || kind === "iterable";
  const inParts = partSize !== undefined && total > partSize;
  // A stream's size is unknown until its end, when it goes in parts.
  assert.deepEqual(counts(answer.progress?.at(0)), [
    0,
    stream && inParts ? undefined : total,
  ]);
  assert.deepEqual(counts(answer.progress?.at(-1)), [total, total]);
  const download = await fetch(answer.url!);
  assert.equal(download.status, 200);
  assert.equal(
    download.headers.get("content-type"),
    "application/octet-stream",
  );
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), data);
}

describe("the client in workerd", { skip }, () => {
  for (const worker of WORKERS) {
    const flags = worker === "client" ? "" : " with nodejs_compat";
    test(`uploads every kind of content to the route in workerd${flags}, and the downloads match`, async () => {
      for (const kind of KINDS) {
        for (const size of [0, 1, 150_000]) {
          await roundTrip(worker, `${workerd.routeUrl}/v1`, kind, bytes(size));
        }
      }
    });
  }

  for (const worker of WORKERS) {
    const flags = worker === "client" ? "" : " with nodejs_compat";
    test(`uploads every kind of content in parts to the route in workerd${flags}, and the downloads match`, async () => {
      for (const kind of KINDS) {
        await roundTrip(
          worker,
          `${workerd.routeUrl}/v1`,
          kind,
          bytes(PART * 3 + 1, 5),
          PART,
        );
      }
    });
  }

  describe("uploading to the route served outside workerd", () => {
    let served: Served;
    before(async () => {
      served = await serveApp(
        new Hono().route(
          "/v1",
          filesRoute({
            storage: memoryStorage(),
            secret: "outside-secret-0123456789abcdef-0123456789",
            apiKeys: [WORKERD_API_KEY],
          }),
        ),
      );
    });
    after(async () => {
      await served?.close();
    });

    for (const worker of WORKERS) {
      const flags = worker === "client" ? "" : " with nodejs_compat";
      test(`uploads every kind of content${flags}, and the downloads match`, async () => {
        for (const kind of KINDS) {
          for (const size of [0, 70_000]) {
            await roundTrip(worker, `${served.url}/v1`, kind, bytes(size, 3));
          }
        }
      });
    }
  });

  describe("on the wire, in parts", () => {
    let api: RouteApi;
    before(async () => {
      // maxSize small enough that a stream's parts stay PART bytes.
      api = await startRouteApi({
        maxSize: PART * 10_000,
        apiKeys: [WORKERD_API_KEY],
      });
    });
    after(async () => {
      await api?.close();
    });

    for (const worker of WORKERS) {
      const flags = worker === "client" ? "" : " with nodejs_compat";
      test(`sends every part with an exact Content-Length and never Transfer-Encoding${flags}`, async () => {
        for (const kind of KINDS) {
          const data = bytes(PART * 2 + 7, 9);
          const before = api.parts().length;
          const answer = await workerd.upload(
            worker,
            api.baseUrl,
            kind,
            data,
            `${kind}.bin`,
            PART,
          );
          assert.equal(answer.status, 200, JSON.stringify(answer.error));
          const parts = api.parts().slice(before);
          assert.deepEqual(
            parts.map((p) => p.body.byteLength).sort((a, b) => a - b),
            [7, PART, PART],
            kind,
          );
          for (const part of parts) {
            assert.equal(part.chunked, false, kind);
            assert.equal(
              part.headers["content-length"],
              String(part.body.byteLength),
            );
            assert.equal(part.headers["transfer-encoding"], undefined);
          }
          const got = await api.app.request(answer.url!);
          assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
        }
      });
    }
  });

  describe("on the wire", () => {
    let api: FakeApi;
    before(async () => {
      api = await startApi();
    });
    after(async () => {
      await api?.close();
    });

    for (const worker of WORKERS) {
      const flags = worker === "client" ? "" : " with nodejs_compat";
      test(`sends an exact Content-Length and never Transfer-Encoding${flags}, zero bytes included`, async () => {
        for (const kind of KINDS) {
          for (const size of [0, 1, 100_000]) {
            const data = bytes(size, size + 1);
            const name = `${kind}.csv`;
            const before = api.uploads().length;
            const answer = await workerd.upload(
              worker,
              api.baseUrl,
              kind,
              data,
              name,
            );
            assert.equal(answer.status, 200, JSON.stringify(answer.error));
            const uploads = api.uploads().slice(before);
            assert.equal(uploads.length, 1);
            const [put] = uploads;
            const what = `${kind} of ${size} bytes`;
            assert.equal(put.headers["content-length"], String(size), what);
            assert.equal(put.chunked, false, what);
            assert.equal(
              put.rawHeaders.find(([h]) =>
                h.toLowerCase() === "transfer-encoding"
              ),
              undefined,
              what,
            );
            assert.equal(put.headers["content-type"], "text/csv", what);
            assert.deepEqual(put.body, data, what);
            const create = JSON.parse(
              new TextDecoder().decode(api.creates().at(-1)!.body),
            );
            assert.deepEqual(create, {
              name,
              size,
              resource: "prediction",
              mime_type: "text/csv",
            });
          }
        }
      });
    }
  });

  test("refuses a file path with a TypeError that says to pass a Blob or bytes", async () => {
    for (const worker of WORKERS) {
      const path = new TextEncoder().encode("/etc/hostname");
      const api = await startApi();
      try {
        const answer = await workerd.upload(
          worker,
          api.baseUrl,
          "path",
          path,
          "",
        );
        assert.equal(answer.status, 500);
        assert.deepEqual(answer.error, {
          name: "TypeError",
          message:
            'Cannot upload "hostname": file paths need a file system, which this runtime lacks; pass a Blob or bytes',
        });
        assert.equal(api.requests.length, 0);
      } finally {
        await api.close();
      }
    }
  });
});
