/**
 * The URLs the route hands out start with the request's own origin (or
 * `publicUrl`), whatever `X-Forwarded-*` or `Forwarded` headers a client
 * sends: a client cannot make the route sign URLs for another host.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { API_KEY, makeApp } from "../_route.ts";
import { serveApp } from "../_serve.ts";

const FORWARDED = {
  "x-forwarded-host": "evil.example",
  "x-forwarded-proto": "https",
  "x-forwarded-port": "8443",
  "x-forwarded-prefix": "/elsewhere",
  "forwarded": "host=evil.example;proto=https",
};

describe("X-Forwarded-* and Forwarded", () => {
  for (
    const [label, path, body] of [
      ["POST /files/urls", "files/urls", {}],
      ["POST /files/uploads", "files/uploads", { part_size: 5 * 1024 ** 2 }],
    ] as const
  ) {
    test(`are ignored by ${label}`, async () => {
      const t = makeApp();
      const server = await serveApp(t.app);
      try {
        const res = await fetch(`${server.url}/v1/${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}`, ...FORWARDED },
          body: JSON.stringify({
            name: "a.txt",
            size: 5,
            resource: "prediction",
            mime_type: "text/plain",
            ...body,
          }),
        });
        assert.equal(res.status, 201, await res.clone().text());
        const answer = await res.json();
        for (const field of ["upload_url", "download_url"]) {
          assert.ok(
            answer[field].startsWith(`${server.url}/v1/files/`),
            `${field}: ${answer[field]}`,
          );
        }
      } finally {
        await server.close();
      }
    });
  }

  test("are ignored with publicUrl too", async () => {
    const t = makeApp({ publicUrl: "https://files.example.com/v1" });
    const server = await serveApp(t.app);
    try {
      const res = await fetch(`${server.url}/v1/files/urls`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, ...FORWARDED },
        body: JSON.stringify({
          name: "a.txt",
          size: 5,
          resource: "prediction",
          mime_type: "text/plain",
        }),
      });
      const answer = await res.json();
      assert.ok(
        answer.upload_url.startsWith("https://files.example.com/v1/files/"),
        answer.upload_url,
      );
    } finally {
      await server.close();
    }
  });
});
