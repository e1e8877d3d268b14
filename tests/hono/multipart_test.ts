/**
 * Multipart uploads through `filesRoute`: `POST /files/uploads`, the
 * capability URL (status, part URLs, completion, abort) and part URLs, with
 * every bad input answered by its exact status and nothing made visible.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import {
  filesRoute,
  fsStorage,
  memoryStorage,
  type Storage,
} from "../../src/hono/mod.ts";
import type { MultipartUpload } from "../../src/api.ts";
import { bytes as seeded } from "../_data.ts";
import { API_KEY, errorOf, makeApp, SECRET, type TestApp } from "../_route.ts";

const PART = 1000;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-route-multipart-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    data as Uint8Array<ArrayBuffer>,
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function sub(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname += `/${name}`;
  return parsed.href;
}

type App = Pick<Hono, "request">;

function start(
  app: App,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
): Promise<Response> {
  return Promise.resolve(app.request("http://localhost/v1/files/uploads", {
    method: "POST",
    headers,
    body: JSON.stringify({
      name: "big.bin",
      size: PART * 2 + 500,
      resource: "prediction",
      mime_type: "application/octet-stream",
      part_size: PART,
      ...body,
    }),
  }));
}

async function started(app: App, body?: Record<string, unknown>) {
  const res = await start(app, body);
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json() as MultipartUpload;
}

interface Part {
  number: number;
  size: number;
  sha256: string;
}

async function partsOf(data: Uint8Array, size = PART): Promise<Part[]> {
  const parts: Part[] = [];
  for (let i = 0; i * size < data.length; i++) {
    const chunk = data.subarray(i * size, (i + 1) * size);
    parts.push({
      number: i + 1,
      size: chunk.length,
      sha256: await sha256(chunk),
    });
  }
  return parts;
}

function sign(app: App, upload: string, parts: unknown[]): Promise<Response> {
  return Promise.resolve(app.request(sub(upload, "parts"), {
    method: "POST",
    body: JSON.stringify({ parts }),
  }));
}

async function signed(app: App, upload: string, parts: Part[]) {
  const res = await sign(app, upload, parts);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).parts as {
    number: number;
    url: string;
    headers: Record<string, string>;
  }[];
}

function putPart(
  app: App,
  url: string,
  body: Uint8Array,
  length = String(body.length),
): Promise<Response> {
  return Promise.resolve(app.request(url, {
    method: "PUT",
    headers: { "content-length": length },
    body: body as Uint8Array<ArrayBuffer>,
  }));
}

/** Starts an upload of `data` and sends every part. */
async function sendAll(app: App, data: Uint8Array) {
  const upload = await started(app, { size: data.length });
  const parts = await partsOf(data);
  const urls = await signed(app, upload.upload_url, parts);
  for (const [i, part] of parts.entries()) {
    const chunk = data.subarray(i * PART, i * PART + part.size);
    const res = await putPart(app, urls[i].url, chunk);
    assert.equal(res.status, 200, await res.clone().text());
  }
  return { upload, parts };
}

function complete(
  app: App,
  upload: string,
  parts: unknown[],
): Promise<Response> {
  return Promise.resolve(app.request(sub(upload, "complete"), {
    method: "POST",
    body: JSON.stringify({ parts }),
  }));
}

async function listed(app: App, upload: string): Promise<Part[]> {
  const res = await app.request(upload);
  assert.equal(res.status, 200);
  return (await res.json()).parts;
}

function routeApp(options = {}): TestApp {
  return makeApp({ minPartSize: 1, ...options });
}

describe("POST /files/uploads", () => {
  test("answers 201 with the capability URL, part size, max parts and expiry", async () => {
    const t = routeApp({ now: () => Date.UTC(2030, 0, 1) });
    const upload = await started(t.app);
    assert.match(upload.id, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(
      upload.upload_url.startsWith(
        `http://localhost/v1/files/uploads/${upload.id}?`,
      ),
    );
    assert.ok(
      upload.download_url.startsWith(
        `http://localhost/v1/files/${upload.id}/big.bin?`,
      ),
    );
    assert.equal(upload.part_size, PART);
    // 2,500 bytes in parts of 1,000.
    assert.equal(upload.max_parts, 3);
    assert.equal(upload.expires_at, "2030-01-02T00:00:00.000Z");
    // What the upload was made for, as declared.
    assert.equal(upload.name, "big.bin");
    assert.equal(upload.size, PART * 2 + 500);
    assert.equal(upload.mime_type, "application/octet-stream");
    assert.deepEqual(t.storage.calls, [`create ${upload.id}`]);
    // Nothing is visible until completion.
    assert.equal((await t.app.request(upload.download_url)).status, 404);
  });

  test("checks the caller and the file as POST /files/urls does, and stores nothing", async () => {
    const t = routeApp({ maxSize: 10_000, allowedTypes: ["application/*"] });
    const cases: [Response, number, string][] = [
      [await start(t.app, {}, {}), 401, "authentication_error"],
      [
        await start(t.app, {}, { authorization: "Bearer nope" }),
        401,
        "authentication_error",
      ],
      [await start(t.app, { name: "a/b" }), 400, "invalid_request"],
      [await start(t.app, { size: -1 }), 400, "invalid_request"],
      [await start(t.app, { size: "1" }), 400, "invalid_request"],
      [await start(t.app, { part_size: 0 }), 400, "invalid_request"],
      [await start(t.app, { resource: "other" }), 400, "invalid_request"],
      [await start(t.app, { size: 0 }), 400, "invalid_request"],
      [await start(t.app, { size: 10_001 }), 413, "too_large"],
      [
        await start(t.app, { mime_type: "text/plain" }),
        415,
        "unsupported_media_type",
      ],
    ];
    for (const [res, status, type] of cases) {
      assert.deepEqual((await errorOf(res)).slice(0, 2), [status, type]);
    }
    assert.deepEqual(t.storage.calls, []);
  });

  test("asks authorize, with maxSize as the size of an upload of unknown size", async () => {
    const seen: number[] = [];
    const t = routeApp({
      maxSize: 5_000_000,
      authorize: (_c: unknown, params: { size: number }) => {
        seen.push(params.size);
        return params.size < 1_000_000;
      },
    });
    assert.equal((await start(t.app, { size: 10 })).status, 201);
    const denied = await start(t.app, { size: null });
    assert.deepEqual((await errorOf(denied)).slice(0, 2), [
      403,
      "permission_denied",
    ]);
    assert.deepEqual(seen, [10, 5_000_000]);
  });

  test("chooses the part size: within minPartSize, raised to fit 10,000 parts", async () => {
    const t = makeApp({ minPartSize: 5000, partSize: 7000, maxSize: 10 ** 9 });
    assert.equal((await started(t.app, { part_size: 10 })).part_size, 5000);
    assert.equal(
      (await started(t.app, { part_size: undefined })).part_size,
      7000,
    );
    assert.equal(
      (await started(t.app, { size: 10 ** 9, part_size: 5000 })).part_size,
      100_000,
    );
    // Of unknown size, it fits the largest file the route takes.
    assert.equal(
      (await started(t.app, { size: null, part_size: 5000 })).part_size,
      100_000,
    );
  });

  test("answers 404 where the storage offers no multipart uploads", async () => {
    const plain: Storage = { ...memoryStorage() };
    delete plain.multipart;
    const t = makeApp({ storage: plain });
    assert.deepEqual((await errorOf(await start(t.app))).slice(0, 2), [
      404,
      "not_found",
    ]);
  });
});

describe("part URLs", () => {
  test("are signed for each part's exact size; other sizes, numbers and digests answer 400", async () => {
    const t = routeApp();
    const upload = await started(t.app); // 2,500 bytes: 1000, 1000, 500.
    const sha = await sha256(new Uint8Array(3));
    const bad: unknown[] = [
      { number: 1, size: 999, sha256: sha },
      { number: 3, size: 1000, sha256: sha },
      { number: 4, size: 1, sha256: sha },
      { number: 0, size: 1000, sha256: sha },
      { number: 10_001, size: 1000, sha256: sha },
      { number: 1.5, size: 1000, sha256: sha },
      { number: 1, size: 1000, sha256: "abc" },
      { number: 1, size: 1000 },
    ];
    for (const part of bad) {
      const res = await sign(t.app, upload.upload_url, [part]);
      assert.deepEqual(
        (await errorOf(res)).slice(0, 2),
        [400, "invalid_request"],
        JSON.stringify(part),
      );
    }
    const many = Array.from({ length: 101 }, () => ({
      number: 1,
      size: 1000,
      sha256: sha,
    }));
    assert.equal((await sign(t.app, upload.upload_url, many)).status, 400);
    assert.equal((await sign(t.app, upload.upload_url, [])).status, 400);
    // Each says what is wrong.
    const [, , short] = await errorOf(
      await sign(t.app, upload.upload_url, [bad[0]]),
    );
    assert.match(short, /: part 1 must have 1000 bytes, got 999$/);
    const [, , past] = await errorOf(
      await sign(t.app, upload.upload_url, [bad[2]]),
    );
    assert.match(
      past,
      /: part 4 is past the end of the file, which has 3 parts$/,
    );
    const urls = await signed(t.app, upload.upload_url, [
      { number: 3, size: 500, sha256: sha },
    ]);
    assert.deepEqual(urls[0].headers, { "content-length": "500" });
    assert.deepEqual(await listed(t.app, upload.upload_url), []);
  });

  test("take a part only with exactly its signed size and SHA-256", async () => {
    const t = routeApp();
    const data = seeded(2500, 3);
    const upload = await started(t.app);
    const parts = await partsOf(data);
    const [url] = await signed(t.app, upload.upload_url, [parts[0]]);
    const first = data.subarray(0, PART);
    const wrong = first.slice();
    wrong[10] ^= 1;
    const cases: [Response, number][] = [
      [await putPart(t.app, url.url, first, "999"), 400],
      [await putPart(t.app, url.url, first, "1001"), 413],
      [await putPart(t.app, url.url, first.subarray(0, 999), "999"), 400],
      [await putPart(t.app, url.url, wrong), 400],
    ];
    for (const [res, status] of cases) {
      assert.equal((await errorOf(res))[0], status);
    }
    assert.deepEqual(await listed(t.app, upload.upload_url), []);
    const ok = await putPart(t.app, url.url, first);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), parts[0]);
    assert.deepEqual(await listed(t.app, upload.upload_url), [parts[0]]);
  });

  test("a tampered or expired part URL answers 403 and stores nothing", async () => {
    let now = Date.UTC(2030, 0, 1);
    const t = routeApp({ now: () => now, uploadTtl: 60 });
    const data = seeded(2500, 4);
    const upload = await started(t.app);
    const parts = await partsOf(data);
    const [url] = await signed(t.app, upload.upload_url, [parts[0]]);
    const chunk = data.subarray(0, PART);
    for (
      const [field, value] of [
        ["size", "999"],
        ["sha256", parts[1].sha256],
        ["upload_id", "x"],
        ["sig", "A".repeat(43)],
      ]
    ) {
      const tampered = new URL(url.url);
      tampered.searchParams.set(field, value);
      const res = await putPart(t.app, tampered.href, chunk);
      assert.deepEqual((await errorOf(res)).slice(0, 2), [
        403,
        "permission_denied",
      ]);
    }
    const other = url.url.replace("/parts/1?", "/parts/2?");
    assert.equal((await putPart(t.app, other, chunk)).status, 403);
    now += 61_000;
    const late = await putPart(t.app, url.url, chunk);
    assert.match((await errorOf(late))[2], /expired/);
    assert.deepEqual(await listed(t.app, upload.upload_url), []);
  });

  test("a part sent again replaces the first one", async () => {
    const t = routeApp();
    const upload = await started(t.app);
    const a = seeded(PART, 5);
    const b = seeded(PART, 6);
    for (const data of [a, b]) {
      const [part] = await partsOf(data);
      const [url] = await signed(t.app, upload.upload_url, [part]);
      assert.equal((await putPart(t.app, url.url, data)).status, 200);
    }
    assert.deepEqual(await listed(t.app, upload.upload_url), await partsOf(b));
  });
});

/**
 * Starts a part `PUT` whose body brings half of `bytes`, then nothing, and
 * waits until the route is reading it.
 *
 * @returns `finish()`, which sends the rest and gives the answer.
 */
async function heldPut(app: App, url: string, bytes: Uint8Array) {
  let held!: ReadableStreamDefaultController<Uint8Array>;
  const half = Math.floor(bytes.length / 2);
  const answer = Promise.resolve(app.request(url, {
    method: "PUT",
    headers: { "content-length": String(bytes.length) },
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        held = controller;
        controller.enqueue(bytes.slice(0, half));
      },
    }),
    duplex: "half",
  } as RequestInit));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    finish(): Promise<Response> {
      held.enqueue(bytes.slice(half));
      held.close();
      return answer;
    },
  };
}

describe("a part being written", () => {
  test("another PUT of it answers 409 with Retry-After: the route's bodyTimeout", async () => {
    const t = routeApp({
      storage: fsStorage({ dir: join(dir, "held") }),
      bodyTimeout: 2500,
    });
    const upload = await started(t.app);
    const data = seeded(PART, 7);
    const [part] = await partsOf(data);
    const [url] = await signed(t.app, upload.upload_url, [part]);
    const first = await heldPut(t.app, url.url, data.subarray(0, PART));
    const second = await putPart(t.app, url.url, data);
    assert.deepEqual((await errorOf(second)).slice(0, 2), [409, "conflict"]);
    assert.equal(second.headers.get("retry-after"), "3");
    assert.equal((await first.finish()).status, 200);
    assert.deepEqual(await listed(t.app, upload.upload_url), [part]);
  });

  test("a completion meanwhile answers 409 with Retry-After, and completes once the part is in", async () => {
    const t = routeApp({
      storage: fsStorage({ dir: join(dir, "held-complete") }),
      bodyTimeout: 2500,
    });
    const data = seeded(PART + 100, 9);
    const { upload, parts } = await sendAll(t.app, data);
    // Part 1 again, the same bytes: a request the client gave up on, still
    // arriving.
    const [url] = await signed(t.app, upload.upload_url, [parts[0]]);
    const again = await heldPut(t.app, url.url, data.subarray(0, PART));
    const list = parts.map(({ number, sha256 }) => ({ number, sha256 }));
    const refused = await complete(t.app, upload.upload_url, list);
    const [status, type, message] = await errorOf(refused);
    assert.deepEqual([status, type], [409, "conflict"]);
    assert.match(message, /another request is writing a part/);
    assert.equal(refused.headers.get("retry-after"), "3");
    assert.equal((await t.app.request(upload.download_url)).status, 404);
    assert.equal((await again.finish()).status, 200);
    assert.equal((await complete(t.app, upload.upload_url, list)).status, 201);
    const got = await t.app.request(upload.download_url);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
  });

  test("a lock left by a crashed process makes the 409 wait until it is taken over", async () => {
    const folder = join(dir, "crashed");
    const t = routeApp({
      storage: fsStorage({ dir: folder }),
      bodyTimeout: 2500,
    });
    const upload = await started(t.app);
    const data = seeded(PART, 8);
    const [part] = await partsOf(data);
    const [url] = await signed(t.app, upload.upload_url, [part]);
    // Last refreshed 20 s ago: stale, and taken over, 10 s from now.
    const [id] = await readdir(folder);
    const lock = join(folder, id, "parts", "1.lock");
    await writeFile(lock, "token");
    const then = new Date(Date.now() - 20_000);
    await utimes(lock, then, then);
    const res = await putPart(t.app, url.url, data);
    assert.deepEqual((await errorOf(res)).slice(0, 2), [409, "conflict"]);
    const wait = Number(res.headers.get("retry-after"));
    assert.ok(wait >= 10 && wait <= 11, `Retry-After: ${wait}`);
    const later = new Date(Date.now() - 40_000);
    await utimes(lock, later, later);
    assert.equal((await putPart(t.app, url.url, data)).status, 200);
  });
});

describe("completion", () => {
  test("makes the file visible at once, answers its composite SHA-256, and calls onUploaded once", async () => {
    const t = routeApp();
    const data = seeded(2500, 7);
    const { upload, parts } = await sendAll(t.app, data);
    assert.equal((await t.app.request(upload.download_url)).status, 404);
    assert.deepEqual(t.uploaded, []);
    const res = await complete(
      t.app,
      upload.upload_url,
      parts.map(({ number, sha256 }) => ({ number, sha256 })),
    );
    assert.equal(res.status, 201);
    const done = await res.json();
    const joined = new Uint8Array(96);
    parts.forEach((p, i) =>
      joined.set(
        Uint8Array.from(atob(p.sha256), (c) => c.charCodeAt(0)),
        i * 32,
      )
    );
    assert.equal(done.sha256, `${await sha256(joined)}-3`);
    assert.equal(done.size, 2500);
    assert.equal(done.id, upload.id);
    const got = await t.app.request(done.download_url);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    assert.equal(t.uploaded.length, 1);
    const status = await (await t.app.request(upload.upload_url)).json();
    assert.equal(status.state, "complete");
    assert.equal(status.sha256, done.sha256);
    assert.deepEqual(status.parts, []);
  });

  test("refuses a missing, unknown or changed part, or the wrong total, with 400, and shows nothing", async () => {
    const t = routeApp();
    const data = seeded(2500, 8);
    const { upload, parts } = await sendAll(t.app, data);
    const list = parts.map(({ number, sha256 }) => ({ number, sha256 }));
    const other = await sha256(new Uint8Array(1));
    const bad: unknown[][] = [
      [list[0], list[2]],
      [list[1], list[0], list[2]],
      [...list, { number: 4, sha256: other }],
      [list[0], { number: 2, sha256: other }, list[2]],
      [list[0], list[1]],
      [{ number: 1 }],
      [],
    ];
    for (const parts of bad) {
      const res = await complete(t.app, upload.upload_url, parts);
      assert.deepEqual(
        (await errorOf(res)).slice(0, 2),
        [400, "invalid_request"],
        JSON.stringify(parts),
      );
    }
    assert.equal((await t.app.request(upload.download_url)).status, 404);
    assert.deepEqual(t.uploaded, []);
  });

  test("refuses a short part before the last of an upload of unknown size", async () => {
    // maxSize small enough that the part size asked for fits 10,000 parts.
    const t = routeApp({ maxSize: PART * 10_000 });
    const upload = await started(t.app, { size: null });
    const short = seeded(600, 9);
    const last = seeded(300, 10);
    const parts = [
      { number: 1, size: 600, sha256: await sha256(short) },
      { number: 2, size: 300, sha256: await sha256(last) },
    ];
    const urls = await signed(t.app, upload.upload_url, parts);
    await putPart(t.app, urls[0].url, short);
    await putPart(t.app, urls[1].url, last);
    const res = await complete(t.app, upload.upload_url, parts);
    assert.match(
      (await errorOf(res))[2],
      /every part but the last must have 1000/,
    );
  });

  test("of unknown size, over maxSize, answers 413", async () => {
    const storage = memoryStorage();
    const t = routeApp({ maxSize: 1500, storage });
    const upload = await started(t.app, { size: null });
    assert.equal(upload.size, null);
    assert.equal(upload.max_parts, 2);
    const data = seeded(2000, 11);
    const parts = await partsOf(data);
    // No part URL reaches past maxSize: not part 2 of 1,000 bytes, nor a
    // part 3 of one byte.
    for (
      const part of [parts[1], { number: 3, size: 1, sha256: parts[1].sha256 }]
    ) {
      const res = await t.app.request(sub(upload.upload_url, "parts"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ parts: [part] }),
      });
      const [status, type, message] = await errorOf(res);
      assert.deepEqual([status, type], [413, "too_large"]);
      assert.match(message, new RegExp(`part ${part.number} would end at`));
    }
    // Up to maxSize, it goes; past it, completion refuses too (a route
    // restarted with a smaller maxSize, say).
    const within = await partsOf(data.subarray(0, 1500));
    const [first, second] = await signed(t.app, upload.upload_url, within);
    await putPart(t.app, first.url, data.subarray(0, PART));
    await putPart(t.app, second.url, data.subarray(PART, 1500));
    const smaller = routeApp({ maxSize: 1400, storage });
    const res = await complete(smaller.app, upload.upload_url, within);
    assert.deepEqual((await errorOf(res)).slice(0, 2), [413, "too_large"]);
    assert.deepEqual([...t.uploaded, ...smaller.uploaded], []);
    assert.equal((await t.app.request(upload.download_url)).status, 404);
  });

  test("twice answers 409; parts and abort afterwards answer 409 too", async () => {
    const t = routeApp();
    const data = seeded(2500, 12);
    const { upload, parts } = await sendAll(t.app, data);
    // A part URL signed before the completion, used after it.
    const [early] = await signed(t.app, upload.upload_url, [parts[0]]);
    const list = parts.map(({ number, sha256 }) => ({ number, sha256 }));
    assert.equal((await complete(t.app, upload.upload_url, list)).status, 201);
    const twice = await complete(t.app, upload.upload_url, list);
    const [status, type, message] = await errorOf(twice);
    assert.deepEqual([status, type], [409, "conflict"]);
    assert.match(message, /the upload is already complete$/);
    // Nothing to wait for.
    assert.equal(twice.headers.get("retry-after"), null);
    assert.equal(
      (await sign(t.app, upload.upload_url, [parts[0]])).status,
      409,
    );
    const late = await putPart(t.app, early.url, data.subarray(0, PART));
    assert.deepEqual((await errorOf(late)).slice(0, 2), [409, "conflict"]);
    const del = await t.app.request(upload.upload_url, { method: "DELETE" });
    assert.equal(del.status, 409);
    const got = await t.app.request(upload.download_url);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    assert.equal(t.uploaded.length, 1);
  });
});

describe("abort", () => {
  test("frees the upload: status, part URLs, parts and completion answer 404", async () => {
    const t = routeApp();
    const data = seeded(2500, 13);
    const upload = await started(t.app);
    const parts = await partsOf(data);
    const urls = await signed(t.app, upload.upload_url, parts);
    await putPart(t.app, urls[0].url, data.subarray(0, PART));
    const del = await t.app.request(upload.upload_url, { method: "DELETE" });
    assert.equal(del.status, 204);
    assert.equal((await t.app.request(upload.upload_url)).status, 404);
    assert.equal(
      (await sign(t.app, upload.upload_url, [parts[1]])).status,
      404,
    );
    const late = await putPart(
      t.app,
      urls[1].url,
      data.subarray(PART, 2 * PART),
    );
    assert.deepEqual((await errorOf(late)).slice(0, 2), [404, "not_found"]);
    const res = await complete(t.app, upload.upload_url, parts);
    assert.equal(res.status, 404);
    assert.equal((await t.app.request(upload.download_url)).status, 404);
    assert.deepEqual(t.uploaded, []);
    // Aborting again finds nothing to free.
    const again = await t.app.request(upload.upload_url, { method: "DELETE" });
    assert.deepEqual((await errorOf(again)).slice(0, 2), [404, "not_found"]);
  });

  for (const kind of ["memory", "fs"] as const) {
    test(`racing a completion is all or nothing (${kind})`, async () => {
      const folder = join(dir, `race-${kind}`);
      const t = routeApp({
        storage: kind === "fs" ? fsStorage({ dir: folder }) : memoryStorage(),
      });
      for (let round = 0; round < 40; round++) {
        const data = seeded(2500, 100 + round);
        const upload = await started(t.app);
        const parts = await partsOf(data);
        const urls = await signed(t.app, upload.upload_url, parts);
        for (const [i, url] of urls.entries()) {
          const body = data.subarray(i * PART, (i + 1) * PART);
          assert.equal((await putPart(t.app, url.url, body)).status, 200);
        }
        // One of the two starts up to 20 ms after the other: the abort in
        // the first 20 rounds, the completion in the others.
        const delay = [0, 1, 2, 3, 5, 8, 12, 20][round % 8];
        const later = <T>(first: boolean, go: () => Promise<T>) =>
          new Promise((wait) => setTimeout(wait, first ? 0 : delay)).then(go);
        const [done, aborted] = await Promise.all([
          later(round < 20, () => complete(t.app, upload.upload_url, parts)),
          later(
            round >= 20,
            async () =>
              await t.app.request(upload.upload_url, { method: "DELETE" }),
          ),
        ]);
        const outcome = `${done.status} ${aborted.status}`;
        const got = await t.app.request(upload.download_url);
        if (outcome === "201 409") {
          assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
        } else {
          assert.equal(outcome, "404 204", await done.text());
          assert.equal(got.status, 404);
          await got.body?.cancel();
        }
      }
      if (kind === "fs") {
        // Nothing of an upload is left: only whole files.
        for (const entry of await readdir(folder)) {
          assert.match(entry, /^[A-Za-z0-9_-]{22}$/);
          assert.deepEqual((await readdir(join(folder, entry))).sort(), [
            "data",
            "meta.json",
          ]);
        }
      }
    });
  }
});

describe("the capability URL", () => {
  test("answers 403 when tampered with, on every resource", async () => {
    const t = routeApp();
    const upload = await started(t.app);
    const tampered = new URL(upload.upload_url);
    tampered.searchParams.set("size", "999999");
    const sha = await sha256(new Uint8Array(1));
    for (
      const res of [
        await t.app.request(tampered.href),
        await t.app.request(tampered.href, { method: "DELETE" }),
        await sign(t.app, tampered.href, [{
          number: 1,
          size: 1000,
          sha256: sha,
        }]),
        await complete(t.app, tampered.href, [{ number: 1, sha256: sha }]),
      ]
    ) {
      assert.deepEqual((await errorOf(res)).slice(0, 2), [
        403,
        "permission_denied",
      ]);
    }
  });

  test("answers 405 with Allow for another method", async () => {
    const t = routeApp();
    const upload = await started(t.app);
    const res = await t.app.request(upload.upload_url, { method: "PUT" });
    assert.deepEqual((await errorOf(res)).slice(0, 2), [
      405,
      "method_not_allowed",
    ]);
    assert.equal(res.headers.get("allow"), "GET, DELETE");
    const parts = await t.app.request(sub(upload.upload_url, "parts"));
    assert.equal(parts.status, 405);
    assert.equal(parts.headers.get("allow"), "POST");
  });

  test("answers a CORS preflight for its methods when cors is set", async () => {
    const t = routeApp({ cors: ["https://app.example"] });
    const upload = await started(t.app);
    for (const method of ["GET", "POST", "PUT", "DELETE"]) {
      const res = await t.app.request(upload.upload_url, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": method,
        },
      });
      assert.equal(res.status, 204, method);
      assert.equal(
        res.headers.get("access-control-allow-origin"),
        "https://app.example",
      );
    }
  });
});

describe("stateless route instances", () => {
  test("two instances with one secret serve one upload over one fsStorage folder", async () => {
    const folder = join(dir, "shared");
    const make = () =>
      new Hono().route(
        "/v1",
        filesRoute({
          storage: fsStorage({ dir: folder }),
          secret: SECRET,
          apiKeys: [API_KEY],
          minPartSize: 1,
        }),
      );
    const a = make();
    const b = make();
    const data = seeded(2500, 14);
    const upload = await started(a);
    const parts = await partsOf(data);
    const urls = await signed(b, upload.upload_url, parts);
    for (const [i, url] of urls.entries()) {
      const app = i % 2 === 0 ? a : b;
      const res = await putPart(
        app,
        url.url,
        data.subarray(i * PART, (i + 1) * PART),
      );
      assert.equal(res.status, 200);
    }
    assert.deepEqual(await listed(a, upload.upload_url), parts);
    const res = await complete(
      b,
      upload.upload_url,
      parts.map(({ number, sha256 }) => ({ number, sha256 })),
    );
    assert.equal(res.status, 201);
    const got = await a.request((await res.json()).download_url);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    // Nothing of the upload is left beside the file.
    assert.deepEqual(await readdir(folder), [upload.id]);
    assert.deepEqual((await readdir(join(folder, upload.id))).sort(), [
      "data",
      "meta.json",
    ]);
  });
});
