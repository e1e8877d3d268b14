/**
 * Managing stored files through `filesRoute`: `GET /files`, `GET` and
 * `DELETE /files/{id}`, `POST /files/{id}/download_url`, and the file
 * expiry that `lifetime` sets, over `memoryStorage` and `fsStorage`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import {
  type FileObject,
  filesRoute,
  type FilesRouteOptions,
  fsStorage,
  type ManageRequest,
  memoryStorage,
  type Storage,
} from "../../src/hono/mod.ts";
import {
  API_KEY,
  create,
  errorOf,
  HELLO,
  makeApp,
  postUrls,
  put,
  SECRET,
  type TestApp,
} from "../_route.ts";
import { fileId } from "../../src/_encoding.ts";
import { createSigner } from "../../src/hono/_signing.ts";
import { signedQuery } from "../../src/hono/_signed_url.ts";

const T0 = Date.UTC(2030, 0, 1);

let dir: string;
let folders = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-route-manage-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const STORAGES: [string, () => Storage][] = [
  ["memoryStorage", () => memoryStorage()],
  ["fsStorage", () => fsStorage({ dir: join(dir, String(folders++)) })],
];

/** A route with a clock the test moves. */
interface Clocked extends TestApp {
  /** Milliseconds since the epoch, as the route sees them. */
  now: number;
}

function clocked(
  storage: () => Storage,
  options: Partial<FilesRouteOptions> = {},
): Clocked {
  const t = { now: T0 } as Clocked;
  Object.assign(
    t,
    makeApp({ storage: storage(), now: () => t.now, ...options }),
  );
  return t;
}

function call(
  t: Pick<TestApp, "app">,
  method: string,
  path: string,
  options: { key?: string | null; body?: string } = {},
): Promise<Response> {
  const key = options.key === undefined ? API_KEY : options.key;
  return Promise.resolve(t.app.request(`http://localhost/v1${path}`, {
    method,
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    body: options.body,
  }));
}

/** Creates URLs, uploads `text`, and answers the create answer. */
async function upload(
  t: Clocked,
  text = "hello",
  body: Record<string, unknown> = {},
) {
  const created = await create(t.app, {
    ...HELLO,
    size: new TextEncoder().encode(text).byteLength,
    ...body,
  });
  const res = await put(t.app, created.upload_url, text, {
    "content-type": String(body.mime_type ?? HELLO.mime_type),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return created;
}

async function getFile(t: Clocked, id: string): Promise<FileObject> {
  const res = await call(t, "GET", `/files/${id}`);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/** Every page of `GET /files`, following `next_cursor`. */
async function listAll(
  t: Clocked,
  query = "",
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    if (cursor !== null) params.set("cursor", cursor);
    const res = await call(t, "GET", `/files?${params}`);
    assert.equal(res.status, 200, await res.clone().text());
    const page = await res.json();
    ids.push(...page.files.map((file: FileObject) => file.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null);
  return { ids, pages };
}

const ID = "A".repeat(22);
const ENDPOINTS: [string, string, string?][] = [
  ["GET", "/files"],
  ["GET", `/files/${ID}`],
  ["DELETE", `/files/${ID}`],
  ["POST", `/files/${ID}/download_url`, "{}"],
];

describe("managing files: who may", () => {
  test("every endpoint answers 401 without an API key or with a wrong one", async () => {
    const t = clocked(memoryStorage);
    for (const [method, path, body] of ENDPOINTS) {
      for (const key of [null, "wrong-key"]) {
        const res = await call(t, method, path, { key, body });
        const [status, type] = await errorOf(res);
        assert.deepEqual(
          [status, type],
          [401, "authentication_error"],
          `${method} ${path} ${key}`,
        );
        assert.equal(res.headers.get("www-authenticate"), "Bearer");
      }
    }
    assert.deepEqual(t.storage.calls, []);
  });

  test("every endpoint answers 403 when manage says no, and manage hears what is asked", async () => {
    const asked: ManageRequest[] = [];
    const t = clocked(memoryStorage, {
      manage: (_c, request) => {
        asked.push(request);
        return Promise.resolve(false);
      },
    });
    const { id } = await upload(t);
    for (const [method, path, body] of ENDPOINTS) {
      const res = await call(t, method, path.replace(ID, id), { body });
      const [status, type] = await errorOf(res);
      assert.deepEqual([status, type], [403, "permission_denied"], path);
    }
    // An unknown id is refused the same way, with no resource to tell.
    assert.equal((await call(t, "GET", `/files/${ID}`)).status, 403);
    assert.deepEqual(asked, [
      { action: "list" },
      { action: "get", id, resource: "prediction" },
      { action: "delete", id, resource: "prediction" },
      { action: "download_url", id, resource: "prediction" },
      { action: "get", id: ID },
    ]);
    assert.equal((await t.storage.stat(id))?.size, 5);
  });

  test("manage alone guards the endpoints, and may allow by resource", async () => {
    const t = clocked(memoryStorage, {
      apiKeys: undefined,
      authorize: () => true,
      resources: ["prediction", "avatar"],
      manage: (c, request) =>
        c.req.header("x-admin") === "yes" || request.resource === "avatar",
    });
    const avatar = await upload(t, "hi", { resource: "avatar" });
    const other = await upload(t, "hi");
    assert.equal(
      (await call(t, "GET", `/files/${avatar.id}`, { key: null })).status,
      200,
    );
    assert.equal(
      (await call(t, "GET", `/files/${other.id}`, { key: null })).status,
      403,
    );
    const admin = await t.app.request(
      `http://localhost/v1/files/${other.id}`,
      { headers: { "x-admin": "yes" } },
    );
    assert.equal(admin.status, 200);
  });

  test("the endpoints do not exist without apiKeys or manage", async () => {
    for (
      const options of [{ public: true }, { authorize: () => true }] as const
    ) {
      const app = new Hono().route(
        "/v1",
        filesRoute({ storage: memoryStorage(), secret: SECRET, ...options }),
      );
      for (const [method, path, body] of ENDPOINTS) {
        if (method === "GET" && path !== "/files") continue; // a download path
        const res = await call({ app }, method, path, { body });
        assert.ok([404, 405].includes(res.status), `${method} ${path}`);
      }
      const list = await call({ app }, "GET", "/files");
      const [status, type, message] = await errorOf(list);
      assert.deepEqual([status, type], [404, "not_found"]);
      // Says what the route lacks, not that a download URL is wrong.
      assert.match(message, /apiKeys or manage/);
      const get = await call({ app }, "GET", `/files/${ID}`);
      assert.notEqual(get.status, 200);
    }
  });

  test("an error thrown by manage answers 500", async () => {
    const t = clocked(memoryStorage, {
      manage: () => {
        throw new Error("boom");
      },
    });
    const original = console.error;
    console.error = () => {};
    try {
      assert.equal((await call(t, "GET", "/files")).status, 500);
    } finally {
      console.error = original;
    }
  });
});

for (const [label, storage] of STORAGES) {
  describe(`managing files over ${label}`, () => {
    test("GET /files/{id} answers the exact FileObject, unicode name and all", async () => {
      const t = clocked(storage);
      const name = "résumé 📄 «final».txt";
      const created = await upload(t, "héllo", { name });
      assert.match(created.id, /^[A-Za-z0-9_-]{22}$/);
      const file = await getFile(t, created.id);
      const stored = await t.storage.stat(created.id);
      assert.deepEqual(file, {
        id: created.id,
        name,
        size: 6,
        mime_type: "text/plain",
        resource: "prediction",
        uploaded_at: stored!.uploadedAt.toISOString(),
        expires_at: null,
      });
      assert.equal(t.uploaded[0].key, created.id);
      const res = await call(t, "GET", `/files/${created.id}`);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const head = await call(t, "HEAD", `/files/${created.id}`);
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
    });

    test("GET /files/{id} answers 404 for an unknown, malformed or not yet uploaded id", async () => {
      const t = clocked(storage);
      const { id } = await create(t.app);
      for (const path of [`/files/${ID}`, `/files/${id}`]) {
        const [status, type] = await errorOf(await call(t, "GET", path));
        assert.deepEqual([status, type], [404, "not_found"], path);
      }
      for (const path of ["/files/short", `/files/${ID}x`, "/files/%41AAA"]) {
        for (const method of ["GET", "DELETE"]) {
          const [status, , message] = await errorOf(
            await call(t, method, path),
          );
          assert.equal(status, 404, `${method} ${path}`);
          // A file id that cannot be, not a download URL.
          assert.match(message, /: no such file$/, `${method} ${path}`);
        }
        const url = await call(t, "POST", `${path}/download_url`);
        assert.equal(url.status, 404, path);
        await url.body?.cancel();
      }
    });

    test("the id of the create answer is the id of the stored file", async () => {
      const t = clocked(storage);
      const created = await create(t.app);
      const res = await postUrls(t.app, HELLO);
      const json = await res.json();
      assert.equal(json.id, new URL(json.upload_url).pathname.split("/")[3]);
      const putRes = await put(t.app, created.upload_url, "hello");
      const answer = await putRes.json();
      assert.equal(answer.id, created.id);
      // The PUT answers the FileObject that GET /files/{id} answers.
      assert.deepEqual(answer, await getFile(t, created.id));
      assert.equal(t.uploaded[0].key, created.id);
    });

    test("GET /files lists newest first, page by page, with files added in between", async () => {
      const t = clocked(storage);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        t.now += 1000;
        ids.unshift((await upload(t, `file ${i}`)).id);
      }
      const first = await (await call(t, "GET", "/files?limit=2")).json();
      assert.deepEqual(
        first.files.map((file: FileObject) => file.id),
        ids.slice(0, 2),
      );
      assert.equal(first.files[0].name, "hello.txt");
      assert.equal(typeof first.next_cursor, "string");
      // A file added now is newer than every page still to come.
      t.now += 1000;
      const added = await upload(t, "late");
      const rest: string[] = [];
      let cursor: string | null = first.next_cursor;
      while (cursor !== null) {
        const res = await call(t, "GET", `/files?limit=2&cursor=${cursor}`);
        assert.equal(res.status, 200);
        const page = await res.json();
        assert.ok(page.files.length <= 2);
        rest.push(...page.files.map((file: FileObject) => file.id));
        cursor = page.next_cursor;
      }
      assert.deepEqual(rest, ids.slice(2));
      const all = await listAll(t);
      assert.deepEqual(all.ids, [added.id, ...ids]);
      const one = await listAll(t, "limit=1");
      assert.deepEqual(one.ids, [added.id, ...ids]);
      assert.ok(one.pages >= 6);
    });

    test("GET /files keeps to a resource", async () => {
      const t = clocked(storage, { resources: ["prediction", "avatar"] });
      const a = await upload(t, "a", { resource: "avatar" });
      t.now += 1000;
      const p = await upload(t, "p");
      t.now += 1000;
      const b = await upload(t, "b", { resource: "avatar" });
      assert.deepEqual((await listAll(t, "resource=avatar")).ids, [b.id, a.id]);
      assert.deepEqual((await listAll(t, "resource=prediction")).ids, [p.id]);
      assert.deepEqual((await getFile(t, a.id)).resource, "avatar");
      const page = await (await call(t, "GET", "/files?resource=avatar"))
        .json();
      assert.deepEqual(page.files[0].resource, "avatar");
    });

    test("GET /files answers 400 for a limit outside 1 to 1000, a malformed cursor or an unknown resource", async () => {
      const t = clocked(storage);
      await upload(t);
      for (
        const query of [
          "limit=0",
          "limit=1001",
          "limit=-1",
          "limit=1.5",
          "limit=abc",
          "limit=",
          "limit=01",
          "cursor=!!!",
          "cursor=a",
          "cursor=",
          `cursor=${btoa("../../etc").replaceAll("=", "")}`,
          "resource=avatar",
          "resource=",
        ]
      ) {
        const [status, type] = await errorOf(
          await call(t, "GET", `/files?${query}`),
        );
        assert.deepEqual([status, type], [400, "invalid_request"], query);
      }
      for (const limit of [1, 1000]) {
        assert.equal(
          (await call(t, "GET", `/files?limit=${limit}`)).status,
          200,
        );
      }
    });

    test("DELETE /files/{id} removes the file for good", async () => {
      const t = clocked(storage);
      const created = await upload(t);
      const del = await call(t, "DELETE", `/files/${created.id}`);
      assert.equal(del.status, 204);
      assert.equal(await del.text(), "");
      assert.equal((await call(t, "GET", `/files/${created.id}`)).status, 404);
      const [status, type] = await errorOf(
        await t.app.request(created.download_url),
      );
      assert.deepEqual([status, type], [404, "not_found"]);
      const again = await put(t.app, created.upload_url, "hello");
      assert.deepEqual((await errorOf(again)).slice(0, 2), [409, "conflict"]);
      assert.equal(
        (await call(t, "DELETE", `/files/${created.id}`)).status,
        404,
      );
      assert.equal(
        (await call(t, "POST", `/files/${created.id}/download_url`)).status,
        404,
      );
      assert.deepEqual((await listAll(t)).ids, []);
      assert.equal(await t.storage.stat(created.id), undefined);
      assert.equal(t.uploaded.length, 1);
    });

    test("a download URL that expired answers 403 while its file is stored, 404 once it is deleted", async () => {
      const t = clocked(storage);
      const created = await upload(t);
      t.now += 86_400_000; // the download URL's default lifetime
      const [status, type] = await errorOf(
        await t.app.request(created.download_url),
      );
      assert.deepEqual([status, type], [403, "permission_denied"]);
      assert.equal(
        (await call(t, "DELETE", `/files/${created.id}`)).status,
        204,
      );
      const gone = await errorOf(await t.app.request(created.download_url));
      assert.deepEqual(gone.slice(0, 2), [404, "not_found"]);
    });

    test("DELETE /files/{id} answers 404 for an unknown id, and deletes nothing", async () => {
      const t = clocked(storage);
      const kept = await upload(t);
      assert.equal((await call(t, "DELETE", `/files/${ID}`)).status, 404);
      assert.equal((await getFile(t, kept.id)).id, kept.id);
    });

    test("POST /files/{id}/download_url signs a URL that works for expires_in", async () => {
      const t = clocked(storage);
      const created = await upload(t);
      const res = await call(t, "POST", `/files/${created.id}/download_url`, {
        body: JSON.stringify({ expires_in: 60 }),
      });
      assert.equal(res.status, 200);
      const answer = await res.json();
      assert.deepEqual(Object.keys(answer).sort(), [
        "download_url",
        "expires_at",
      ]);
      assert.equal(answer.expires_at, new Date(T0 + 60_000).toISOString());
      const url = new URL(answer.download_url);
      assert.equal(url.pathname, new URL(created.download_url).pathname);
      assert.equal(await (await t.app.request(url)).text(), "hello");
      t.now += 60_000;
      assert.equal((await t.app.request(url)).status, 403);
      // No body: downloadTtl.
      const plain = await call(t, "POST", `/files/${created.id}/download_url`);
      assert.equal(
        (await plain.json()).expires_at,
        new Date(T0 + 60_000 + 86_400_000).toISOString(),
      );
    });

    test("POST /files/{id}/download_url answers 400 for an expires_in over maxDownloadTtl or malformed", async () => {
      const t = clocked(storage, { maxDownloadTtl: 7200 });
      const created = await upload(t);
      for (
        const body of [
          '{"expires_in": 7201}',
          '{"expires_in": 0}',
          '{"expires_in": -5}',
          '{"expires_in": 1.5}',
          '{"expires_in": "60"}',
          "[]",
          "nope",
        ]
      ) {
        const [status, type] = await errorOf(
          await call(t, "POST", `/files/${created.id}/download_url`, { body }),
        );
        assert.deepEqual([status, type], [400, "invalid_request"], body);
      }
      const res = await call(t, "POST", `/files/${created.id}/download_url`, {
        body: '{"expires_in": 7200}',
      });
      assert.equal(res.status, 200);
      assert.equal(
        (await call(t, "POST", `/files/${ID}/download_url`)).status,
        404,
      );
    });
  });

  describe(`file lifetime over ${label}`, () => {
    test("a lifetime over maxLifetime answers 400 and stores nothing", async () => {
      const t = clocked(storage, { maxLifetime: 3600 });
      for (const lifetime of [3601, 0, -1, 1.5, "60"]) {
        const res = await postUrls(t.app, { ...HELLO, lifetime });
        const [status, type] = await errorOf(res);
        assert.deepEqual(
          [status, type],
          [400, "invalid_request"],
          String(lifetime),
        );
      }
      assert.equal(
        (await postUrls(t.app, { ...HELLO, lifetime: 3600 })).status,
        201,
      );
      assert.deepEqual(t.storage.completed, []);
    });

    test("a lifetime that ends after the year 9999 answers 400, single or in parts", async () => {
      const t = clocked(storage);
      const last = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000 - T0 / 1000;
      for (const path of ["/files/urls", "/files/uploads"]) {
        for (const lifetime of [last + 1, Number.MAX_SAFE_INTEGER]) {
          const res = await call(t, "POST", path, {
            body: JSON.stringify({ ...HELLO, lifetime }),
          });
          const [status, type, message] = await errorOf(res);
          assert.deepEqual([status, type], [400, "invalid_request"], path);
          assert.match(message, /would expire after the year 9999/);
        }
        const res = await call(t, "POST", path, {
          body: JSON.stringify({ ...HELLO, lifetime: last }),
        });
        assert.equal(res.status, 201, path);
      }
      assert.deepEqual(t.storage.completed, []);
    });

    test("an expired file answers 404 everywhere, leaves the list, and DELETE removes it", async () => {
      const t = clocked(storage);
      const created = await upload(t, "hello", { lifetime: 100 });
      const kept = await upload(t, "kept");
      const file = await getFile(t, created.id);
      assert.equal(file.expires_at, new Date(T0 + 100_000).toISOString());
      // The download URL of the create answer never outlives the file.
      assert.equal(
        new URL(created.download_url).searchParams.get("exp"),
        String(T0 / 1000 + 100),
      );
      const signed = await call(
        t,
        "POST",
        `/files/${created.id}/download_url`,
        {
          body: '{"expires_in": 3600}',
        },
      );
      const { download_url, expires_at } = await signed.json();
      assert.equal(expires_at, new Date(T0 + 100_000).toISOString());
      t.now += 99_000;
      assert.equal((await t.app.request(download_url)).status, 200);
      t.now += 1000;
      // Both download URLs ran out with the file: 404, as for the file.
      for (const url of [created.download_url, download_url]) {
        const [status, type] = await errorOf(await t.app.request(url));
        assert.deepEqual([status, type], [404, "not_found"], url);
      }
      assert.equal((await call(t, "GET", `/files/${created.id}`)).status, 404);
      assert.equal(
        (await call(t, "POST", `/files/${created.id}/download_url`)).status,
        404,
      );
      assert.deepEqual((await listAll(t)).ids, [kept.id]);
      assert.ok((await t.storage.stat(created.id)) !== undefined);
      assert.equal(
        (await call(t, "DELETE", `/files/${created.id}`)).status,
        404,
      );
      assert.equal(await t.storage.stat(created.id), undefined);
    });

    test("the download GET answers 404 for an expired file while its URL still works", async () => {
      const t = clocked(storage);
      const created = await create(t.app);
      // Stored with an expiry the URL does not know of.
      await t.storage.put(created.id, new Blob(["hello"]).stream(), {
        name: "hello.txt",
        size: 5,
        type: "text/plain",
        expiresAt: new Date(T0 + 10_000),
      });
      assert.equal((await t.app.request(created.download_url)).status, 200);
      t.now += 10_000;
      const [status, type, message] = await errorOf(
        await t.app.request(created.download_url),
      );
      assert.deepEqual([status, type], [404, "not_found"]);
      assert.match(message, /expired/);
    });

    test("the route's lifetime is the default, and a request may ask for less", async () => {
      const t = clocked(storage, { lifetime: 600 });
      const standard = await upload(t);
      const shorter = await upload(t, "x", { lifetime: 60 });
      assert.equal(
        (await getFile(t, standard.id)).expires_at,
        new Date(T0 + 600_000).toISOString(),
      );
      assert.equal(
        (await getFile(t, shorter.id)).expires_at,
        new Date(T0 + 60_000).toISOString(),
      );
      // maxLifetime defaults to lifetime.
      assert.equal(
        (await postUrls(t.app, { ...HELLO, lifetime: 601 })).status,
        400,
      );
    });

    test("no upload is taken past the file's lifetime: its URLs expire with it, single or in parts", async () => {
      const t = clocked(storage, { minPartSize: 1 });
      const created = await create(t.app, { ...HELLO, lifetime: 60 });
      assert.equal(created.expires_at, new Date(T0 + 60_000).toISOString());
      const start = await call(t, "POST", "/files/uploads", {
        body: JSON.stringify({ ...HELLO, part_size: 5, lifetime: 60 }),
      });
      assert.equal(start.status, 201, await start.clone().text());
      const upload = await start.json();
      assert.equal(upload.expires_at, new Date(T0 + 60_000).toISOString());
      const session = new URL(upload.upload_url);
      const digest = new Uint8Array(
        await crypto.subtle.digest(
          "SHA-256",
          new TextEncoder().encode("hello"),
        ),
      );
      const part = {
        number: 1,
        size: 5,
        sha256: btoa(String.fromCharCode(...digest)),
      };
      const signed = await t.app.request(
        `${session.origin}${session.pathname}/parts${session.search}`,
        { method: "POST", body: JSON.stringify({ parts: [part] }) },
      );
      assert.equal(signed.status, 200, await signed.clone().text());
      const [url] = (await signed.json()).parts;
      assert.equal(
        (await t.app.request(url.url, {
          method: "PUT",
          headers: url.headers,
          body: "hello",
        })).status,
        200,
      );
      // The file's lifetime ends: neither upload is taken any more.
      t.now = T0 + 61_000;
      const late = await put(t.app, created.upload_url, "hello", {
        "content-type": HELLO.mime_type,
      });
      assert.deepEqual((await errorOf(late)).slice(0, 2), [
        403,
        "permission_denied",
      ]);
      const done = await t.app.request(
        `${session.origin}${session.pathname}/complete${session.search}`,
        {
          method: "POST",
          body: JSON.stringify({
            parts: [{ number: 1, sha256: part.sha256 }],
          }),
        },
      );
      assert.deepEqual((await errorOf(done)).slice(0, 2), [
        403,
        "permission_denied",
      ]);
      assert.deepEqual(t.storage.completed, []);
      assert.equal((await call(t, "GET", `/files/${created.id}`)).status, 404);
      assert.equal((await call(t, "GET", `/files/${upload.id}`)).status, 404);
    });

    test("a multipart upload keeps its resource and lifetime, and fires onUploaded once", async () => {
      const t = clocked(storage, {
        resources: ["prediction", "avatar"],
        minPartSize: 1,
      });
      const start = await t.app.request("http://localhost/v1/files/uploads", {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({
          name: "big.bin",
          size: 3,
          resource: "avatar",
          mime_type: "application/octet-stream",
          part_size: 2,
          lifetime: 120,
        }),
      });
      assert.equal(start.status, 201, await start.clone().text());
      const upload = await start.json();
      const session = new URL(upload.upload_url);
      assert.equal(session.searchParams.get("res"), "avatar");
      assert.equal(session.searchParams.get("fexp"), String(T0 / 1000 + 120));
      assert.equal(
        new URL(upload.download_url).searchParams.get("exp"),
        String(T0 / 1000 + 120),
      );
      const data = new Uint8Array([1, 2, 3]);
      const parts = [];
      for (
        const [number, chunk] of [[1, data.subarray(0, 2)], [
          2,
          data.subarray(2),
        ]] as const
      ) {
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", chunk.slice()),
        );
        parts.push({
          number,
          size: chunk.length,
          sha256: btoa(String.fromCharCode(...digest)),
          chunk,
        });
      }
      const signed = await t.app.request(
        `${session.origin}${session.pathname}/parts${session.search}`,
        {
          method: "POST",
          body: JSON.stringify({
            parts: parts.map(({ number, size, sha256 }) => ({
              number,
              size,
              sha256,
            })),
          }),
        },
      );
      assert.equal(signed.status, 200, await signed.clone().text());
      for (const [i, part] of (await signed.json()).parts.entries()) {
        const res = await t.app.request(part.url, {
          method: "PUT",
          headers: part.headers,
          body: parts[i].chunk.slice(),
        });
        assert.equal(res.status, 200, await res.clone().text());
      }
      const done = await t.app.request(
        `${session.origin}${session.pathname}/complete${session.search}`,
        {
          method: "POST",
          body: JSON.stringify({
            parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
          }),
        },
      );
      assert.equal(done.status, 201, await done.clone().text());
      const again = await t.app.request(
        `${session.origin}${session.pathname}/complete${session.search}`,
        {
          method: "POST",
          body: JSON.stringify({
            parts: parts.map(({ number, sha256 }) => ({ number, sha256 })),
          }),
        },
      );
      assert.equal(again.status, 409);
      const file = await getFile(t, upload.id);
      assert.equal(file.resource, "avatar");
      assert.equal(file.expires_at, new Date(T0 + 120_000).toISOString());
      assert.match(file.sha256!, /-2$/);
      assert.equal(t.uploaded.length, 1);
      assert.equal(t.uploaded[0].key, upload.id);
      t.now += 120_000;
      assert.equal((await call(t, "GET", `/files/${upload.id}`)).status, 404);
    });
  });
}

describe("managing files: the route around them", () => {
  test("GET /files answers 501 for a storage without list()", async () => {
    const inner = memoryStorage();
    const storage: Storage = {
      put: (key, body, info) => inner.put(key, body, info),
      stat: (key) => inner.stat(key),
      read: (key, range) => inner.read(key, range),
      delete: (key) => inner.delete(key),
    };
    const app = new Hono().route(
      "/v1",
      filesRoute({ storage, secret: SECRET, apiKeys: [API_KEY] }),
    );
    const [status, type, message] = await errorOf(
      await call({ app }, "GET", "/files"),
    );
    assert.deepEqual([status, type], [501, "not_implemented"]);
    assert.match(message, /list/);
  });

  test("other methods on /files answer 405 with Allow", async () => {
    const t = clocked(memoryStorage);
    const res = await call(t, "POST", "/files");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    const patch = await call(t, "PATCH", `/files/${ID}`);
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.get("allow"), "PUT, GET, HEAD, DELETE");
  });

  test("CORS preflights of the new paths allow their methods", async () => {
    const t = clocked(memoryStorage, { cors: ["https://app.example"] });
    for (
      const [path, method] of [
        ["/files", "GET"],
        [`/files/${ID}`, "DELETE"],
        [`/files/${ID}`, "GET"],
        [`/files/${ID}/download_url`, "POST"],
      ]
    ) {
      const res = await t.app.request(`http://localhost/v1${path}`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": method,
          "access-control-request-headers": "authorization",
        },
      });
      assert.equal(res.status, 204, `${method} ${path}`);
      assert.ok(
        res.headers.get("access-control-allow-methods")!.includes(method),
      );
    }
    const answer = await t.app.request(`http://localhost/v1/files/${ID}`, {
      headers: {
        origin: "https://app.example",
        authorization: `Bearer ${API_KEY}`,
      },
    });
    assert.equal(answer.status, 404);
    assert.equal(
      answer.headers.get("access-control-allow-origin"),
      "https://app.example",
    );
  });

  test("an upload URL signed before files kept a resource and expiry still works, and cannot be given one", async () => {
    const t = clocked(memoryStorage);
    const id = fileId(T0);
    const signer = await createSigner([SECRET]);
    const exp = T0 / 1000 + 3600;
    // The format of the upload URL before `res` and `fexp`.
    const query = await signedQuery(
      signer,
      ["upload", id, "old.txt", 5, "text/plain", exp],
      { name: "old.txt", size: "5", type: "text/plain" },
      exp,
    );
    const url = `http://localhost/v1/files/${id}?${query}`;
    const forged = new URL(url);
    forged.searchParams.set("fexp", String(T0 / 1000 + 60));
    assert.equal((await put(t.app, forged.href, "hello")).status, 403);
    forged.searchParams.delete("fexp");
    forged.searchParams.set("res", "prediction");
    assert.equal((await put(t.app, forged.href, "hello")).status, 403);
    assert.equal((await put(t.app, url, "hello")).status, 201);
    const file = await getFile(t, id);
    assert.equal(file.resource, "prediction");
    assert.equal(file.expires_at, null);
  });

  test("filesRoute() refuses onUploaded with a presigned storage that cannot confirm, and bad limits", () => {
    const presigned = {
      presign: () => Promise.reject(new Error("unused")),
    };
    assert.throws(
      () =>
        filesRoute({
          storage: presigned,
          secret: SECRET,
          apiKeys: [API_KEY],
          onUploaded: () => {},
        }),
      /onUploaded needs a presigned storage with confirm/,
    );
    filesRoute({ storage: presigned, secret: SECRET, apiKeys: [API_KEY] });
    const base = { storage: memoryStorage(), secret: SECRET, public: true };
    for (
      const options of [
        { lifetime: 0 },
        { maxLifetime: 1.5 },
        { lifetime: 60, maxLifetime: 59 },
        { maxDownloadTtl: 0 },
        { downloadTtl: 3600, maxDownloadTtl: 3599 },
      ]
    ) {
      assert.throws(
        () => filesRoute({ ...base, ...options }),
        RangeError,
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => filesRoute({ ...base, manage: true as never }),
      /manage must be a function/,
    );
    // A downloadTtl over 7 days raises the default maxDownloadTtl, and a
    // maxDownloadTtl under a day lowers the default downloadTtl.
    filesRoute({ ...base, downloadTtl: 30 * 86400 });
    filesRoute({ ...base, maxDownloadTtl: 60 });
  });
});
