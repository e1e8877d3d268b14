/**
 * `Files.get()`, `list()`, `delete()` and `downloadUrl()` against
 * `filesRoute` over memory storage, served on loopback by the runtime's own
 * server.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, Client } from "../../mod.ts";
import {
  all,
  offBy,
  type Server,
  startServer,
  uploadText,
} from "./_manage_route.ts";

describe("Files on the route", () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.close();
  });

  test("get() answers the stored file as the route describes it", async () => {
    const client = server.client();
    const before = Date.now();
    const id = await uploadText(client, "notes.txt", "hello", "avatar");
    const file = await client.files.get(id);
    assert.deepEqual(
      { ...file, uploaded_at: undefined },
      {
        id,
        name: "notes.txt",
        size: 5,
        mime_type: "text/plain",
        resource: "avatar",
        uploaded_at: undefined,
        expires_at: null,
      },
    );
    const uploaded = Date.parse(file.uploaded_at);
    assert.ok(uploaded >= before - 1000 && uploaded <= Date.now() + 1000);
    assert.ok(
      server.requests.includes(`GET /v1/files/${id}`),
      server.requests.join("\n"),
    );
  });

  test("list({ limit: 2 }) follows next_cursor page by page and yields every file, newest first", async () => {
    const own = await startServer();
    try {
      const client = own.client();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await uploadText(client, `file-${i}.txt`));
        // Ids sort by time at millisecond precision.
        await new Promise((done) => setTimeout(done, 3));
      }
      own.requests.length = 0;
      const listed = await all(client.files.list({ limit: 2 }));
      assert.deepEqual(listed.map((file) => file.id), ids.toReversed());
      assert.deepEqual(
        listed.map((file) => file.name),
        ["file-4.txt", "file-3.txt", "file-2.txt", "file-1.txt", "file-0.txt"],
      );
      const pages = own.requests.filter((r) => r.startsWith("GET /v1/files"));
      assert.ok(pages.length >= 3, pages.join("\n"));
      assert.equal(pages[0], "GET /v1/files?limit=2");
      for (const page of pages.slice(1)) {
        assert.match(page, /^GET \/v1\/files\?limit=2&cursor=[^&]+$/);
      }
    } finally {
      await own.close();
    }
  });

  test("list() asks for the next page only when the iteration reaches it", async () => {
    const own = await startServer();
    try {
      const client = own.client();
      for (let i = 0; i < 3; i++) await uploadText(client, `f${i}.txt`);
      own.requests.length = 0;
      const files = client.files.list({ limit: 2 });
      assert.equal(own.requests.length, 0, "no request before iterating");
      for await (const _file of files) break;
      assert.deepEqual(own.requests, ["GET /v1/files?limit=2"]);
    } finally {
      await own.close();
    }
  });

  test("list({ resource }) lists only that resource's files", async () => {
    const own = await startServer();
    try {
      const client = own.client();
      const avatar = await uploadText(client, "me.png", "png", "avatar");
      await uploadText(client, "p.txt", "p", "prediction");
      const listed = await all(client.files.list({ resource: "avatar" }));
      assert.deepEqual(listed.map((file) => file.id), [avatar]);
      assert.ok(own.requests.includes("GET /v1/files?resource=avatar"));
      assert.equal((await all(client.files.list())).length, 2);
    } finally {
      await own.close();
    }
  });

  test("list() of an unknown resource rejects with the route's 400", async () => {
    const error = await all(
      server.client().files.list({ resource: "nope" }),
    ).catch((e) => e);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.match(
      error.message,
      /^Cannot list files: server responded with 400/,
    );
  });

  test("delete() removes the file: get() and its download URL answer 404, a second delete() too", async () => {
    const client = server.client();
    const result = await client.files.uploadFile(
      new TextEncoder().encode("bye"),
      "prediction",
      { name: "bye.txt" },
    );
    const id = result.id!;
    assert.equal((await fetch(result.downloadUrl)).status, 200);
    await client.files.delete(id);
    assert.ok(server.requests.includes(`DELETE /v1/files/${id}`));
    const got = await client.files.get(id).catch((e) => e);
    assert.ok(got instanceof ApiError, String(got));
    assert.equal(got.status, 404);
    const download = await fetch(result.downloadUrl);
    await download.body?.cancel();
    assert.equal(download.status, 404);
    const again = await client.files.delete(id).catch((e) => e);
    assert.ok(again instanceof ApiError, String(again));
    assert.equal(again.status, 404);
    assert.match(
      again.message,
      new RegExp(`^Cannot delete file "${id}": server responded with 404`),
    );
    assert.ok(
      !(await all(client.files.list())).some((file) => file.id === id),
    );
  });

  test("downloadUrl() hands out a fresh URL that downloads the file and expires when asked", async () => {
    const client = server.client();
    const id = await uploadText(client, "fresh.txt", "fresh bytes");
    const url = await client.files.downloadUrl(id, { expiresIn: 120 });
    assert.ok(offBy(url.expires_at, 120) < 5000, url.expires_at);
    const res = await fetch(url.download_url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "fresh bytes");
    assert.ok(
      server.requests.includes(`POST /v1/files/${id}/download_url`),
    );
    const plain = await client.files.downloadUrl(id);
    assert.ok(Date.parse(plain.expires_at) > Date.now());
  });

  test("an unknown id rejects with ApiError 404 from every method, named in the message", async () => {
    const client = server.client();
    const id = "AAAAAAAAAAAAAAAAAAAAAA";
    for (
      const [call, action] of [
        [() => client.files.get(id), `Cannot get file "${id}"`],
        [() => client.files.delete(id), `Cannot delete file "${id}"`],
        [
          () => client.files.downloadUrl(id),
          `Cannot create a download URL for file "${id}"`,
        ],
      ] as const
    ) {
      const error = await (call as () => Promise<unknown>)().catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 404);
      assert.ok(
        error.message.startsWith(`${action}: server responded with 404`),
      );
    }
  });

  test("an id with /, ? and % goes as one encoded path segment, and is not found", async () => {
    const client = server.client();
    server.requests.length = 0;
    const error = await client.files.get("a/b?c%d").catch((e) => e);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 404);
    assert.deepEqual(server.requests, ["GET /v1/files/a%2Fb%3Fc%25d"]);
  });

  test("a wrong or missing API key rejects with ApiError 401 from every method", async () => {
    const id = await uploadText(server.client(), "secret.txt");
    for (const apiKey of ["wrong-key", ""]) {
      const client = new Client({
        baseUrl: server.baseUrl,
        apiKey,
        maxRetries: 0,
      });
      for (
        const call of [
          () => client.files.get(id),
          () => all(client.files.list()),
          () => client.files.delete(id),
          () => client.files.downloadUrl(id),
        ]
      ) {
        const error = await call().catch((e) => e);
        assert.ok(error instanceof ApiError, String(error));
        assert.equal(error.status, 401, error.message);
      }
    }
    // Still there.
    assert.equal((await server.client().files.get(id)).id, id);
  });

  test("bad ids and options are refused with TypeError or RangeError naming the action, before any request", async () => {
    const client = server.client();
    server.requests.length = 0;
    const cases: [() => unknown, string, RegExp][] = [
      [() => client.files.get(""), "TypeError", /^Cannot get file: id must/],
      [() => client.files.get(".."), "TypeError", /^Cannot get file: id must/],
      [
        () => client.files.delete(42 as unknown as string),
        "TypeError",
        /^Cannot delete file: id must .*got number$/,
      ],
      [
        () => client.files.downloadUrl("."),
        "TypeError",
        /^Cannot create a download URL for file: id must/,
      ],
      [
        () => client.files.downloadUrl("abc", { expiresIn: 0 }),
        "RangeError",
        /^Cannot create a download URL for file "abc": expiresIn must be a positive whole number of seconds, got 0$/,
      ],
      [
        () => client.files.downloadUrl("abc", { expiresIn: 1.5 }),
        "RangeError",
        /expiresIn must be/,
      ],
      [
        () => client.files.list({ limit: 0 }),
        "RangeError",
        /^Cannot list files: limit must be a whole number from 1 to 1000, got 0$/,
      ],
      [
        () => client.files.list({ limit: 1001 }),
        "RangeError",
        /limit must be/,
      ],
      [
        () => client.files.list({ resource: "" }),
        "TypeError",
        /^Cannot list files: resource must be a non-empty string/,
      ],
    ];
    for (const [call, name, message] of cases) {
      await assert.rejects(async () => await call(), { name, message });
    }
    // list() throws when called, not when iterated.
    assert.throws(() => client.files.list({ limit: -1 }), RangeError);
    assert.deepEqual(server.requests, []);
  });

  test("the async methods reject with TypeError or RangeError, before any request", async () => {
    const client = server.client();
    server.requests.length = 0;
    await assert.rejects(client.files.get(""), TypeError);
    await assert.rejects(client.files.delete(".."), TypeError);
    await assert.rejects(
      client.files.downloadUrl("x", { expiresIn: -5 }),
      RangeError,
    );
    await assert.rejects(
      client.files.upload(new Uint8Array(1), "prediction", {
        name: "a.bin",
        lifetime: 0,
      }),
      {
        name: "RangeError",
        message:
          "Cannot upload: lifetime must be a positive whole number of seconds, got 0",
      },
    );
    await assert.rejects(
      client.files.createUrls({
        name: "a.bin",
        size: 1,
        resource: "prediction",
        mime_type: "application/octet-stream",
        lifetime: 2.5,
      }),
      RangeError,
    );
    assert.deepEqual(server.requests, []);
  });
});
