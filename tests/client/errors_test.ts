/**
 * The client's errors: what an error answer or an unreachable server becomes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, Client, ConnectionError, FileUrlsError } from "../../mod.ts";
import { apiClient, startApi } from "../_api.ts";

describe("errors", () => {
  test("a 401 JSON answer becomes an ApiError", async () => {
    const api = await startApi(() => ({
      status: 401,
      headers: { "content-type": "application/json", "x-request-id": "req-9" },
      body: '{"error":{"type":"unauthorized","message":"Bad API key"}}',
    }));
    try {
      const error = await apiClient(api).files.upload(
        new File(["x"], "a.png"),
        "prediction",
      ).catch((e) => e);
      assert.ok(error instanceof ApiError);
      assert.ok(error instanceof FileUrlsError);
      assert.equal(error.status, 401);
      assert.equal(error.type, "unauthorized");
      assert.equal(error.requestId, "req-9");
      assert.equal(
        error.message,
        'Cannot upload "a.png": server responded with 401: Bad API key',
      );
      assert.equal(api.requests.length, 1, "a 401 is not retried");
    } finally {
      await api.close();
    }
  });

  test("an HTML 502 becomes an ApiError after the retries", async () => {
    const api = await startApi(() => ({
      status: 502,
      headers: { "content-type": "text/html", "retry-after": "0" },
      body: "<html><body>Bad gateway</body></html>",
    }));
    try {
      const error = await apiClient(api, { maxRetries: 1 }).files.upload(
        new File(["x"], "a.png"),
        "prediction",
      ).catch((e) => e);
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 502);
      assert.equal(error.type, "http_error");
      assert.equal(
        error.message,
        'Cannot upload "a.png": server responded with 502: Bad Gateway',
      );
      assert.equal(api.requests.length, 2);
    } finally {
      await api.close();
    }
  });

  test("a 413 on the upload names the file", async () => {
    const api = await startApi((r) =>
      r.method === "PUT"
        ? {
          status: 413,
          body: '{"error":{"type":"too_large","message":"Too large"}}',
        }
        : undefined
    );
    try {
      await assert.rejects(
        apiClient(api).files.upload(new File(["x"], "a.png"), "prediction"),
        {
          name: "ApiError",
          message:
            'Cannot upload "a.png": server responded with 413: Too large',
        },
      );
    } finally {
      await api.close();
    }
  });

  test("an unreachable server becomes a ConnectionError", async () => {
    const api = await startApi();
    const baseUrl = api.baseUrl;
    await api.close();
    const error = await new Client({ baseUrl, maxRetries: 1 }).files.upload(
      new File(["x"], "a.png"),
      "prediction",
    ).catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /^Cannot upload "a\.png": cannot reach http:/);
    assert.ok(error.cause);
  });
});
