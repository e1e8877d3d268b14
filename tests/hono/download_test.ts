/**
 * `GET` and `HEAD` on a download URL: headers, ranges, conditional requests
 * and refusals.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytes, create, errorOf, HELLO, makeApp, put } from "../_route.ts";

describe("GET and HEAD on a download URL", () => {
  async function uploaded(
    body: string | Uint8Array<ArrayBuffer>,
    info: Partial<typeof HELLO> = {},
    options: Parameters<typeof makeApp>[0] = {},
  ) {
    const t = makeApp(options);
    const size = typeof body === "string"
      ? bytes(body).byteLength
      : body.byteLength;
    const created = await create(t.app, { ...HELLO, ...info, size });
    const res = await put(t.app, created.upload_url, body, {
      "content-type": info.mime_type ?? HELLO.mime_type,
    });
    assert.equal(res.status, 201);
    return { ...t, ...created };
  }

  test("answers 200 with the bytes and every header", async () => {
    let now = Date.UTC(2030, 0, 1);
    const t = await uploaded("hello", {}, { now: () => now });
    now += 3600_000;
    const res = await t.app.request(t.download_url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "hello");
    assert.equal(res.headers.get("content-length"), "5");
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.match(res.headers.get("etag") ?? "", /^"[A-Za-z0-9_.-]+"$/);
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("content-security-policy"), "sandbox");
    assert.equal(
      res.headers.get("content-disposition"),
      `inline; filename="hello.txt"; filename*=UTF-8''hello.txt`,
    );
    assert.equal(
      res.headers.get("cache-control"),
      `private, max-age=${86400 - 3600}, immutable`,
    );
  });

  test("names a non-ASCII file with filename* and an ASCII fallback", async () => {
    const t = await uploaded("<p>", {
      name: `naïve "résumé" 100%'s (1).html`,
      mime_type: "text/html",
    });
    const res = await t.app.request(t.download_url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html");
    assert.equal(
      res.headers.get("content-disposition"),
      `attachment; filename="na_ve _r_sum__ 100_'s (1).html"; ` +
        `filename*=UTF-8''na%C3%AFve%20%22r%C3%A9sum%C3%A9%22%20100%25%27s%20%281%29.html`,
    );
  });

  test("shows only safe types inline, never HTML, SVG or XML", async () => {
    const cases: [string, string][] = [
      ["image/png", "inline"],
      ["image/jpeg", "inline"],
      // No browser shows a PDF in a sandboxed page: it is downloaded.
      ["application/pdf", "attachment"],
      ["video/mp4", "inline"],
      ["audio/mpeg", "inline"],
      ["text/html", "attachment"],
      ["image/svg+xml", "attachment"],
      ["application/xml", "attachment"],
      ["text/xml", "attachment"],
      ["application/xhtml+xml", "attachment"],
      ["application/javascript", "attachment"],
      ["application/octet-stream", "attachment"],
    ];
    for (const [mime_type, disposition] of cases) {
      const t = await uploaded("x", { mime_type, name: "f" });
      const res = await t.app.request(t.download_url);
      assert.equal(
        res.headers.get("content-disposition")?.split(";")[0],
        disposition,
        mime_type,
      );
      await res.body?.cancel();
    }
  });

  test("serves scripts, styles and other active types as application/octet-stream attachments", async () => {
    const active = [
      "application/ecmascript",
      "application/javascript",
      "application/x-ecmascript",
      "application/x-javascript",
      "text/ecmascript",
      "text/javascript",
      "text/javascript1.0",
      "text/javascript1.1",
      "text/javascript1.2",
      "text/javascript1.3",
      "text/javascript1.4",
      "text/javascript1.5",
      "text/jscript",
      "text/livescript",
      "text/x-ecmascript",
      "text/x-javascript",
      "Text/JavaScript; charset=utf-8",
      "text/css",
      "text/css;charset=UTF-8",
      "application/wasm",
      "application/xslt+xml",
      "text/xsl",
    ];
    for (const mime_type of active) {
      const t = await uploaded("alert(1)", { mime_type, name: "a.js" });
      const requests: [string, RequestInit][] = [
        ["GET", {}],
        ["HEAD", { method: "HEAD" }],
        ["206", { headers: { range: "bytes=0-1" } }],
      ];
      for (const [label, init] of requests) {
        const res = await t.app.request(t.download_url, init);
        const what = `${mime_type} ${label}`;
        assert.equal(
          res.headers.get("content-type"),
          "application/octet-stream",
          what,
        );
        assert.equal(
          res.headers.get("content-disposition"),
          `attachment; filename="a.js"; filename*=UTF-8''a.js`,
          what,
        );
        assert.equal(res.headers.get("x-content-type-options"), "nosniff");
        await res.body?.cancel();
      }
    }
    for (const mime_type of ["application/json", "text/plain", "text/csv"]) {
      const t = await uploaded("{}", { mime_type, name: "a.txt" });
      const res = await t.app.request(t.download_url);
      assert.equal(res.headers.get("content-type"), mime_type);
      await res.body?.cancel();
    }
  });

  test("sandboxes every answer with nosniff and CSP sandbox: 200, 206, 304, HEAD and 416", async () => {
    const t = await uploaded("0123456789", {
      mime_type: "text/html",
      name: "page.html",
    });
    const etag = (await t.app.request(t.download_url, { method: "HEAD" }))
      .headers.get("etag")!;
    const cases: [number, RequestInit][] = [
      [200, {}],
      [200, { method: "HEAD" }],
      [206, { headers: { range: "bytes=2-4" } }],
      [206, { method: "HEAD", headers: { range: "bytes=2-4" } }],
      [304, { headers: { "if-none-match": etag } }],
      [304, { method: "HEAD", headers: { "if-none-match": etag } }],
      [416, { headers: { range: "bytes=10-" } }],
      [416, { method: "HEAD", headers: { range: "bytes=10-" } }],
    ];
    for (const [status, init] of cases) {
      const res = await t.app.request(t.download_url, init);
      const what = `${init.method ?? "GET"} ${JSON.stringify(init.headers)}`;
      assert.equal(res.status, status, what);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
      assert.match(
        res.headers.get("content-security-policy") ?? "",
        /(^|;)\s*sandbox\s*(;|$)/,
        what,
      );
      await res.body?.cancel();
    }
  });

  test("answers HEAD with the headers and no body", async () => {
    const t = await uploaded("hello");
    const res = await t.app.request(t.download_url, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "5");
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.equal(await res.text(), "");
    assert.ok(!t.storage.calls.some((call) => call.startsWith("read")));
  });

  test("answers 206 for a byte range", async () => {
    const t = await uploaded("0123456789");
    const cases: [string, string, string][] = [
      ["bytes=2-4", "bytes 2-4/10", "234"],
      ["bytes=7-", "bytes 7-9/10", "789"],
      ["bytes=-3", "bytes 7-9/10", "789"],
      ["bytes=-30", "bytes 0-9/10", "0123456789"],
      ["bytes=8-100", "bytes 8-9/10", "89"],
      ["bytes=9-9", "bytes 9-9/10", "9"],
    ];
    for (const [range, contentRange, body] of cases) {
      const res = await t.app.request(t.download_url, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), contentRange);
      assert.equal(res.headers.get("content-length"), String(body.length));
      assert.equal(await res.text(), body);
    }
  });

  test("answers 416 with bytes */N for an unsatisfiable range", async () => {
    const t = await uploaded("0123456789");
    for (const range of ["bytes=10-", "bytes=10-20", "bytes=-0"]) {
      const res = await t.app.request(t.download_url, { headers: { range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get("content-range"), "bytes */10");
      const json = await res.json();
      assert.equal(json.error.type, "range_not_satisfiable");
    }
    const empty = await uploaded("", { name: "empty.txt" });
    const res = await empty.app.request(empty.download_url, {
      headers: { range: "bytes=0-" },
    });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("content-range"), "bytes */0");
  });

  test("sends the whole file for multiple, malformed or stale ranges", async () => {
    const t = await uploaded("0123456789");
    const etag = (await t.app.request(t.download_url, { method: "HEAD" }))
      .headers.get("etag")!;
    const cases: Record<string, string>[] = [
      { range: "bytes=0-1,4-5" },
      { range: "bytes=5-2" },
      { range: "items=0-1" },
      { range: "bytes=a-b" },
      { range: "bytes=0-1", "if-range": '"stale"' },
    ];
    for (const headers of cases) {
      const res = await t.app.request(t.download_url, { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal(await res.text(), "0123456789");
    }
    const fresh = await t.app.request(t.download_url, {
      headers: { range: "bytes=0-1", "if-range": etag },
    });
    assert.equal(fresh.status, 206);
    assert.equal(await fresh.text(), "01");
  });

  test("answers 304 when If-None-Match matches", async () => {
    const t = await uploaded("hello");
    const etag = (await t.app.request(t.download_url, { method: "HEAD" }))
      .headers.get("etag")!;
    for (const value of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await t.app.request(t.download_url, {
        headers: { "if-none-match": value },
      });
      assert.equal(res.status, 304, value);
      assert.equal(res.headers.get("etag"), etag);
      assert.equal(await res.text(), "");
    }
    const other = await t.app.request(t.download_url, {
      headers: { "if-none-match": '"other"' },
    });
    assert.equal(other.status, 200);
    assert.equal(await other.text(), "hello");
  });

  test("answers 403 for a bad signature, an upload URL (on a route without management), or an expired URL", async () => {
    let now = Date.UTC(2030, 0, 1);
    const t = await uploaded("hello", {}, {
      now: () => now,
      downloadTtl: 60,
      // Without apiKeys or manage, GET /files/{id} is no endpoint of its own.
      apiKeys: undefined,
      authorize: () => true,
    });
    const renamed = new URL(t.download_url);
    renamed.pathname = renamed.pathname.replace(/hello\.txt$/, "hello.html");
    const resigned = new URL(t.download_url);
    resigned.searchParams.set("sig", "A".repeat(43));
    for (const url of [renamed.href, resigned.href, t.upload_url]) {
      const [status, type] = await errorOf(await t.app.request(url));
      assert.deepEqual([status, type], [403, "permission_denied"], url);
    }
    now += 60_000;
    const [status, , message] = await errorOf(
      await t.app.request(t.download_url),
    );
    assert.equal(status, 403);
    assert.match(message, /expired/);
    assert.ok(!t.storage.calls.some((call) => call.startsWith("read")));
  });

  test("answers 404 before the file is uploaded", async () => {
    const t = makeApp();
    const { download_url } = await create(t.app);
    const [status, type] = await errorOf(await t.app.request(download_url));
    assert.deepEqual([status, type], [404, "not_found"]);
  });

  test("accepts the download name spelled with other percent-escapes", async () => {
    const t = await uploaded("hi", { name: "a b.txt" });
    const url = new URL(t.download_url);
    url.pathname = url.pathname.replace("a%20b.txt", "%61%20b%2Etxt");
    assert.equal((await t.app.request(url.href)).status, 200);
  });
});
