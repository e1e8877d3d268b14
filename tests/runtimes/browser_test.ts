import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { filesRoute, memoryStorage } from "../../src/hono/mod.ts";
import { type FakeApi, startApi } from "../_api.ts";
import {
  type Browser,
  browserRequired,
  bundleClient,
  findChromium,
  GET_CHROMIUM,
  INSECURE_HOST,
  launchChromium,
} from "./_browser.ts";
import { serveApp, type Served } from "../_serve.ts";
import { type RouteApi, startRouteApi } from "../_route_api.ts";
import { bytes } from "../_data.ts";

const API_KEY = "browser-api-key";
const SECRET = "browser-secret-0123456789abcdef-0123456789";

function base64(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** A route at `/v1` that records the method of every request it gets. */
function routeApp(cors?: string[]): { app: Hono; methods: string[] } {
  const methods: string[] = [];
  const app = new Hono();
  app.use(async (c, next) => {
    methods.push(c.req.method);
    await next();
  });
  app.route(
    "/v1",
    filesRoute({
      storage: memoryStorage(),
      secret: SECRET,
      apiKeys: [API_KEY],
      cors,
    }),
  );
  return { app, methods };
}

interface PageUpload {
  url?: string;
  progress?: { loaded: number; total: number; id?: string }[];
  error?: { name: string; message: string };
}

/**
 * Uploads from the page with the bundled client. `kind` is `file` (a `File`
 * built in the page, named `page.csv`), `blob` (a PDF Blob, named by the
 * `name` option) or `path` (the path `/etc/hostname`).
 */
function uploadInPage(
  browser: Browser,
  baseUrl: string,
  kind: "file" | "blob" | "path",
  data: Uint8Array,
): Promise<PageUpload> {
  return browser.page.evaluate(
    async ({ baseUrl, kind, data, apiKey }) => {
      const { Client } = await import("/client.js");
      const client = new Client({ baseUrl, apiKey, maxRetries: 0 });
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const progress: unknown[] = [];
      const onProgress = (p: unknown) => progress.push(p);
      try {
        const url = kind === "file"
          ? await client.files.upload(
            new File([bytes], "page.csv"),
            "prediction",
            { onProgress },
          )
          : kind === "blob"
          ? await client.files.upload(
            new Blob([bytes], { type: "application/pdf" }),
            "prediction",
            { name: "report", onProgress },
          )
          : await client.files.upload("/etc/hostname", "prediction");
        return { url, progress };
      } catch (error) {
        const { name, message } = error as Error;
        return { error: { name, message } };
      }
    },
    { baseUrl, kind, data: base64(data), apiKey: API_KEY },
  ) as Promise<PageUpload>;
}

async function assertRoundTrip(
  answer: PageUpload,
  data: Uint8Array,
  type: string,
): Promise<void> {
  assert.equal(answer.error, undefined, JSON.stringify(answer.error));
  const total = data.length;
  // Every event tells the file's id, which the download URL holds.
  const id = new URL(answer.url!).pathname.split("/").at(-2);
  assert.deepEqual(answer.progress?.at(0), { loaded: 0, total, id });
  assert.deepEqual(answer.progress?.at(-1), { loaded: total, total, id });
  const download = await fetch(answer.url!);
  assert.equal(download.status, 200);
  assert.equal(download.headers.get("content-type"), type);
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), data);
}

/**
 * Uploads a File (a CSV) and a Blob (a PDF) of `data` from the page to the
 * API at `base`, and checks both downloads.
 */
async function assertFileAndBlob(
  browser: Browser,
  base: string,
  data: Uint8Array,
): Promise<void> {
  await assertRoundTrip(
    await uploadInPage(browser, base, "file", data),
    data,
    "text/csv",
  );
  await assertRoundTrip(
    await uploadInPage(browser, base, "blob", data),
    data,
    "application/pdf",
  );
}

/** The kinds of input a page has. */
const PAGE_KINDS = ["file", "blob", "bytes", "buffer", "stream"] as const;

/**
 * Uploads from the page: to the API at `target` with the API key, or, with
 * `uploadTo()` and no key, to the upload `target` a backend started.
 */
function sendFromPage(
  browser: Browser,
  options: {
    target: string | Record<string, unknown>;
    kind: (typeof PAGE_KINDS)[number];
    data: Uint8Array;
    name?: string;
    partSize?: number;
  },
): Promise<PageUpload> {
  return browser.page.evaluate(
    async ({ target, kind, data, name, partSize, apiKey }) => {
      const { Client, uploadTo } = await import("/client.js");
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const content = kind === "file"
        ? new File([bytes], name)
        : kind === "blob"
        ? new Blob([bytes])
        : kind === "bytes"
        ? bytes
        : kind === "buffer"
        ? bytes.buffer
        : new Blob([bytes]).stream();
      const progress: unknown[] = [];
      const options = {
        name,
        ...(partSize ? { partSize } : {}),
        onProgress: (p: unknown) => progress.push(p),
      };
      try {
        const result = typeof target === "string"
          ? await new Client({ baseUrl: target, apiKey, maxRetries: 0 }).files
            .uploadFile(content, "prediction", options)
          : await uploadTo(target, content, options);
        return { url: result.downloadUrl, progress };
      } catch (error) {
        const { name, message } = error as Error;
        return { error: { name, message } };
      }
    },
    {
      target: options.target,
      kind: options.kind,
      data: base64(options.data),
      name: options.name ?? `${options.kind}.bin`,
      partSize: options.partSize ?? 0,
      apiKey: API_KEY,
    },
  ) as Promise<PageUpload>;
}

const chromium = findChromium();
// Without a browser the suite is skipped, saying how to get one; where the
// browser tests must run (CI), the launch fails instead, saying the same.
const skip = chromium.path === undefined && !browserRequired()
  ? `${chromium.why}; ${GET_CHROMIUM}`
  : false;
if (skip) console.warn(`Skipping the Chromium tests: ${skip}`);

describe("the client in Chromium", { skip }, () => {
  let browser: Browser;
  let page: Served;
  before(async () => {
    const client = await bundleClient();
    const same = routeApp();
    same.app.get("/", (c) => c.html("<!doctype html><title>fileurls</title>"));
    same.app.get(
      "/client.js",
      (c) => c.body(client, 200, { "content-type": "text/javascript" }),
    );
    page = await serveApp(same.app);
    browser = await launchChromium(chromium);
    await browser.page.goto(`${page.url}/`);
  });
  after(async () => {
    await browser?.close();
    await page?.close();
  });

  test("uploads a File built in the page and a Blob to the same origin, and the downloads match", async () => {
    for (const size of [0, 200_000]) {
      await assertFileAndBlob(browser, `${page.url}/v1`, bytes(size));
    }
  });

  describe("across origins", () => {
    let other: Served;
    let otherApp: { app: Hono; methods: string[] };
    let closed: Served;
    let closedApp: { app: Hono; methods: string[] };
    before(async () => {
      otherApp = routeApp([page.url]);
      other = await serveApp(otherApp.app);
      closedApp = routeApp();
      closed = await serveApp(closedApp.app);
    });
    after(async () => {
      await other?.close();
      await closed?.close();
    });

    test("uploads a File and a Blob to a route whose cors option allows the page, after preflights", async () => {
      for (const size of [0, 200_000]) {
        await assertFileAndBlob(browser, `${other.url}/v1`, bytes(size, 5));
      }
      // The page's requests (the test's own downloads are the GETs): 4
      // POSTs and 4 PUTs, the first POST and every PUT (each to a new URL)
      // after a preflight.
      const methods = otherApp.methods.filter((m) => m !== "GET");
      assert.equal(methods.filter((m) => m === "POST").length, 4);
      assert.equal(methods.filter((m) => m === "PUT").length, 4);
      assert.equal(methods[0], "OPTIONS");
      methods.forEach((m, i) => {
        if (m === "PUT") assert.equal(methods[i - 1], "OPTIONS");
      });
    });

    test("cannot reach a route without cors: a ConnectionError, and no POST arrives", async () => {
      const answer = await uploadInPage(
        browser,
        `${closed.url}/v1`,
        "file",
        bytes(10),
      );
      assert.equal(answer.error?.name, "ConnectionError");
      assert.match(answer.error!.message, /^Cannot upload "page\.csv"/);
      // A refused preflight looks like any network error: the message
      // names CORS and the page's origin.
      assert.ok(
        answer.error!.message.endsWith(
          ` (or its CORS settings do not allow requests from ${page.url})`,
        ),
        answer.error!.message,
      );
      assert.deepEqual(closedApp.methods, ["OPTIONS"]);
    });
  });

  describe("on the wire, single and in parts", () => {
    const PART = 64 * 1024;
    let api: RouteApi;
    before(async () => {
      // maxSize small enough that a stream's parts stay PART bytes.
      api = await startRouteApi({
        cors: "*",
        apiKeys: [API_KEY],
        maxSize: PART * 10_000,
      });
    });
    after(async () => {
      await api?.close();
    });

    test("every input kind a page has goes with exact lengths, never chunked, and downloads the same", async () => {
      for (const kind of PAGE_KINDS) {
        for (const [size, parts] of [[0, 0], [PART, 0], [PART * 2 + 5, 3]]) {
          const data = bytes(size, size + 3);
          const before = api.requests.length;
          const answer = await sendFromPage(browser, {
            target: `${api.baseUrl}`,
            kind,
            data,
            partSize: PART,
          });
          const what = `${kind} of ${size} bytes`;
          assert.equal(answer.error, undefined, JSON.stringify(answer.error));
          const sent = api.requests.slice(before).filter((r) =>
            r.method === "PUT"
          );
          assert.equal(sent.length, parts || 1, what);
          for (const put of sent) {
            assert.equal(put.chunked, false, what);
            assert.equal(put.headers["transfer-encoding"], undefined, what);
            assert.equal(
              put.headers["content-length"],
              String(put.body.byteLength),
              what,
            );
          }
          const got = await api.app.request(answer.url!);
          assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data, what);
          // Real progress: one event per part the API acknowledged.
          if (parts) {
            const between = new Set(
              answer.progress!.map((p) => p.loaded).filter((n) =>
                n > 0 && n < size
              ),
            );
            assert.equal(between.size, parts - 1, what);
          }
        }
      }
    });

    test("a page that is no secure context, without Web Crypto, still uploads in parts", async () => {
      const secure = new URL(page.url);
      const insecure = `http://${INSECURE_HOST}:${secure.port}/`;
      await browser.page.goto(insecure);
      try {
        assert.deepEqual(
          await browser.page.evaluate(() => {
            const page = globalThis as unknown as {
              isSecureContext: boolean;
              crypto?: { subtle?: unknown };
            };
            return [page.isSecureContext, page.crypto?.subtle === undefined];
          }),
          [false, true],
        );
        const data = bytes(PART * 2 + 5, 41);
        const answer = await sendFromPage(browser, {
          target: `${api.baseUrl}`,
          kind: "file",
          data,
          partSize: PART,
        });
        assert.equal(answer.error, undefined, JSON.stringify(answer.error));
        const got = await api.app.request(answer.url!);
        assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
      } finally {
        await browser.page.goto(`${page.url}/`);
      }
    });

    test("a page with no API key finishes an upload started by a backend, from its capability URL", async () => {
      const res = await fetch(`${api.baseUrl}/files/uploads`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${API_KEY}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          name: "video.mp4",
          size: PART * 3,
          resource: "prediction",
          mime_type: "video/mp4",
          part_size: PART,
        }),
      });
      assert.equal(res.status, 201);
      const upload = await res.json();
      const before = api.requests.length;
      const data = bytes(PART * 3, 21);
      const answer = await sendFromPage(browser, {
        target: upload,
        kind: "file",
        data,
        name: "video.mp4",
      });
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      const sent = api.requests.slice(before);
      assert.ok(sent.some((r) => r.target.includes("/complete?")));
      assert.ok(sent.every((r) => r.headers.authorization === undefined));
      const got = await api.app.request(answer.url!);
      assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    });
  });

  test("refuses a file path with a TypeError that says to pass a Blob or bytes, before any request", async () => {
    let api: FakeApi | undefined;
    try {
      api = await startApi();
      const answer = await uploadInPage(browser, api.baseUrl, "path", bytes(0));
      assert.deepEqual(answer.error, {
        name: "TypeError",
        message:
          'Cannot upload "hostname": file paths need a file system, which this runtime lacks; pass a Blob or bytes',
      });
      assert.equal(api.requests.length, 0);
    } finally {
      await api?.close();
    }
  });
});
