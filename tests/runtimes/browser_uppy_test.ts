/**
 * The README's Uppy recipe, run as written: a backend endpoint that holds
 * the API key and makes the URLs for one file with `client.files.createUrls`,
 * and a page (bundled with esbuild, in Chromium) whose `@uppy/aws-s3` plugin
 * sends each file as one `PUT` to its upload URL, and whose post-processor
 * confirms it at its `complete_url`. The route stands behind the raw
 * recorder, so that every request to it is read as it came off the socket;
 * over `s3Storage()` the `PUT`s go to s3rver, with a bucket CORS rule.
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
import { type S3rver, startS3rver } from "../_s3rver.ts";
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
 * the API key, and answers what Uppy sends the file with, where it will be
 * downloaded, and (with `s3Storage()`) where to confirm it.
 */
function uppyBackend(client: Client): Hono {
  const app = new Hono();
  app.post("/uploads", async (c) => {
    // Check your user's session here: whoever reaches this endpoint uploads.
    const { name, size, type } = await c.req.json();
    const mime_type = type || "application/octet-stream";
    try {
      const { upload_url, ...urls } = await client.files.createUrls({
        name,
        size,
        mime_type,
        resource: "prediction",
      });
      return c.json({
        method: "PUT",
        url: upload_url,
        headers: { "content-type": mime_type, ...requiredHeaders(upload_url) },
        download_url: urls.download_url,
        complete_url: urls.complete_url, // with s3Storage(): POST after the PUT
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

/** Adds `files` to a fresh `fileurlsUppy(backend)` and runs `upload()`. */
function uploadWithUppy(
  browser: Browser,
  files: PageFile[],
  backend = "/uploads",
): Promise<UppyOutcome> {
  return browser.page.evaluate(
    async ({ files, backend }) => {
      const { fileurlsUppy } = await import("/uppy.js");
      const uppy = fileurlsUppy(backend);
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
    { files: files.map((f) => ({ ...f, data: base64(f.data) })), backend },
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
    // The URL the page POSTs once the PUT succeeded.
    assert.match(
      String(answer.complete_url),
      /^http:\/\/files\.test\/v1\/files\/[\w-]{22}\/complete\?/,
    );
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

describe("Uppy's AwsS3 plugin in Chromium, straight to S3, confirmed", {
  skip,
}, () => {
  let s3: S3rver;
  let browser: Browser;
  let page: Served;
  let api: RouteApi;
  let pageApp: Hono | undefined;
  const uploaded: StoredFile[] = [];
  const answers: string[] = [];
  /** The file ids the backends answered, by name. */
  const ids = new Map<string, string>();

  before(async () => {
    const script = await bundlePage();
    s3 = await startS3rver("uppy-uploads", { cors: true });
    page = await serveApp({
      fetch: (request) =>
        pageApp?.fetch(request) ?? new Response(null, { status: 503 }),
    });
    // The page POSTs each complete_url to the route, cross-origin.
    api = await startRouteApi({
      storage: s3Storage({
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      }),
      cors: [page.url],
      maxSize: MAX_SIZE,
      onUploaded: (file) => {
        uploaded.push(file);
      },
    });
    const backend = uppyBackend(
      new Client({ baseUrl: api.baseUrl, apiKey: api.apiKey }),
    );
    const app = new Hono();
    // Keeps every answer of the backends, to show the page gets no API key,
    // and each file's id.
    app.use("*", async (c, next) => {
      await next();
      if (c.req.method !== "POST") return;
      const text = await c.res.clone().text();
      answers.push(text);
      const answer = JSON.parse(text);
      if (typeof answer.complete_url === "string") {
        const id = new URL(answer.complete_url).pathname.split("/").at(-2)!;
        ids.set((await c.req.json()).name, id);
      }
    });
    app.route("/", backend);
    // A broken backend: it renames the file in the complete_url of
    // "renamed.txt", so that the route refuses its signature.
    app.post("/renaming/uploads", async (c) => {
      const body = await c.req.text();
      const res = await backend.request("/uploads", { method: "POST", body });
      const answer = await res.json();
      if (JSON.parse(body).name === "renamed.txt") {
        const url = new URL(answer.complete_url);
        url.searchParams.set("name", "other.txt");
        answer.complete_url = url.href;
      }
      return c.json(answer, res.status as ContentfulStatusCode);
    });
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
    await s3?.close();
  });

  /** `GET /files/{id}` with the API key. */
  function getFile(id: string): Promise<Response> {
    return fetch(`${api.baseUrl}/files/${id}`, {
      headers: { authorization: `Bearer ${api.apiKey}` },
    });
  }

  /** The confirmations the route got: `POST`s to completion URLs. */
  function confirmations() {
    return api.requests.filter((r) =>
      r.method === "POST" &&
      /^\/v1\/files\/[\w-]{22}\/complete\?/.test(r.target)
    );
  }

  test("uploads two files to the bucket, and confirms each once before upload() resolves", async () => {
    const files = [
      {
        name: "table.csv",
        type: "text/csv",
        data: new TextEncoder().encode("a,b\n1,2\n"),
      },
      { name: "weights.bin", type: "", data: bytes(300_000, 11) },
    ];
    const outcome = await uploadWithUppy(browser, files);
    assert.deepEqual(outcome.failed, []);
    assert.equal(outcome.successful.length, 2);

    for (const { name, data } of files) {
      const what = name;
      const type = name.endsWith(".csv")
        ? "text/csv"
        : "application/octet-stream";
      const id = ids.get(name);
      assert.ok(id, `${what} id`);

      // Confirmed exactly once, by the page, before upload() resolved.
      assert.equal(uploaded.filter((f) => f.key === id).length, 1, what);
      const posts = confirmations().filter((r) =>
        r.target.startsWith(`/v1/files/${id}/complete?`)
      );
      assert.equal(posts.length, 1, what);
      assert.equal(posts[0].headers.origin, page.url, what);
      assert.equal(posts[0].headers.authorization, undefined, what);
      assert.equal(posts[0].body.byteLength, 0, what);

      // The API knows it, with the declared name, size and type.
      const res = await getFile(id);
      assert.equal(res.status, 200, what);
      const file = await res.json();
      assert.equal(file.name, name, what);
      assert.equal(file.size, data.length, what);
      assert.equal(file.mime_type, type, what);

      // The download URL the page kept serves the same bytes.
      const done = outcome.successful.find((f) => f.name === name)!;
      assert.equal(done.type, type, what);
      const download = await fetch(done.download_url);
      assert.equal(download.status, 200, what);
      assert.equal(
        await sha256(await download.arrayBuffer()),
        await sha256(data),
        what,
      );
    }
    assert.deepEqual((await s3.keys("")).sort(), [...ids.values()].sort());

    // The page sent the route only the confirmations (simple requests, no
    // preflight), and never got the key.
    const fromPage = api.requests.filter((r) => r.headers.origin === page.url);
    assert.deepEqual(fromPage, confirmations());
    assert.equal(api.singles().length, 0); // the PUTs went to the bucket
    for (const answer of answers) assert.ok(!answer.includes(api.apiKey));
  });

  test("fails in Uppy the file whose confirmation the route refuses, and only that one", async () => {
    const before = uploaded.length;
    const outcome = await uploadWithUppy(browser, [
      { name: "kept.txt", type: "text/plain", data: bytes(1000, 5) },
      { name: "renamed.txt", type: "text/plain", data: bytes(2000, 6) },
    ], "/renaming/uploads");
    assert.deepEqual(outcome.successful.map((f) => f.name), ["kept.txt"]);
    assert.equal(outcome.failed.length, 1);
    assert.equal(outcome.failed[0].name, "renamed.txt");
    assert.match(
      outcome.failed[0].error,
      /^Cannot confirm "renamed\.txt": API responded with 403$/,
    );

    // Its PUT went through, but the API does not know the file.
    const id = ids.get("renamed.txt")!;
    assert.deepEqual(await s3.keys(id), [id]);
    assert.equal((await getFile(id)).status, 404);
    assert.deepEqual(uploaded.slice(before).map((f) => f.name), ["kept.txt"]);
    assert.equal((await getFile(ids.get("kept.txt")!)).status, 200);
  });
});
