/** The client's retries, and how it stops: abort signals and timeouts. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { TimeoutError } from "../../mod.ts";
import { apiClient, startApi } from "../_api.ts";
import { bytes } from "../_data.ts";

describe("retries", () => {
  test("503 twice, then the whole body is sent again and succeeds", async () => {
    let puts = 0;
    const api = await startApi((r) =>
      r.method === "PUT" && ++puts <= 2
        ? { status: 503, body: "busy" }
        : undefined
    );
    try {
      const data = bytes(100_000, 5);
      await apiClient(api).files.upload(data, "prediction", { name: "a.bin" });
      const uploads = api.uploads();
      assert.equal(uploads.length, 3);
      for (const put of uploads) {
        assert.equal(put.headers["content-length"], "100000");
        assert.ok(Buffer.from(put.body).equals(Buffer.from(data)));
      }
    } finally {
      await api.close();
    }
  });

  test("a dropped connection is retried", async () => {
    const api = await startApi((_r, i) =>
      i === 0 ? { destroy: true } : undefined
    );
    try {
      await apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction");
      assert.equal(api.creates().length, 2);
    } finally {
      await api.close();
    }
  });

  test("408 and 429 are retried", async () => {
    const api = await startApi((_r, i) =>
      i < 2
        ? { status: i === 0 ? 408 : 429, headers: { "retry-after": "0" } }
        : undefined
    );
    try {
      await apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction");
      assert.equal(api.creates().length, 3);
    } finally {
      await api.close();
    }
  });

  test("400 is not retried", async () => {
    const api = await startApi(() => ({
      status: 400,
      body: '{"error":{"type":"invalid_request","message":"No"}}',
    }));
    try {
      await assert.rejects(
        apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction"),
        { name: "ApiError", status: 400 },
      );
      assert.equal(api.requests.length, 1);
    } finally {
      await api.close();
    }
  });

  test("Retry-After is honoured", async () => {
    const api = await startApi((_r, i) =>
      i === 0 ? { status: 503, headers: { "retry-after": "1" } } : undefined
    );
    try {
      const start = performance.now();
      await apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction");
      assert.ok(performance.now() - start >= 950, "waited the second it asked");
      assert.equal(api.creates().length, 2);
    } finally {
      await api.close();
    }
  });

  test("the backoff doubles: at least 250 ms before the second try, 500 ms before the third", async () => {
    const times: number[] = [];
    const api = await startApi((_r, i) => {
      times.push(performance.now());
      return i < 2 ? { status: 503, body: "busy" } : undefined;
    });
    try {
      await apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction");
      assert.equal(times.length, 4, "two failures, the create, the upload");
      const first = times[1] - times[0];
      const second = times[2] - times[1];
      assert.ok(first >= 240, `waited ${first} ms before the second try`);
      assert.ok(second >= 490, `waited ${second} ms before the third try`);
    } finally {
      await api.close();
    }
  });

  test("Retry-After as an HTTP date is waited for", async () => {
    const times: number[] = [];
    const api = await startApi((_r, i) => {
      times.push(performance.now());
      // Two seconds ahead, in whole seconds: a wait of one to two seconds,
      // longer than any first backoff (at most 500 ms).
      const date = new Date(Date.now() + 2000).toUTCString();
      return i === 0
        ? { status: 503, headers: { "retry-after": date } }
        : undefined;
    });
    try {
      await apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction");
      const waited = times[1] - times[0];
      assert.ok(waited >= 900, `waited ${waited} ms for the date`);
    } finally {
      await api.close();
    }
  });

  test("a timeout is not retried, whatever maxRetries", async () => {
    const api = await startApi(() => ({ status: 201, delay: 1500 }));
    try {
      const error = await apiClient(api, { timeout: 200, maxRetries: 3 }).files
        .upload(new File(["x"], "a.txt"), "prediction").catch((e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      // Long enough for a retry to have arrived, had there been one.
      await new Promise((done) => setTimeout(done, 700));
      assert.equal(api.requests.length, 1);
    } finally {
      await api.close();
    }
  });

  test("a Retry-After beyond a minute is not waited for", async () => {
    const api = await startApi(() => ({
      status: 503,
      headers: { "retry-after": "3600" },
    }));
    try {
      await assert.rejects(
        apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction"),
        { name: "ApiError", status: 503 },
      );
      assert.equal(api.requests.length, 1);
    } finally {
      await api.close();
    }
  });
});

describe("abort and timeout", () => {
  test("an aborted signal rejects with its reason and sends nothing", async () => {
    const api = await startApi();
    try {
      const reason = new Error("stop");
      await assert.rejects(
        apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction", {
          signal: AbortSignal.abort(reason),
        }),
        (e) => e === reason,
      );
      assert.equal(api.requests.length, 0);
    } finally {
      await api.close();
    }
  });

  test("aborting during the upload rejects with the reason", async () => {
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const api = await startApi((r) => {
      if (r.method === "PUT") {
        controller.abort(reason);
        return { status: 201, delay: 2000 };
      }
    });
    try {
      await assert.rejects(
        apiClient(api).files.upload(new File(["x"], "a.txt"), "prediction", {
          signal: controller.signal,
        }),
        (e) => e === reason,
      );
      assert.equal(api.uploads().length, 1, "an abort is not retried");
    } finally {
      await api.close();
    }
  });

  test("a slow answer becomes a TimeoutError", async () => {
    const api = await startApi(() => ({ status: 201, delay: 1500 }));
    try {
      const error = await apiClient(api, { timeout: 200, maxRetries: 0 }).files
        .upload(new File(["x"], "a.txt"), "prediction").catch((e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.timeout, 200);
      // The message names the URL that did not answer.
      assert.equal(
        error.message,
        `Cannot upload "a.txt": no answer from ${api.baseUrl}/files/urls within 200 ms`,
      );
      assert.equal(error.url, `${api.baseUrl}/files/urls`);
    } finally {
      await api.close();
    }
  });
});
