import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ApiError,
  Client,
  ConnectionError,
  type FileContent,
  type FileUrls,
  FileUrlsError,
  TimeoutError,
  type UploadProgress,
} from "../mod.ts";
import { type FakeApi, startApi } from "./_api.ts";
import { bytes, iterableOf, streamOf } from "./_data.ts";

function client(api: FakeApi, options: Record<string, unknown> = {}): Client {
  return new Client({ baseUrl: api.baseUrl, apiKey: "key-1", ...options });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Kind {
  label: string;
  make: (data: Uint8Array) => FileContent | Promise<FileContent>;
  name?: string;
  /** The name the upload must be created with. */
  expectName: string;
  expectType: string;
}

const KINDS: Kind[] = [
  {
    label: "a File",
    make: (d) => new File([d as BlobPart], "photo.png"),
    expectName: "photo.png",
    expectType: "image/png",
  },
  {
    label: "a Blob with a name",
    make: (d) => new Blob([d as BlobPart], { type: "text/csv" }),
    name: "table.csv",
    expectName: "table.csv",
    expectType: "text/csv",
  },
  {
    label: "a Uint8Array",
    make: (d) => d,
    name: "data.bin",
    expectName: "data.bin",
    expectType: "application/octet-stream",
  },
  {
    label: "an ArrayBuffer",
    make: (d) => d.slice().buffer,
    name: "doc.pdf",
    expectName: "doc.pdf",
    expectType: "application/pdf",
  },
  {
    label: "a DataView",
    make: (d) => {
      // A view into the middle of a larger buffer: only its own bytes count.
      const big = new Uint8Array(d.length + 20);
      big.set(d, 10);
      return new DataView(big.buffer, 10, d.length);
    },
    name: "view.json",
    expectName: "view.json",
    expectType: "application/json",
  },
  {
    label: "a ReadableStream",
    make: (d) => streamOf(d),
    name: "stream.txt",
    expectName: "stream.txt",
    expectType: "text/plain",
  },
  {
    label: "an AsyncIterable",
    make: (d) => iterableOf(d),
    name: "iter.mp3",
    expectName: "iter.mp3",
    expectType: "audio/mpeg",
  },
  {
    label: "a path string",
    make: async (d) => {
      const path = join(dir, `path-${d.length}.jpg`);
      await writeFile(path, d);
      return path;
    },
    expectName: "",
    expectType: "image/jpeg",
  },
  {
    label: "a file: URL",
    make: async (d) => {
      const path = join(dir, `url ${d.length}.webp`);
      await writeFile(path, d);
      return pathToFileURL(path);
    },
    expectName: "",
    expectType: "image/webp",
  },
];

function checkWire(
  api: FakeApi,
  data: Uint8Array,
  name: string,
  type: string,
): void {
  const [create] = api.creates();
  assert.equal(api.creates().length, 1);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(create.body)), {
    name,
    size: data.length,
    resource: "prediction",
    mime_type: type,
  });
  assert.equal(create.headers["authorization"], "Bearer key-1");
  assert.equal(create.headers["content-type"], "application/json");
  const [put] = api.uploads();
  assert.equal(api.uploads().length, 1);
  assert.equal(put.headers["content-length"], String(data.length));
  assert.equal(put.headers["transfer-encoding"], undefined);
  assert.equal(put.chunked, false);
  assert.equal(put.headers["content-type"], type);
  assert.equal(put.headers["authorization"], undefined);
  assert.equal(put.body.length, data.length);
  assert.ok(Buffer.from(put.body).equals(Buffer.from(data)));
}

describe("upload() sends every kind of input with an exact Content-Length", () => {
  for (const kind of KINDS) {
    for (const size of [0, 70_001]) {
      for (const progress of [false, true]) {
        const title = `${kind.label} of ${size} bytes${
          progress ? " with onProgress" : ""
        }`;
        test(title, async () => {
          const api = await startApi();
          try {
            const data = bytes(size, size + 7);
            const content = await kind.make(data);
            const events: UploadProgress[] = [];
            const url = await client(api).files.upload(
              content,
              "prediction",
              {
                name: kind.name,
                onProgress: progress ? (p) => events.push(p) : undefined,
              },
            );
            assert.match(url, /\/download\/0\?sig=y$/);
            const expectName = kind.expectName ||
              (typeof content === "string"
                ? content.slice(content.lastIndexOf("/") + 1)
                : decodeURIComponent(
                  String(content).slice(String(content).lastIndexOf("/") + 1),
                ));
            checkWire(api, data, expectName, kind.expectType);
            if (progress) {
              assert.deepEqual(events[0], { loaded: 0, total: size });
              assert.deepEqual(events.at(-1), { loaded: size, total: size });
              for (let i = 1; i < events.length; i++) {
                assert.ok(events[i].loaded >= events[i - 1].loaded);
              }
            }
          } finally {
            await api.close();
          }
        });
      }
    }
  }

  test("a 20 MiB file from a path", async () => {
    const api = await startApi();
    try {
      const data = bytes(20 * 1024 * 1024, 3);
      const path = join(dir, "big.mp4");
      await writeFile(path, data);
      const events: UploadProgress[] = [];
      await client(api).files.upload(path, "prediction", {
        onProgress: (p) => events.push(p),
      });
      checkWire(api, data, "big.mp4", "video/mp4");
      assert.equal(events.at(-1)?.loaded, data.length);
    } finally {
      await api.close();
    }
  });
});

describe("upload() infers name and media type", () => {
  const cases: [string, FileContent, Record<string, string>, string, string][] =
    [
      [
        "a .pdf name",
        new Uint8Array(3),
        { name: "report.pdf" },
        "report.pdf",
        "application/pdf",
      ],
      [
        "an upper-case .PNG name",
        new Uint8Array(3),
        { name: "SHOT.PNG" },
        "SHOT.PNG",
        "image/png",
      ],
      [
        "a name without extension",
        new Uint8Array(3),
        { name: "README" },
        "README",
        "application/octet-stream",
      ],
      [
        "an unknown extension",
        new Uint8Array(3),
        { name: "x.unknownext" },
        "x.unknownext",
        "application/octet-stream",
      ],
      [
        "the Blob type over the extension",
        new File(["abc"], "a.png", { type: "image/gif" }),
        {},
        "a.png",
        "image/gif",
      ],
      [
        "the mimeType option over the Blob type",
        new File(["abc"], "a.png", { type: "image/gif" }),
        { mimeType: "image/webp" },
        "a.png",
        "image/webp",
      ],
      [
        "the name option over File.name",
        new File(["abc"], "a.png"),
        { name: "b.jpg" },
        "b.jpg",
        "image/jpeg",
      ],
    ];
  for (const [label, content, options, name, type] of cases) {
    test(label, async () => {
      const api = await startApi();
      try {
        await client(api).files.upload(content, "prediction", options);
        const create = JSON.parse(
          new TextDecoder().decode(api.creates()[0].body),
        );
        assert.equal(create.name, name);
        assert.equal(create.mime_type, type);
        assert.equal(api.uploads()[0].headers["content-type"], type);
      } finally {
        await api.close();
      }
    });
  }
});

describe("bad arguments throw before any request", () => {
  const rejects: [string, () => Promise<unknown>, RegExp, ErrorConstructor][] =
    [];
  let api: FakeApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    assert.equal(api.requests.length, 0, "no request may have been made");
    await api.close();
  });
  const files = () => client(api).files;
  rejects.push(
    [
      "bytes without a name",
      () => files().upload(new Uint8Array(3), "prediction"),
      /Cannot upload bytes: pass options\.name/,
      TypeError,
    ],
    [
      "a plain Blob without a name",
      () => files().upload(new Blob(["x"]), "prediction"),
      /Cannot upload a Blob: pass options\.name/,
      TypeError,
    ],
    [
      "a ReadableStream without a name",
      () => files().upload(streamOf(new Uint8Array(3)), "prediction"),
      /Cannot upload a ReadableStream: pass options\.name/,
      TypeError,
    ],
    [
      "an AsyncIterable without a name",
      () => files().upload(iterableOf(new Uint8Array(3)), "prediction"),
      /Cannot upload an async iterable: pass options\.name/,
      TypeError,
    ],
    [
      "an empty name",
      () => files().upload(new Uint8Array(3), "prediction", { name: "" }),
      /name must be a non-empty string/,
      TypeError,
    ],
    [
      "an empty resource",
      () => files().upload(new File(["x"], "a.txt"), ""),
      /resource must be a non-empty string, got ""/,
      TypeError,
    ],
    [
      "a name the API would refuse: a slash",
      () => files().upload(new Uint8Array(3), "prediction", { name: "a/b" }),
      /Cannot upload "a\/b": name "a\/b" contains a slash or backslash/,
      TypeError,
    ],
    [
      "a name the API would refuse: over 255 UTF-8 bytes",
      () =>
        files().upload(new Uint8Array(3), "prediction", {
          name: "é".repeat(128),
        }),
      /has 256 UTF-8 bytes, at most 255 are allowed/,
      TypeError,
    ],
    [
      "a malformed mimeType",
      () =>
        files().upload(new File(["x"], "a.txt"), "prediction", {
          mimeType: "not a type",
        }),
      /mimeType must be a media type/,
      TypeError,
    ],
    [
      "a stream that yields strings",
      () =>
        files().upload(
          // deno-lint-ignore no-explicit-any
          new ReadableStream<any>({
            start(c) {
              c.enqueue("text");
              c.close();
            },
          }),
          "prediction",
          { name: "a.txt" },
        ),
      /Cannot upload "a\.txt": stream chunks must be Uint8Array, got "text"/,
      TypeError,
    ],
    [
      "a number as content",
      () => files().upload(42 as unknown as Blob, "prediction", { name: "a" }),
      /Cannot upload: unsupported content of type number/,
      TypeError,
    ],
    [
      "an http: URL as a path",
      () => files().upload(new URL("https://example.com/a.png"), "prediction"),
      /only file: URLs are paths/,
      TypeError,
    ],
    [
      "a missing file",
      () => files().upload(join(dir, "missing.txt"), "prediction"),
      /Cannot upload "missing\.txt": cannot read .*missing\.txt/,
      Error,
    ],
    [
      "a directory as a file",
      () => files().upload(dir, "prediction"),
      /Cannot upload "fileurls-files-.*": cannot read/,
      Error,
    ],
  );
  const params = {
    name: "a.pdf",
    size: 1,
    resource: "prediction",
    mime_type: "application/pdf",
  } as const;
  for (
    const [field, value, pattern, type] of [
      ["name", "", /name must be a non-empty string/, TypeError],
      [
        "size",
        -1,
        /size must be a non-negative safe integer, got -1/,
        RangeError,
      ],
      ["size", 1.5, /got 1\.5/, RangeError],
      ["size", NaN, /got NaN/, RangeError],
      ["size", 2 ** 53, /got 9007199254740992/, RangeError],
      ["size", "1", /size must be a number/, TypeError],
      ["resource", "", /resource must be a non-empty string/, TypeError],
      ["name", "..", /name "\.\." is not a file name/, TypeError],
      ["name", "a\u0000b", /contains a control character/, TypeError],
      ["mime_type", "pdf", /mime_type must be a media type/, TypeError],
      ["mime_type", "", /mime_type must be a media type/, TypeError],
    ] as const
  ) {
    rejects.push([
      `createUrls() with ${field} ${JSON.stringify(value)}`,
      () => files().createUrls({ ...params, [field]: value }),
      pattern,
      type,
    ]);
  }
  for (const [label, run, pattern, type] of rejects) {
    test(label, async () => {
      const error = await run().then(() => undefined, (e) => e);
      assert.ok(error instanceof type, `${error} is a ${type.name}`);
      assert.match(error.message, pattern);
    });
  }

  test("a client without baseUrl or FILEURLS_BASE_URL", () => {
    const saved = process.env.FILEURLS_BASE_URL;
    delete process.env.FILEURLS_BASE_URL;
    try {
      assert.throws(
        () => new Client(),
        {
          name: "TypeError",
          message:
            "Cannot create a client: pass options.baseUrl or set FILEURLS_BASE_URL",
        },
      );
    } finally {
      if (saved !== undefined) process.env.FILEURLS_BASE_URL = saved;
    }
  });

  test("negative maxRetries", () => {
    assert.throws(
      () => new Client({ baseUrl: "http://127.0.0.1:1", maxRetries: -1 }),
      RangeError,
    );
  });
});

describe("createUrls()", () => {
  test("posts the exact JSON body and keeps extra answer fields", async () => {
    const api = await startApi();
    try {
      const urls: FileUrls = await client(api, {
        headers: { "x-team": "blue" },
      }).files.createUrls({
        name: "report.pdf",
        size: 1234,
        resource: "prediction",
        mime_type: "application/pdf",
      });
      assert.equal(urls.expires_at, "2030-01-01T00:00:00.000Z");
      const [create] = api.creates();
      assert.equal(create.target, "/v1/files/urls");
      assert.equal(
        new TextDecoder().decode(create.body),
        '{"name":"report.pdf","size":1234,"resource":"prediction","mime_type":"application/pdf"}',
      );
      assert.equal(create.headers["x-team"], "blue");
      assert.equal(create.headers["authorization"], "Bearer key-1");
    } finally {
      await api.close();
    }
  });

  test("reads baseUrl and apiKey from the environment", async () => {
    const api = await startApi();
    const saved = [process.env.FILEURLS_BASE_URL, process.env.FILEURLS_API_KEY];
    process.env.FILEURLS_BASE_URL = api.baseUrl + "/";
    process.env.FILEURLS_API_KEY = "from-env";
    try {
      await new Client().files.createUrls({
        name: "a.txt",
        size: 1,
        resource: "prediction",
        mime_type: "text/plain",
      });
      assert.equal(api.creates()[0].target, "/v1/files/urls");
      assert.equal(
        api.creates()[0].headers["authorization"],
        "Bearer from-env",
      );
    } finally {
      for (
        const [i, name] of ["FILEURLS_BASE_URL", "FILEURLS_API_KEY"].entries()
      ) {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      }
      await api.close();
    }
  });

  test("rejects an answer without the two URLs", async () => {
    const api = await startApi(() => ({
      status: 200,
      body: '{"upload_url":1}',
    }));
    try {
      await assert.rejects(
        client(api).files.createUrls({
          name: "a.txt",
          size: 1,
          resource: "prediction",
          mime_type: "text/plain",
        }),
        (e) =>
          e instanceof FileUrlsError &&
          /Cannot create URLs for "a\.txt": server answered 200 without upload_url/
            .test(e.message),
      );
    } finally {
      await api.close();
    }
  });
});

describe("errors", () => {
  test("a 401 JSON answer becomes an ApiError", async () => {
    const api = await startApi(() => ({
      status: 401,
      headers: { "content-type": "application/json", "x-request-id": "req-9" },
      body: '{"error":{"type":"unauthorized","message":"Bad API key"}}',
    }));
    try {
      const error = await client(api).files.upload(
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
      const error = await client(api, { maxRetries: 1 }).files.upload(
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
        client(api).files.upload(new File(["x"], "a.png"), "prediction"),
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
      await client(api).files.upload(data, "prediction", { name: "a.bin" });
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
      await client(api).files.upload(new File(["x"], "a.txt"), "prediction");
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
      await client(api).files.upload(new File(["x"], "a.txt"), "prediction");
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
        client(api).files.upload(new File(["x"], "a.txt"), "prediction"),
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
      await client(api).files.upload(new File(["x"], "a.txt"), "prediction");
      assert.ok(performance.now() - start >= 950, "waited the second it asked");
      assert.equal(api.creates().length, 2);
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
        client(api).files.upload(new File(["x"], "a.txt"), "prediction"),
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
        client(api).files.upload(new File(["x"], "a.txt"), "prediction", {
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
        client(api).files.upload(new File(["x"], "a.txt"), "prediction", {
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
      const error = await client(api, { timeout: 200, maxRetries: 0 }).files
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
