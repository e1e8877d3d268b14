/**
 * The requests behind `complete_url`, `lifetime`, `list()` and `delete()`
 * byte for byte, and the answers a misbehaving server gives them, against
 * the recording stand-in API (`../_api.ts`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  type FileObject,
  FileUrlsError,
  type UploadProgress,
  uploadTo,
} from "../../mod.ts";
import type { RecordedRequest } from "../_recorder.ts";
import { apiClient, type FakeApi, startApi } from "../_api.ts";

const text = (request: RecordedRequest) =>
  new TextDecoder().decode(request.body);

/** A stand-in API whose create answer carries `complete_url` and `id`. */
async function completingApi(
  complete: (request: RecordedRequest, count: number) => {
    status: number;
    body?: string;
  } = () => ({ status: 200, body: '{"id":"from-complete"}' }),
): Promise<FakeApi> {
  let completes = 0;
  const api: FakeApi = await startApi((request) => {
    if (request.method === "POST" && request.target === "/v1/files/urls") {
      return {
        status: 201,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: "from-create",
          upload_url: `${api.url}/upload/1?sig=x`,
          download_url: `${api.url}/download/1?sig=y`,
          complete_url: `${api.url}/v1/files/from-create/complete?sig=z`,
          expires_at: "2030-01-01T00:00:00.000Z",
        }),
      };
    }
    if (request.target.startsWith("/v1/files/from-create/complete")) {
      const answer = complete(request, completes++);
      return {
        status: answer.status,
        headers: { "content-type": "application/json" },
        body: answer.body ?? "{}",
      };
    }
    return undefined;
  });
  return api;
}

const completes = (api: FakeApi) =>
  api.requests.filter((r) => r.target.includes("/complete"));

describe("complete_url", () => {
  test("upload() POSTs it after the PUT, with no API key and no body, before it resolves", async () => {
    const api = await completingApi();
    try {
      const events: UploadProgress[] = [];
      const result = await apiClient(api).files.uploadFile(
        new TextEncoder().encode("hello"),
        "prediction",
        { name: "a.txt", onProgress: (p) => events.push(p) },
      );
      assert.deepEqual(
        api.requests.map((r) => `${r.method} ${r.target}`),
        [
          "POST /v1/files/urls",
          "PUT /upload/1?sig=x",
          "POST /v1/files/from-create/complete?sig=z",
        ],
      );
      const [post] = completes(api);
      assert.equal(post.headers.authorization, undefined);
      assert.equal(post.headers["content-type"], undefined);
      assert.equal(post.body.byteLength, 0);
      assert.ok(
        post.headers["content-length"] === "0" ||
          post.headers["content-length"] === undefined,
      );
      assert.equal(result.id, "from-complete");
      // The id the API gave with the URLs.
      assert.deepEqual(events.at(-1), {
        loaded: 5,
        total: 5,
        id: "from-create",
      });
      const settled = events.length;
      await new Promise((done) => setTimeout(done, 20));
      assert.equal(events.length, settled, "no progress after settling");
    } finally {
      await api.close();
    }
  });

  test("a 503 from it is retried like any API call", async () => {
    const api = await completingApi((_request, count) =>
      count === 0 ? { status: 503 } : { status: 200, body: "{}" }
    );
    try {
      const result = await apiClient(api, { maxRetries: 1 }).files.uploadFile(
        new TextEncoder().encode("hello"),
        "prediction",
        { name: "a.txt" },
      );
      assert.equal(completes(api).length, 2);
      assert.equal(api.uploads().length, 1, "the bytes go once");
      assert.equal(result.id, "from-create");
    } finally {
      await api.close();
    }
  });

  test("its failure fails the upload with an error naming the step", async () => {
    const api = await completingApi(() => ({
      status: 400,
      body:
        '{"error":{"type":"invalid_request","message":"size does not match"}}',
    }));
    try {
      const error = await apiClient(api).files.upload(
        new TextEncoder().encode("hello"),
        "prediction",
        { name: "a.txt" },
      ).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 400);
      assert.equal(
        error.message,
        'Cannot upload "a.txt": cannot complete the upload: server responded with 400: size does not match',
      );
    } finally {
      await api.close();
    }
  });

  test("uploadTo() calls it for URLs made elsewhere, with no API key", async () => {
    const api = await completingApi();
    try {
      const result = await uploadTo(
        {
          upload_url: `${api.url}/upload/1?sig=x`,
          download_url: `${api.url}/download/1?sig=y`,
          complete_url: `${api.url}/v1/files/from-create/complete?sig=z`,
        },
        new File(["hello"], "a.txt", { type: "text/plain" }),
      );
      assert.equal(completes(api).length, 1);
      assert.equal(completes(api)[0].headers.authorization, undefined);
      assert.equal(result.id, "from-complete");
    } finally {
      await api.close();
    }
  });

  test("one that is not an http(s) URL is refused before any byte is sent", async () => {
    const api = await startApi((request) =>
      request.target === "/v1/files/urls"
        ? {
          status: 201,
          body: JSON.stringify({
            upload_url: "http://127.0.0.1:9/upload?sig=x",
            download_url: "http://127.0.0.1:9/download?sig=y",
            complete_url: "javascript:alert(1)",
          }),
        }
        : undefined
    );
    try {
      const error = await apiClient(api).files.upload(
        new TextEncoder().encode("hello"),
        "prediction",
        { name: "a.txt" },
      ).catch((e) => e);
      assert.ok(error instanceof FileUrlsError, String(error));
      assert.match(error.message, /complete_url is a javascript: URL/);
      assert.equal(api.uploads().length, 0);
    } finally {
      await api.close();
    }
  });
});

describe("lifetime on the wire", () => {
  test("upload() sends it on create; without it the body stays as before", async () => {
    const api = await startApi();
    try {
      const client = apiClient(api);
      const data = new TextEncoder().encode("hi");
      await client.files.upload(data, "prediction", {
        name: "a.txt",
        lifetime: 86_400,
      });
      await client.files.upload(data, "prediction", { name: "b.txt" });
      assert.deepEqual(api.creates().map((r) => JSON.parse(text(r))), [
        {
          name: "a.txt",
          size: 2,
          resource: "prediction",
          mime_type: "text/plain",
          lifetime: 86_400,
        },
        {
          name: "b.txt",
          size: 2,
          resource: "prediction",
          mime_type: "text/plain",
        },
      ]);
    } finally {
      await api.close();
    }
  });
});

function file(id: string): FileObject {
  return {
    id,
    name: `${id}.txt`,
    size: 1,
    mime_type: "text/plain",
    resource: "prediction",
    uploaded_at: "2030-01-01T00:00:00.000Z",
    expires_at: null,
  };
}

describe("list() and delete() against a misbehaving server", () => {
  test("list() follows cursors through empty pages, and stops at null", async () => {
    const pages: Record<string, unknown> = {
      "": { files: [file("c"), file("b")], next_cursor: "p2" },
      p2: { files: [], next_cursor: "p3" },
      p3: { files: [file("a")], next_cursor: null },
    };
    const api = await startApi((request) => {
      const url = new URL(request.target, "http://x");
      if (url.pathname !== "/v1/files") return undefined;
      return {
        status: 200,
        body: JSON.stringify(pages[url.searchParams.get("cursor") ?? ""]),
      };
    });
    try {
      const ids: string[] = [];
      for await (const f of apiClient(api).files.list()) ids.push(f.id);
      assert.deepEqual(ids, ["c", "b", "a"]);
      assert.deepEqual(api.requests.map((r) => r.target), [
        "/v1/files",
        "/v1/files?cursor=p2",
        "/v1/files?cursor=p3",
      ]);
      assert.equal(api.requests[0].headers.authorization, "Bearer key-1");
    } finally {
      await api.close();
    }
  });

  test("list() stops with FileUrlsError when a cursor comes back, or a page is no list", async () => {
    for (
      const [body, message] of [
        [
          { files: [file("a")], next_cursor: "same" },
          /^Cannot list files: server answered the cursor "same" a second time$/,
        ],
        [
          { items: [] },
          /^Cannot list files: server answered 200 without files/,
        ],
        [
          { files: [{ name: "x" }], next_cursor: null },
          /without a file's id, name and size/,
        ],
      ] as const
    ) {
      const api = await startApi((request) =>
        request.target.startsWith("/v1/files")
          ? { status: 200, body: JSON.stringify(body) }
          : undefined
      );
      try {
        const seen: string[] = [];
        const error = await (async () => {
          for await (const f of apiClient(api).files.list()) seen.push(f.id);
        })().catch((e) => e);
        assert.ok(error instanceof FileUrlsError, String(error));
        assert.match(error.message, message);
        assert.ok(api.requests.length <= 2, String(api.requests.length));
      } finally {
        await api.close();
      }
    }
  });

  test("list({ signal }) aborts the pending page and rejects with the signal's reason", async () => {
    const api = await startApi((request) =>
      request.target.startsWith("/v1/files")
        ? {
          status: 200,
          delay: 2000,
          body: JSON.stringify({ files: [], next_cursor: null }),
        }
        : undefined
    );
    try {
      const controller = new AbortController();
      const reason = new Error("stop listing");
      setTimeout(() => controller.abort(reason), 50);
      const started = Date.now();
      const error = await (async () => {
        for await (
          const _ of apiClient(api).files.list({ signal: controller.signal })
        ) {
          // nothing
        }
      })().catch((e) => e);
      assert.equal(error, reason);
      assert.ok(Date.now() - started < 1500);
    } finally {
      await api.close();
    }
  });

  test("delete() sends DELETE with the key, and resolves on a 404 after a lost answer was retried", async () => {
    const api = await startApi((request) => {
      if (request.method !== "DELETE") return undefined;
      const first = api.requests.filter((r) => r.method === "DELETE")
        .length === 1;
      return first
        ? { status: 503 }
        : { status: 404, body: '{"error":{"type":"not_found"}}' };
    });
    try {
      await apiClient(api, { maxRetries: 1 }).files.delete("abc");
      const deletes = api.requests.filter((r) => r.method === "DELETE");
      assert.equal(deletes.length, 2);
      assert.equal(deletes[0].target, "/v1/files/abc");
      assert.equal(deletes[0].headers.authorization, "Bearer key-1");
      // Without a retry, a 404 is the caller's to know.
      const error = await apiClient(api, { maxRetries: 0 }).files.delete("abc")
        .catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 404);
    } finally {
      await api.close();
    }
  });

  test("downloadUrl() posts {expires_in}, and refuses an answer without a URL", async () => {
    const api = await startApi((request) =>
      request.target === "/v1/files/abc/download_url"
        ? {
          status: 200,
          body: JSON.stringify({
            download_url: "file:///etc/passwd",
            expires_at: "2030-01-01T00:00:00.000Z",
          }),
        }
        : undefined
    );
    try {
      const error = await apiClient(api).files.downloadUrl("abc", {
        expiresIn: 90,
      }).catch((e) => e);
      assert.ok(error instanceof FileUrlsError, String(error));
      assert.match(
        error.message,
        /^Cannot create a download URL for file "abc": download_url is a file: URL/,
      );
      const [post] = api.requests;
      assert.equal(post.method, "POST");
      assert.equal(text(post), '{"expires_in":90}');
      assert.equal(post.headers["content-type"], "application/json");
    } finally {
      await api.close();
    }
  });
});
