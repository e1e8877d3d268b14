/**
 * Managing files stored in a bucket through `filesRoute` with `s3Storage`,
 * against s3rver: the client `PUT`s to the bucket, `POST`s `complete_url`,
 * and the route then knows the file (get, list, delete, download URLs),
 * with `onUploaded` fired once per file.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { Hono } from "hono";
import {
  type FileObject,
  filesRoute,
  type FilesRouteOptions,
  type StoredFile,
} from "../../src/hono/mod.ts";
import { s3Storage } from "../../src/storage/s3.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";

const API_KEY = "test-api-key-0123456789";
const SECRET = "0123456789abcdef0123456789abcdef";
const PREFIX = "manage/";

let s3: S3rver;
before(async () => {
  s3 = await startS3rver();
});
after(async () => {
  await s3?.close();
});

interface Route {
  app: Hono;
  uploaded: StoredFile[];
}

/** The route at `/v1` over the bucket, with a clock `skew` ms ahead. */
function route(
  options: Partial<FilesRouteOptions> = {},
  skew = 0,
): Route {
  const uploaded: StoredFile[] = [];
  const app = new Hono().route(
    "/v1",
    filesRoute({
      storage: s3Storage({
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: PREFIX,
      }),
      secret: SECRET,
      apiKeys: [API_KEY],
      resources: ["prediction", "avatar"],
      onUploaded: (file) => {
        uploaded.push(file);
      },
      now: () => Date.now() + skew,
      ...options,
    }),
  );
  return { app, uploaded };
}

function call(
  r: Pick<Route, "app">,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return Promise.resolve(r.app.request(`http://localhost/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

interface Created {
  id: string;
  upload_url: string;
  download_url: string;
  complete_url: string;
  expires_at: string;
}

async function create(
  r: Route,
  text: string,
  body: Record<string, unknown> = {},
): Promise<Created> {
  const res = await call(r, "POST", "/files/urls", {
    name: "hello.txt",
    size: new TextEncoder().encode(text).byteLength,
    resource: "prediction",
    mime_type: "text/plain",
    ...body,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

/** `PUT`s the bytes to the bucket as a client does. */
async function putToBucket(created: Created, text: string): Promise<void> {
  const res = await fetch(created.upload_url, {
    method: "PUT",
    headers: { "content-type": "text/plain", "if-none-match": "*" },
    body: text,
  });
  assert.equal(res.status, 200, await res.text());
}

function complete(r: Route, created: Created): Promise<Response> {
  return Promise.resolve(r.app.request(created.complete_url, {
    method: "POST",
  }));
}

async function uploaded(
  r: Route,
  text = "hello",
  body: Record<string, unknown> = {},
): Promise<{ created: Created; file: FileObject }> {
  const created = await create(r, text, body);
  await putToBucket(created, text);
  const res = await complete(r, created);
  assert.equal(res.status, 200, await res.clone().text());
  return { created, file: await res.json() };
}

async function listIds(r: Route, query = ""): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    if (cursor !== null) params.set("cursor", cursor);
    const res = await call(r, "GET", `/files?${params}`);
    assert.equal(res.status, 200, await res.clone().text());
    const page = await res.json();
    ids.push(...page.files.map((file: FileObject) => file.id));
    cursor = page.next_cursor;
  } while (cursor !== null);
  return ids;
}

describe("filesRoute with s3Storage: confirming presigned uploads", () => {
  test("create answers the id and a complete_url; the file exists once confirmed, and onUploaded fires once", async () => {
    const r = route();
    const created = await create(r, "hello", { name: "résumé 📄.txt" });
    assert.match(created.id, /^[A-Za-z0-9_-]{22}$/);
    const complete_url = new URL(created.complete_url);
    assert.equal(complete_url.pathname, `/v1/files/${created.id}/complete`);
    assert.ok(
      new URL(created.upload_url).pathname.endsWith(`/${PREFIX}${created.id}`),
      created.upload_url,
    );
    await putToBucket(created, "hello");
    // Uploaded, not confirmed: the route does not know the file yet.
    assert.equal((await call(r, "GET", `/files/${created.id}`)).status, 404);
    assert.ok(!(await listIds(r)).includes(created.id));

    const res = await complete(r, created);
    assert.equal(res.status, 200);
    const file: FileObject = await res.json();
    assert.deepEqual(file, {
      id: created.id,
      name: "résumé 📄.txt",
      size: 5,
      mime_type: "text/plain",
      resource: "prediction",
      uploaded_at: file.uploaded_at,
      expires_at: null,
    });
    assert.ok(Math.abs(Date.parse(file.uploaded_at) - Date.now()) < 60_000);
    assert.deepEqual(r.uploaded.map((stored) => stored.key), [created.id]);

    const again = await complete(r, created);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), file);
    assert.equal(r.uploaded.length, 1);
    const got = await call(r, "GET", `/files/${created.id}`);
    assert.deepEqual(await got.json(), file);
    assert.equal(await (await fetch(created.download_url)).text(), "hello");
  });

  test("complete_url answers 404 before the PUT, 403 when tampered with, and needs no API key", async () => {
    const r = route();
    const created = await create(r, "hello");
    const early = await complete(r, created);
    assert.equal(early.status, 404);
    assert.equal((await early.json()).error.type, "not_found");
    for (const [field, value] of [["sig", "A".repeat(43)], ["size", "4"]]) {
      const url = new URL(created.complete_url);
      url.searchParams.set(field, value);
      const res = await r.app.request(url, { method: "POST" });
      assert.equal(res.status, 403, field);
    }
    const foreign = route({ secret: "another secret of thirty-two bytes!" });
    assert.equal((await complete(foreign, created)).status, 403);
    await putToBucket(created, "hello");
    assert.equal((await complete(r, created)).status, 200);
    assert.equal(r.uploaded.length, 1);
    const get = await r.app.request(created.complete_url);
    assert.equal(get.status, 405);
  });

  test("complete_url answers 400 and removes an object of another size or type", async () => {
    const r = route();
    const created = await create(r, "hello");
    // Written behind the route's back, with the bucket's own credentials.
    const admin = new AwsClient({
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      service: "s3",
      region: "us-east-1",
      retries: 0,
    });
    const key = `${PREFIX}${created.id}`;
    const put = await admin.fetch(`${s3.endpoint}/${s3.bucket}/${key}`, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "hi",
    });
    assert.equal(put.status, 200);
    const res = await complete(r, created);
    const { error } = await res.json();
    assert.deepEqual([res.status, error.type], [400, "invalid_request"]);
    assert.match(error.message, /size/);
    assert.ok(!(await s3.keys(PREFIX)).includes(key));
    assert.deepEqual(r.uploaded, []);
    assert.equal((await call(r, "GET", `/files/${created.id}`)).status, 404);
  });
});

describe("filesRoute with s3Storage: managing files", () => {
  test("get, list newest first, download_url, and delete for good", async () => {
    const r = route();
    const a = await uploaded(r, "first");
    const b = await uploaded(r, "second", { resource: "avatar" });
    const ids = await listIds(r);
    assert.ok(ids.indexOf(b.created.id) < ids.indexOf(a.created.id));
    assert.deepEqual(await listIds(r, "resource=avatar"), [b.created.id]);
    assert.ok((await listIds(r, "limit=1")).includes(a.created.id));
    const page = await (await call(r, "GET", "/files?limit=1")).json();
    assert.equal(page.files.length, 1);
    assert.equal(typeof page.next_cursor, "string");

    const signed = await call(
      r,
      "POST",
      `/files/${a.created.id}/download_url`,
      { expires_in: 120 },
    );
    assert.equal(signed.status, 200);
    const { download_url, expires_at } = await signed.json();
    assert.ok(download_url.startsWith(`${s3.endpoint}/${s3.bucket}/`));
    assert.ok(Date.parse(expires_at) <= Date.now() + 121_000);
    assert.equal(await (await fetch(download_url)).text(), "first");
    assert.equal(
      (await call(r, "POST", `/files/${a.created.id}/download_url`, {
        expires_in: 604801,
      })).status,
      400,
    );

    assert.equal(
      (await call(r, "DELETE", `/files/${a.created.id}`)).status,
      204,
    );
    assert.equal((await call(r, "GET", `/files/${a.created.id}`)).status, 404);
    assert.equal(
      (await call(r, "POST", `/files/${a.created.id}/download_url`)).status,
      404,
    );
    assert.equal(
      (await call(r, "DELETE", `/files/${a.created.id}`)).status,
      404,
    );
    assert.ok(!(await listIds(r)).includes(a.created.id));
    assert.equal((await fetch(download_url)).status, 404);
    // The id can never be confirmed again, even with a new object.
    await putToBucket(a.created, "first");
    assert.equal((await complete(r, a.created)).status, 404);
    assert.equal(r.uploaded.length, 2);
  });

  test("a lifetime sets the file's expiry; past it the file answers 404 and leaves the list", async () => {
    const r = route({ maxLifetime: 3600 });
    const over = await call(r, "POST", "/files/urls", {
      name: "a.txt",
      size: 1,
      resource: "prediction",
      mime_type: "text/plain",
      lifetime: 3601,
    });
    assert.equal(over.status, 400);
    const before = Date.now();
    const { created, file } = await uploaded(r, "brief", { lifetime: 600 });
    const expiry = Date.parse(file.expires_at!);
    assert.ok(expiry >= before + 599_000 && expiry <= Date.now() + 600_000);
    const exp = Number(
      new URL(created.download_url).searchParams.get("X-Amz-Expires"),
    );
    assert.ok(exp <= 600, String(exp));
    const signed = await (await call(
      r,
      "POST",
      `/files/${created.id}/download_url`,
      { expires_in: 7200 },
    )).json();
    assert.ok(Date.parse(signed.expires_at) <= expiry);

    const later = route({}, 601_000);
    assert.equal(
      (await call(later, "GET", `/files/${created.id}`)).status,
      404,
    );
    assert.equal(
      (await call(later, "POST", `/files/${created.id}/download_url`)).status,
      404,
    );
    assert.ok(!(await listIds(later)).includes(created.id));
    assert.ok((await listIds(r)).includes(created.id));
  });

  test("a multipart upload keeps its resource and lifetime, and fires onUploaded once", async () => {
    const r = route();
    const start = await call(r, "POST", "/files/uploads", {
      name: "big.bin",
      size: 10,
      resource: "avatar",
      mime_type: "application/octet-stream",
      lifetime: 3600,
    });
    assert.equal(start.status, 201, await start.clone().text());
    const upload = await start.json();
    const data = new TextEncoder().encode("0123456789");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    const sha256 = btoa(String.fromCharCode(...digest));
    const session = new URL(upload.upload_url);
    const at = (sub: string) =>
      `${session.origin}${session.pathname}/${sub}${session.search}`;
    const signed = await r.app.request(at("parts"), {
      method: "POST",
      body: JSON.stringify({ parts: [{ number: 1, size: 10, sha256 }] }),
    });
    assert.equal(signed.status, 200, await signed.clone().text());
    const [part] = (await signed.json()).parts;
    const put = await fetch(part.url, {
      method: "PUT",
      headers: part.headers,
      body: data,
    });
    assert.equal(put.status, 200, await put.text());
    const body = JSON.stringify({ parts: [{ number: 1, sha256 }] });
    const done = await r.app.request(at("complete"), { method: "POST", body });
    assert.equal(done.status, 201, await done.clone().text());
    const again = await r.app.request(at("complete"), {
      method: "POST",
      body,
    });
    assert.equal(again.status, 409);
    assert.deepEqual(r.uploaded.map((file) => file.key), [upload.id]);

    const file: FileObject = await (await call(r, "GET", `/files/${upload.id}`))
      .json();
    assert.equal(file.resource, "avatar");
    assert.equal(file.size, 10);
    assert.ok(file.expires_at !== null);
    assert.ok(Date.parse(file.expires_at) <= Date.now() + 3600_000);
    assert.ok((await listIds(r, "resource=avatar")).includes(upload.id));
  });
});
