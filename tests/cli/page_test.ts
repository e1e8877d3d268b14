/**
 * The upload page `fileurls serve` answers at `/`: its headers, its assets,
 * and the committed bundle of its script, which must be what
 * `deno task build:page` builds now. The page in a browser is tested in
 * `tests/runtimes/browser_page_test.ts`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { uploadPage } from "../../src/cli/_page.ts";
import { PAGE_JS } from "../../src/cli/_page_assets.ts";
import { buildPageAssets, PAGE_ASSETS } from "../../page-build.ts";

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

function directives(header: string | null): Map<string, string> {
  return new Map(
    (header ?? "").split(";").map((d) => d.trim()).filter((d) => d).map(
      (d) => [d.split(" ")[0], d.slice(d.indexOf(" ") + 1)],
    ),
  );
}

describe("uploadPage()", () => {
  const app = new Hono().route("/", uploadPage());

  test("answers the page, its script and its styles with their types, a strict CSP and no framing", async () => {
    for (
      const [path, type] of [
        ["/", "text/html; charset=utf-8"],
        ["/page.js", "text/javascript; charset=utf-8"],
        ["/page.css", "text/css; charset=utf-8"],
        ["/favicon.svg", "image/svg+xml"],
      ]
    ) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), type, path);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        assert.equal(res.headers.get(name), value, `${path} ${name}`);
      }
      const csp = directives(res.headers.get("content-security-policy"));
      assert.equal(csp.get("default-src"), "'none'");
      assert.equal(csp.get("script-src"), "'self'");
      assert.equal(csp.get("style-src"), "'self'");
      assert.equal(csp.get("connect-src"), "'self'");
      assert.equal(csp.get("frame-ancestors"), "'none'");
      assert.equal(csp.get("base-uri"), "'none'");
      assert.equal(csp.get("form-action"), "'none'");
    }
  });

  test("serves the committed script, and a page with no inline script, style or handler", async () => {
    assert.equal(await (await app.request("/page.js")).text(), PAGE_JS);
    const html = await (await app.request("/")).text();
    assert.match(html, /<script type="module" src="page\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="page\.css">/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    assert.match(html, /<main id="app" data-api="v1">/);
  });

  test("allows the origins of an absolute apiUrl and of connectOrigins in connect-src, and says where the API is", async () => {
    const page = uploadPage({
      apiUrl: "https://files.example.com/api/v1",
      connectOrigins: ["https://bucket.s3.eu-west-1.amazonaws.com/", "nope"],
      partSize: 65536,
    });
    const res = await page.request("/");
    assert.equal(
      directives(res.headers.get("content-security-policy")).get(
        "connect-src",
      ),
      "'self' https://files.example.com https://bucket.s3.eu-west-1.amazonaws.com",
    );
    assert.match(
      await res.text(),
      /<main id="app" data-api="https:\/\/files\.example\.com\/api\/v1" data-part-size="65536">/,
    );
  });

  test("answers nothing else, so that the app it is mounted in answers 404", async () => {
    for (const path of ["/index.html", "/page.ts", "/v1"]) {
      assert.equal((await app.request(path)).status, 404, path);
    }
    assert.equal((await app.request("/", { method: "POST" })).status, 404);
  });

  test("refuses a partSize that is not a positive whole number with a RangeError", () => {
    for (const partSize of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => uploadPage({ partSize }), {
        name: "RangeError",
        message:
          `Cannot serve the upload page: partSize must be a positive whole number, got ${partSize}`,
      });
    }
  });
});

test("src/cli/_page_assets.ts is what `deno task build:page` builds from the sources now", async () => {
  const committed = readFileSync(PAGE_ASSETS, "utf8");
  const built = await buildPageAssets();
  assert.ok(
    committed === built,
    "src/cli/_page_assets.ts is stale: run `deno task build:page` and commit it",
  );
});
