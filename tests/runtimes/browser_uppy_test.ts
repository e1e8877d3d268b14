/**
 * The README's Uppy recipe, run as written: a backend endpoint that holds
 * the API key and makes the URLs for one file with `client.files.createUrls`,
 * and a page (bundled with esbuild, in Chromium) whose `@uppy/aws-s3` plugin
 * sends each file as one `PUT` to its upload URL. The route stands behind
 * the raw recorder, so that every `PUT` is read as it came off the socket.
 *
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, Client } from "../../mod.ts";
import { filesRoute, type StoredFile } from "../../src/hono/mod.ts";
import { s3Storage } from "../../src/storage/s3.ts";
import {
  type Browser,
  browserRequired,
  findChromium,
  GET_CHROMIUM,
  launchChromium,
} from "./_browser.ts";
import { serveApp, type Served } from "../_serve.ts";
import { type RouteApi, startRouteApi } from "../_route_api.ts";
import { bytes, sha256 } from "../_data.ts";

// ---------------------------------------------------------------------------
// The recipe's backend, as the README shows it.

/**
 * The headers an upload URL signed with a fixed value, which the `PUT` must
 * carry: `If-None-Match: *` for an S3 URL whose `X-Amz-SignedHeaders` lists
 * `if-none-match` (the bucket answers 403 without it). None for the route's
 * own URLs.
 */
function requiredHeaders(uploadUrl: string): Record<string, string> {
  const signed = new URL(uploadUrl).searchParams.get("X-Amz-SignedHeaders");
  return signed?.toLowerCase().split(";").includes("if-none-match")
    ? { "if-none-match": "*" }
    : {};
}

/**
 * `POST /uploads` with `{name, size, type}`: makes the URLs for one file with
 * the API key, and answers what Uppy sends the file with, and where it will
 * be downloaded.
 */
function uppyBackend(client: Client): Hono {
  const app = new Hono();
  app.post("/uploads", async (c) => {
    // Check your user's session here: whoever reaches this endpoint uploads.
    const { name, size, type } = await c.req.json();
    const mime_type = type || "application/octet-stream";
    try {
      const { upload_url, download_url } = await client.files.createUrls({
        name,
        size,
        mime_type,
        resource: "prediction",
      });
      return c.json({
        method: "PUT",
        url: upload_url,
        headers: { "content-type": mime_type, ...requiredHeaders(upload_url) },
        download_url,
      });
    } catch (error) {
      if (error instanceof ApiError) {
        // The API's refusal: 413 too large, 415 a type it does not take, …
        return c.json(
          { error: error.message },
          error.status as ContentfulStatusCode,
        );
      }
      if (error instanceof TypeError || error instanceof RangeError) {
        return c.json({ error: error.message }, 400); // a name the API refuses
      }
      throw error;
    }
  });
  return app;
}

// ---------------------------------------------------------------------------

/** The route's largest file: the test's third file is one byte more. */
const MAX_SIZE = 1024 * 1024;

/** The page module: `fileurlsUppy()` and Uppy, bundled as a web app would. */
async function bundlePage(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [
      fileURLToPath(new URL("./_uppy_page.ts", import.meta.url)),
    ],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  return result.outputFiles[0].text;
}

function base64(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

interface PageFile {
  name: string;
  type: string;
  data: Uint8Array;
}

interface UppyOutcome {
  successful: {
    name: string;
    type: string;
    size: number;
    download_url: string;
    status: number;
  }[];
  failed: { name: string; error: string }[];
}

/** Adds `files` to a fresh `fileurlsUppy("/uploads")` and runs `upload()`. */
function uploadWithUppy(
  browser: Browser,
  files: PageFile[],
): Promise<UppyOutcome> {
  return browser.page.evaluate(
    async (files) => {
      const { fileurlsUppy } = await import("/uppy.js");
      const uppy = fileurlsUppy("/uploads");
      for (const { name, type, data } of files) {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        uppy.addFile({ name, type, data: new File([bytes], name, { type }) });
      }
      const result = await uppy.upload();
      // deno-lint-ignore no-explicit-any
      const successful = (result?.successful ?? []).map((file: any) => ({
        name: file.name,
        type: file.type,
        size: file.size,
        download_url: file.meta.download_url,
        status: file.response?.status,
      }));
      // deno-lint-ignore no-explicit-any
      const failed = (result?.failed ?? []).map((file: any) => ({
        name: file.name,
        error: String(file.error),
      }));
      uppy.destroy();
      return { successful, failed };
    },
    files.map((f) => ({ ...f, data: base64(f.data) })),
  ) as Promise<UppyOutcome>;
}

describe("the Uppy recipe's backend", () => {
  const SECRET = "uppy-secret-0123456789abcdef-0123456789";

  /** The backend in front of a route on S3 storage, in memory. */
  function s3Backend(conditionalWrites: boolean): Hono {
    const route = new Hono().route(
      "/v1",
      filesRoute({
        storage: s3Storage({
          endpoint: "http://127.0.0.1:9000",
          bucket: "uploads",
          accessKeyId: "uppy-key-id",
          secretAccessKey: "uppy-secret-access-key",
          conditionalWrites,
        }),
        secret: SECRET,
        apiKeys: ["uppy-api-key"],
      }),
    );
    return uppyBackend(
      new Client({
        baseUrl: "http://files.test/v1",
        apiKey: "uppy-api-key",
        fetch: (input, init) => route.request(input, init),
      }),
    );
  }

  async function ask(backend: Hono): Promise<Record<string, unknown>> {
    const res = await backend.request("/uploads", {
      method: "POST",
      body: JSON.stringify({ name: "photo.png", size: 1234, type: "" }),
    });
    assert.equal(res.status, 200);
    return await res.json();
  }

  test("answers If-None-Match: * with an S3 upload URL that signs it", async () => {
    const answer = await ask(s3Backend(true));
    assert.equal(answer.method, "PUT");
    assert.match(
      String(answer.url),
      /X-Amz-SignedHeaders=[^&]*if-none-match/,
    );
    // No type from the page: the declared type and the sent one agree.
    assert.deepEqual(answer.headers, {
      "content-type": "application/octet-stream",
      "if-none-match": "*",
    });
  });

  test("answers no If-None-Match for an S3 upload URL that does not sign it", async () => {
    const answer = await ask(s3Backend(false));
    assert.doesNotMatch(String(answer.url), /if-none-match/);
    assert.deepEqual(answer.headers, {
      "content-type": "application/octet-stream",
    });
  });
});

const chromium = findChromium();
// Without a browser the suite is skipped, saying how to get one; where the
// browser tests must run (CI), the launch fails instead, saying the same.
const skip = chromium.path === undefined && !browserRequired()
  ? `${chromium.why}; ${GET_CHROMIUM}`
  : false;
if (skip) console.warn(`Skipping the Uppy tests in Chromium: ${skip}`);

describe("Uppy's AwsS3 plugin in Chromium, through fileurls", { skip }, () => {
  let browser: Browser;
  let page: Served;
  let api: RouteApi;
  let pageApp: Hono | undefined;
  const stored: StoredFile[] = [];
  const answers: string[] = [];

  before(async () => {
    const script = await bundlePage();
    // The page's origin, which the route's cors must name, is known once the
    // page is served; the backend's client needs the route's address.
    page = await serveApp({
      fetch: (request) =>
        pageApp?.fetch(request) ?? new Response(null, { status: 503 }),
    });
    api = await startRouteApi({
      cors: [page.url],
      maxSize: MAX_SIZE,
      onUploaded: (file) => {
        stored.push(file);
      },
    });
    const client = new Client({ baseUrl: api.baseUrl, apiKey: api.apiKey });
    const app = new Hono();
    // Keeps every answer of the backend, to show the page gets no API key.
    app.use("/uploads", async (c, next) => {
      await next();
      answers.push(await c.res.clone().text());
    });
    app.route("/", uppyBackend(client));
    app.get("/", (c) => c.html("<!doctype html><title>Uppy</title>"));
    app.get(
      "/uppy.js",
      (c) => c.body(script, 200, { "content-type": "text/javascript" }),
    );
    pageApp = app;
    browser = await launchChromium(chromium);
    await browser.page.goto(`${page.url}/`);
  });
  after(async () => {
    await browser?.close();
    await page?.close();
    await api?.close();
  });

  test("uploads two files with single PUTs of exact Content-Length, and the downloads match", async () => {
    const files = [
      {
        name: "table.csv",
        type: "text/csv",
        data: new TextEncoder().encode("a,b\n1,2\n"),
      },
      { name: "weights.bin", type: "", data: bytes(300_000, 7) },
    ];
    const outcome = await uploadWithUppy(browser, files);
    assert.deepEqual(outcome.failed, []);
    assert.equal(outcome.successful.length, 2);

    const puts = api.singles();
    assert.equal(puts.length, 2);
    for (const { name, data } of files) {
      const what = name;
      const done = outcome.successful.find((f) => f.name === name)!;
      assert.equal(done.status, 200, what); // Uppy reports any 2xx as 200
      const type = name.endsWith(".csv")
        ? "text/csv"
        : "application/octet-stream";
      assert.equal(done.type, type, what);

      // The route stored it, with the declared name, size and type.
      const file = stored.find((f) => f.name === name);
      assert.ok(file, `${what} stored`);
      assert.equal(file.size, data.length, what);
      assert.equal(file.type, type, what);

      // The PUT as it arrived: one exact Content-Length, never chunked, the
      // type the backend declared, and no API key.
      const put = puts.find((r) => r.target.includes(`/${file.key}?`));
      assert.ok(put, `${what} PUT`);
      assert.equal(put.chunked, false, what);
      assert.equal(put.headers["transfer-encoding"], undefined, what);
      assert.equal(put.headers["content-length"], String(data.length), what);
      assert.equal(put.body.byteLength, data.length, what);
      assert.equal(put.headers["content-type"], type, what);
      assert.equal(put.headers["authorization"], undefined, what);
      assert.equal(put.headers["origin"], page.url, what);

      // The download URL the page kept serves the same bytes.
      const download = await fetch(done.download_url);
      assert.equal(download.status, 200, what);
      assert.equal(download.headers.get("content-type"), type, what);
      assert.equal(
        await sha256(await download.arrayBuffer()),
        await sha256(data),
        what,
      );
    }

    // The URLs were made by the backend, with the key; the page sent only
    // preflights and PUTs to the route, and never got the key.
    const creates = api.creates();
    assert.equal(creates.length, 2);
    for (const create of creates) {
      assert.equal(create.headers.authorization, `Bearer ${api.apiKey}`);
      assert.equal(create.headers.origin, undefined);
    }
    const fromPage = api.requests.filter((r) => r.headers.origin === page.url);
    assert.deepEqual(
      [...new Set(fromPage.map((r) => r.method))].sort(),
      ["OPTIONS", "PUT"],
    );
    assert.ok(answers.length >= 2);
    for (const answer of answers) assert.ok(!answer.includes(api.apiKey));
  });

  test("fails a file the route refuses (413) in Uppy, sends no PUT, and stores nothing", async () => {
    const before = { puts: api.singles().length, stored: stored.length };
    const outcome = await uploadWithUppy(browser, [
      { name: "huge.bin", type: "", data: bytes(MAX_SIZE + 1, 3) },
    ]);
    assert.deepEqual(outcome.successful, []);
    assert.equal(outcome.failed.length, 1);
    assert.match(
      outcome.failed[0].error,
      /Cannot upload "huge\.bin": backend responded with 413/,
    );
    assert.equal(api.singles().length, before.puts);
    assert.equal(stored.length, before.stored);
  });
});
