/** The `cors` option: preflights, and the headers on answers and errors. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { create, errorOf, HELLO, makeApp, postUrls, put } from "../_route.ts";

describe("CORS", () => {
  const origin = "https://app.example";

  test("answers a PUT preflight from an allowed origin", async () => {
    const t = makeApp({ cors: [origin] });
    const { upload_url } = await create(t.app);
    const res = await t.app.request(upload_url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), origin);
    assert.match(res.headers.get("access-control-allow-methods")!, /PUT/);
    assert.equal(
      res.headers.get("access-control-allow-headers"),
      "content-type",
    );
    assert.match(res.headers.get("vary")!, /Origin/);
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
  });

  test("answers a POST preflight allowing authorization and content-type", async () => {
    const t = makeApp({ cors: "*" });
    const res = await t.app.request("http://localhost/v1/files/urls", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("access-control-allow-methods"), "POST");
    assert.equal(
      res.headers.get("access-control-allow-headers"),
      "authorization, content-type",
    );
  });

  test("refuses a preflight from another origin or for another method", async () => {
    const t = makeApp({ cors: [origin] });
    const other = await t.app.request("http://localhost/v1/files/urls", {
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
      },
    });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const method = await t.app.request("http://localhost/v1/files/urls", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "DELETE" },
    });
    assert.equal(method.status, 403);
  });

  test("adds Access-Control-Allow-Origin and exposed headers to answers and errors", async () => {
    const t = makeApp({ cors: [origin] });
    const res = await postUrls(t.app, HELLO, { origin });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("access-control-allow-origin"), origin);
    const { upload_url, download_url } = await res.json();
    await put(t.app, upload_url, "hello");
    const got = await t.app.request(download_url, { headers: { origin } });
    assert.equal(got.headers.get("access-control-allow-origin"), origin);
    assert.match(
      got.headers.get("access-control-expose-headers")!,
      /Content-Disposition.*ETag/,
    );
    const error = await postUrls(t.app, "{", { origin });
    assert.equal(error.status, 400);
    assert.equal(error.headers.get("access-control-allow-origin"), origin);
    // A browser's client sees when to try again, and the request's id.
    assert.match(
      error.headers.get("access-control-expose-headers")!,
      /\bRetry-After\b.*\bX-Request-Id\b/,
    );
    const stranger = await postUrls(t.app, HELLO, {
      origin: "https://evil.example",
    });
    assert.equal(stranger.headers.get("access-control-allow-origin"), null);
  });

  test("answers no preflight without the cors option", async () => {
    const t = makeApp();
    const res = await t.app.request("http://localhost/v1/files/urls", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    // OPTIONS is a method this path does not take without cors: 405.
    assert.deepEqual((await errorOf(res)).slice(0, 2), [
      405,
      "method_not_allowed",
    ]);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
});
