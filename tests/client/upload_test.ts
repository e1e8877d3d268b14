/**
 * `Files.upload()` on the wire: every kind of input, the name and media type
 * it is created with, and the bad arguments it refuses before any request.
 * A recording stand-in API (`../_api.ts`) shows the exact bytes sent.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Client, type FileContent, type UploadProgress } from "../../mod.ts";
import { apiClient, type FakeApi, startApi } from "../_api.ts";
import { bytes, iterableOf, streamOf } from "../_data.ts";
import { INPUT_KINDS } from "../_inputs.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

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
  for (const kind of INPUT_KINDS) {
    for (const size of [0, 70_001]) {
      for (const progress of [false, true]) {
        const title = `${kind.label} of ${size} bytes${
          progress ? " with onProgress" : ""
        }`;
        test(title, async () => {
          const api = await startApi();
          try {
            const data = bytes(size, size + 7);
            const content = await kind.make(data, dir);
            const events: UploadProgress[] = [];
            const url = await apiClient(api).files.upload(
              content,
              "prediction",
              {
                name: kind.name,
                onProgress: progress ? (p) => events.push(p) : undefined,
              },
            );
            assert.match(url, /\/download\/0\?sig=y$/);
            checkWire(api, data, kind.expectName, kind.expectType);
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

  test("a 20 MiB file from a path, to an API without multipart uploads", async () => {
    const api = await startApi();
    try {
      const data = bytes(20 * 1024 * 1024, 3);
      const path = join(dir, "big.mp4");
      await writeFile(path, data);
      const events: UploadProgress[] = [];
      await apiClient(api).files.upload(path, "prediction", {
        onProgress: (p) => events.push(p),
      });
      // Larger than a part: multipart is asked for first, and the 404
      // answer makes it one PUT.
      assert.equal(api.starts().length, 1);
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
        "a .json name",
        new Uint8Array(3),
        { name: "view.json" },
        "view.json",
        "application/json",
      ],
      [
        "a .mp3 name",
        new Uint8Array(3),
        { name: "iter.mp3" },
        "iter.mp3",
        "audio/mpeg",
      ],
      [
        "a .webp name",
        new Uint8Array(3),
        { name: "url 1.webp" },
        "url 1.webp",
        "image/webp",
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
        await apiClient(api).files.upload(content, "prediction", options);
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
  const files = () => apiClient(api).files;
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
      "a File whose name the API would refuse: a path",
      () => files().upload(new File(["x"], "dir/a.txt"), "prediction"),
      /Cannot upload "dir\/a\.txt": name "dir\/a\.txt" contains a slash or backslash/,
      TypeError,
    ],
    [
      "a File whose name the API would refuse: a Windows path",
      () => files().upload(new File(["x"], "..\\..\\evil.exe"), "prediction"),
      /contains a slash or backslash/,
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

  test("a baseUrl that is not absolute http: or https:", () => {
    for (
      const baseUrl of ["localhost:8787", "ftp://example.com/v1", "file:///v1"]
    ) {
      assert.throws(() => new Client({ baseUrl }), {
        name: "TypeError",
        message:
          `Cannot create a client: baseUrl must be an absolute http: or https: URL, got ${
            JSON.stringify(baseUrl)
          }`,
      });
    }
  });

  test("negative maxRetries", () => {
    assert.throws(
      () => new Client({ baseUrl: "http://127.0.0.1:1", maxRetries: -1 }),
      RangeError,
    );
  });
});
