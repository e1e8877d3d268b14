/**
 * `Files.uploadFile()` in parts, on the wire: the project's route behind the
 * raw recorder (`../_route_api.ts`) shows every request as it was sent, and
 * answers it by the real protocol.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiError,
  Client,
  ConnectionError,
  FileUrlsError,
  TimeoutError,
  type UploadProgress,
  uploadTo,
} from "../../mod.ts";
import { bytes, streamOf } from "../_data.ts";
import type { MultipartUpload } from "../../src/api.ts";
import { INPUT_KINDS } from "../_inputs.ts";
import { partNumber, type RouteApi, startRouteApi } from "../_route_api.ts";
import { startCutProxy } from "../_cut_proxy.ts";
import type { RecordedRequest } from "../_recorder.ts";

/** The part size of these tests: small, so that files of a few parts are. */
const PART = 64 * 1024;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-multipart-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function client(api: RouteApi, options = {}): Client {
  return new Client({ baseUrl: api.baseUrl, apiKey: api.apiKey, ...options });
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
}

function base64(data: Uint8Array): string {
  return btoa(String.fromCharCode(...data));
}

/** S3's composite checksum of `data` in parts of `part` bytes. */
async function composite(data: Uint8Array, part: number): Promise<string> {
  const digests: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += part) {
    digests.push(await sha256(data.subarray(i, i + part)));
  }
  const joined = new Uint8Array(digests.length * 32);
  digests.forEach((d, i) => joined.set(d, i * 32));
  return `${base64(await sha256(joined))}-${digests.length}`;
}

/** Every request a PUT of bytes: exact length, never chunked. */
function assertExact(requests: RecordedRequest[]): void {
  for (const request of requests) {
    assert.equal(request.chunked, false, request.target);
    assert.equal(request.headers["transfer-encoding"], undefined);
    assert.equal(
      request.headers["content-length"],
      String(request.body.byteLength),
      request.target,
    );
  }
}

/**
 * What a backend with the API key gets from `POST /files/uploads` for a
 * file of `PART * 2 + 1` bytes, to hand to a client with none.
 */
async function startedByBackend(api: RouteApi): Promise<MultipartUpload> {
  const res = await fetch(`${api.baseUrl}/files/uploads`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${api.apiKey}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      name: "from-backend.bin",
      size: PART * 2 + 1,
      resource: "prediction",
      mime_type: "application/octet-stream",
      part_size: PART,
    }),
  });
  assert.equal(res.status, 201);
  return await res.json();
}

async function download(api: RouteApi, url: string): Promise<Uint8Array> {
  const res = await api.app.request(url);
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * A route whose connection drops on every PUT of part 3 until `heal()`,
 * and an upload of `data` that fails there and does not retry.
 */
async function failAtPart3(data: Uint8Array<ArrayBuffer>) {
  let drop = true;
  const api = await startRouteApi({}, (request) => {
    if (
      drop && request.method === "PUT" && /\/parts\/3\?/.test(request.target)
    ) {
      return { destroy: true };
    }
  });
  const error = await client(api, { maxRetries: 0 }).files.uploadFile(
    data,
    "prediction",
    { name: "a.bin", partSize: PART, concurrency: 1 },
  ).catch((e) => e);
  return { api, error, heal: () => drop = false };
}

describe("uploadFile() in parts sends every kind of input", () => {
  for (const kind of INPUT_KINDS) {
    for (
      const [size, parts] of [
        [PART * 3 + PART / 2, 4],
        [PART + 1, 2],
      ] as const
    ) {
      test(`${kind.label} of ${size} bytes goes in ${parts} exact parts`, async () => {
        // A stream's size is unknown, so the route sizes its parts for the
        // largest file it takes: keep that small enough for PART to hold.
        const api = await startRouteApi({ maxSize: PART * 10_000 });
        try {
          const data = bytes(size, 11);
          const input = await kind.make(data, dir);
          const result = await client(api).files.uploadFile(
            input,
            "prediction",
            { name: kind.name, partSize: PART, concurrency: 2 },
          );
          assert.equal(result.multipart, true);
          assert.equal(result.name, kind.expectName);
          assert.equal(result.mimeType, kind.expectType);
          assert.equal(result.size, size);
          assert.equal(result.sha256, await composite(data, PART));

          const [start] = api.starts();
          const declared = JSON.parse(new TextDecoder().decode(start.body));
          const stream = kind.label.includes("Stream") ||
            kind.label.includes("Iterable");
          assert.equal(declared.size, stream ? null : size);
          assert.equal(api.creates().length, 0, "no single PUT");
          const sent = api.parts();
          assertExact(sent);
          assert.deepEqual(
            sent.map(partNumber).sort((a, b) => a - b),
            Array.from({ length: parts }, (_, i) => i + 1),
            "each part once",
          );
          assert.deepEqual(await download(api, result.downloadUrl), data);
          // No API key goes anywhere but the API's own create call.
          for (const request of api.requests) {
            if (request.target !== "/v1/files/uploads") {
              assert.equal(request.headers.authorization, undefined);
            }
          }
        } finally {
          await api.close();
        }
      });
    }
  }
});

describe("uploadFile() sends what fits in one part as one PUT", () => {
  for (const kind of INPUT_KINDS) {
    for (const size of [0, PART]) {
      test(`${kind.label} of ${size} bytes`, async () => {
        const api = await startRouteApi();
        try {
          const data = bytes(size, 12);
          const result = await client(api).files.uploadFile(
            await kind.make(data, dir),
            "prediction",
            { name: kind.name, partSize: PART },
          );
          assert.equal(result.multipart, false);
          assert.equal(api.starts().length, 0);
          assert.equal(api.parts().length, 0);
          assert.equal(api.singles().length, 1);
          assertExact(api.singles());
          assert.deepEqual(await download(api, result.downloadUrl), data);
        } finally {
          await api.close();
        }
      });
    }
  }
});

describe("uploadFile() in parts, when things go wrong", () => {
  test("a part answered with 503 is sent again alone, and a progress event says which, why and when, before the wait", async () => {
    let failed = false;
    /** When part 2 came again. */
    let again = 0;
    const api = await startRouteApi({}, (request) => {
      if (request.method !== "PUT" || !/\/parts\/2\?/.test(request.target)) {
        return;
      }
      if (failed) {
        again = Date.now();
        return;
      }
      failed = true;
      return { status: 503, headers: { "retry-after": "1" }, body: "busy" };
    });
    try {
      const data = bytes(PART * 4, 13);
      const events: UploadProgress[] = [];
      /** When the retry was told. */
      let told = 0;
      const result = await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        onProgress: (p) => {
          if (p.retry) told = Date.now();
          events.push(p);
        },
      });
      // Told as the part failed, a second before it went again.
      assert.ok(again - told >= 900, `${again - told} ms`);
      const numbers = api.parts().map(partNumber).sort((a, b) => a - b);
      assert.deepEqual(numbers, [1, 2, 2, 3, 4]);
      assert.deepEqual(await download(api, result.downloadUrl), data);
      const loaded = events.map((e) => e.loaded);
      assert.deepEqual(loaded, [...loaded].sort((a, b) => a - b));
      assert.equal(loaded.at(-1), data.length);
      assert.deepEqual(
        events.filter((e) => e.retry !== undefined).map((e) => e.retry),
        [{ attempt: 1, reason: "status 503", part: 2, delay: 1000 }],
      );
    } finally {
      await api.close();
    }
  });

  test("a completion answered with 409 and Retry-After is tried again, and a progress event without a part says so", async () => {
    let refused = false;
    const api = await startRouteApi({}, (request) => {
      if (request.method !== "POST" || !/\/complete\?/.test(request.target)) {
        return;
      }
      if (refused) return;
      refused = true;
      // As the route answers while a part is still being written.
      return {
        status: 409,
        headers: { "retry-after": "1", "content-type": "application/json" },
        body: JSON.stringify({
          error: { type: "conflict", message: "a part is being written" },
        }),
      };
    });
    try {
      const data = bytes(PART * 2 + 10, 15);
      const events: UploadProgress[] = [];
      const result = await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        onProgress: (p) => events.push(p),
      });
      assert.ok(refused);
      assert.deepEqual(await download(api, result.downloadUrl), data);
      const retries = events.filter((e) => e.retry !== undefined);
      assert.deepEqual(retries.map((e) => e.retry), [
        { attempt: 1, reason: "status 409", delay: 1000 },
      ]);
      assert.equal(retries[0].loaded, data.length);
      assert.equal(events.at(-1)!.loaded, data.length);
    } finally {
      await api.close();
    }
  });

  test("a dropped connection fails the upload with its uploadUrl, and resume sends only the missing parts", async () => {
    const data = bytes(PART * 5, 14);
    const { api, error, heal } = await failAtPart3(data);
    try {
      assert.ok(error instanceof ConnectionError, String(error));
      const uploadUrl = error.uploadUrl ?? "";
      assert.match(uploadUrl, /\/v1\/files\/uploads\//);
      const before = api.parts().length;
      // Parts 1 and 2, then 3, dropped (some runtimes send a PUT whose
      // connection closed unanswered once more by themselves).
      const sent = api.parts().map(partNumber);
      assert.deepEqual(sent.slice(0, 3), [1, 2, 3]);
      assert.ok(sent.slice(3).every((n) => n === 3), String(sent));

      heal();
      const result = await uploadTo(uploadUrl, data, { name: "a.bin" });
      const resent = api.parts().slice(before).map(partNumber).sort();
      assert.deepEqual(resent, [3, 4, 5], "parts 1 and 2 are not sent again");
      assert.equal(result.sha256, await composite(data, PART));
      assert.deepEqual(await download(api, result.downloadUrl), data);
    } finally {
      await api.close();
    }
  });

  test("resume checks the stored parts against the file and sends again a part that differs", async () => {
    const first = bytes(PART * 3, 15);
    const { api, error, heal } = await failAtPart3(first);
    try {
      assert.ok(error instanceof FileUrlsError, String(error));
      const before = api.parts().length;
      heal();
      // The same size, but part 2 changed since.
      const second = first.slice();
      second[PART + 5] ^= 0xff;
      const result = await client(api).files.uploadFile(second, "prediction", {
        name: "a.bin",
        resume: error.uploadUrl,
      });
      const resent = api.parts().slice(before).map(partNumber).sort();
      assert.deepEqual(resent, [2, 3]);
      assert.equal(result.sha256, await composite(second, PART));
      assert.deepEqual(await download(api, result.downloadUrl), second);
    } finally {
      await api.close();
    }
  });

  test("resume refuses a file of another size than the upload's", async () => {
    const api = await startRouteApi();
    try {
      const res = await api.app.request(`${api.baseUrl}/files/uploads`, {
        method: "POST",
        headers: { authorization: `Bearer ${api.apiKey}` },
        body: JSON.stringify({
          name: "a.bin",
          size: PART * 3,
          resource: "prediction",
          mime_type: "application/octet-stream",
        }),
      });
      const { upload_url } = await res.json();
      const error = await client(api).files.uploadFile(
        bytes(PART * 2, 1),
        "prediction",
        { name: "a.bin", resume: upload_url },
      ).catch((e) => e);
      assert.ok(error instanceof FileUrlsError, String(error));
      assert.match(
        error.message,
        /the file has 131072 bytes, but the upload was started for 196608/,
      );
      assert.equal(api.parts().length, 0);
    } finally {
      await api.close();
    }
  });

  test("resuming a completed upload checks the file: the same bytes answer the file, others are refused", async () => {
    const api = await startRouteApi();
    try {
      const a = bytes(PART * 2 + 7, 19);
      const b = bytes(PART * 2 + 7, 20);
      let uploadUrl: string | undefined;
      const options = { name: "a.bin", partSize: PART };
      const first = await client(api).files.uploadFile(a, "prediction", {
        ...options,
        onProgress: (p) => (uploadUrl ??= p.uploadUrl),
      });
      for (const input of [a, new Blob([a]), streamOf(a, 1000)]) {
        const again = await client(api).files.uploadFile(input, "prediction", {
          ...options,
          resume: uploadUrl,
        });
        assert.deepEqual(
          [again.id, again.sha256, again.size],
          [first.id, first.sha256, first.size],
        );
      }
      const before = api.requests.length;
      for (const input of [b, streamOf(b, 1000)]) {
        const error = await client(api).files.uploadFile(input, "prediction", {
          ...options,
          resume: uploadUrl,
        }).catch((e) => e);
        assert.ok(error instanceof FileUrlsError, String(error));
        assert.match(
          error.message,
          /the upload was completed with other bytes \(SHA-256 of parts \S+-3, this file's \S+-3\)/,
        );
      }
      // Only the status was asked for.
      assert.deepEqual(
        api.requests.slice(before).map((r) => r.method),
        ["GET", "GET"],
      );
    } finally {
      await api.close();
    }
  });

  test("an aborted signal aborts the upload at the API: nothing stays", async () => {
    const api = await startRouteApi();
    try {
      const data = bytes(PART * 6, 16);
      const controller = new AbortController();
      let uploadUrl = "";
      const reason = new Error("stop");
      const error = await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => {
          uploadUrl = p.uploadUrl ?? uploadUrl;
          if (p.loaded >= PART * 2) controller.abort(reason);
        },
      }).catch((e) => e);
      assert.equal(error, reason);
      assert.ok(api.requests.some((r) => r.method === "DELETE"));
      const status = await api.app.request(uploadUrl);
      assert.equal(status.status, 404, "the upload is gone");
      assert.ok(api.parts().length < 6);
    } finally {
      await api.close();
    }
  });

  for (const kind of ["stream", "async iterable"] as const) {
    test(
      `an abort stops a ${kind} that stalls, before and after the upload started: nothing stays`,
      {
        timeout: 20_000,
      },
      async () => {
        const api = await startRouteApi();
        try {
          // Stalls for good after `given` bytes.
          const stalled = (given: number) => {
            const data = bytes(given, 17);
            if (kind === "stream") {
              let sent = false;
              return new ReadableStream<Uint8Array>({
                async pull(controller) {
                  if (sent) return await new Promise<void>(() => {});
                  sent = true;
                  controller.enqueue(data);
                },
              });
            }
            return (async function* () {
              yield data;
              await new Promise<void>(() => {});
            })();
          };
          for (const given of [PART / 2, PART * 3 + 5]) {
            const controller = new AbortController();
            const reason = new Error("stop");
            let uploadUrl: string | undefined;
            setTimeout(() => controller.abort(reason), 300);
            const error = await client(api).files.uploadFile(
              stalled(given),
              "prediction",
              {
                name: "a.bin",
                partSize: PART,
                signal: controller.signal,
                onProgress: (p) => (uploadUrl ??= p.uploadUrl),
              },
            ).catch((e) => e);
            assert.equal(error, reason, `${given} bytes`);
            if (given > PART) {
              // Parts 1 to 3 went, and the upload was deleted.
              assert.ok(uploadUrl, "the upload started");
              assert.equal((await api.app.request(uploadUrl)).status, 404);
            } else {
              assert.equal(uploadUrl, undefined, "nothing started");
            }
          }
        } finally {
          await api.close();
        }
      },
    );
  }

  test("an abort while the API creates the upload deletes it before rejecting: nothing stays", async () => {
    const created: string[] = [];
    const api = await startRouteApi({
      // The API takes its time to make the upload.
      authorize: async () => {
        await new Promise((done) => setTimeout(done, 300));
        return true;
      },
      onUploaded: (file) => void created.push(file.key),
    });
    try {
      const controller = new AbortController();
      const reason = new Error("stop");
      setTimeout(() => controller.abort(reason), 50);
      const error = await client(api).files.uploadFile(
        bytes(PART * 3, 18),
        "prediction",
        { name: "a.bin", partSize: PART, signal: controller.signal },
      ).catch((e) => e);
      assert.equal(error, reason);
      // By the time the call rejects, the upload the API made after the
      // abort is deleted: a caller that exits at once leaves nothing.
      const deleted = api.requests.find((r) => r.method === "DELETE");
      assert.ok(deleted, "no DELETE of the upload before the rejection");
      assert.equal(
        api.requests.filter((r) => r.method === "PUT").length,
        0,
        "no part is sent after the abort",
      );
      const answer = await api.app.request(`http://localhost${deleted.target}`);
      assert.equal(answer.status, 404, "the upload is gone");
      assert.deepEqual(created, []);
    } finally {
      await api.close();
    }
  });

  test(
    "where a part's progress cannot be seen, it may take timeout × concurrency",
    {
      skip: "Bun" in globalThis ||
          (!("Deno" in globalThis) && typeof process === "object")
        ? "Bun and Node see a part's progress: their timeout counts silence"
        : false,
    },
    async () => {
      const api = await startRouteApi();
      try {
        // A fetch of the caller's own sends each part whole, as browsers
        // do; every part takes 600 ms, over the 300 ms timeout, but within
        // 4 × 300 ms.
        const slow = async (url: string, init: RequestInit) => {
          if (init.method === "PUT") {
            await new Promise((resolve) => setTimeout(resolve, 600));
          }
          return await fetch(url, init);
        };
        const data = bytes(PART * 3, 40);
        for (const [concurrency, ok] of [[4, true], [1, false]] as const) {
          const result = await client(api, {
            fetch: slow,
            timeout: 300,
            maxRetries: 0,
          }).files.uploadFile(data, "prediction", {
            name: "slow.bin",
            partSize: PART,
            concurrency,
          }).catch((e) => e);
          if (ok) {
            assert.equal(result.size, data.length, String(result));
          } else {
            assert.ok(result instanceof TimeoutError, String(result));
            assert.match(result.message, /within 300 ms/);
          }
        }
      } finally {
        await api.close();
      }
    },
  );

  test("a stream over the API's maxSize fails with 413 and its upload is deleted, not kept to resume", async () => {
    const api = await startRouteApi({ maxSize: PART * 2 + 10 });
    try {
      const error = await client(api).files.uploadFile(
        streamOf(bytes(PART * 4, 23), 1000),
        "prediction",
        { name: "big.bin", partSize: PART },
      ).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 413);
      assert.equal(error.uploadUrl, undefined, "nothing to resume");
      const started = api.requests.find((r) =>
        r.method === "POST" && r.target.endsWith("/files/uploads")
      );
      assert.ok(started);
      const deleted = api.requests.filter((r) => r.method === "DELETE");
      assert.equal(deleted.length, 1, "the upload is deleted");
      const answer = await api.app.request(
        `http://localhost${deleted[0].target}`,
      );
      assert.equal(answer.status, 404, "the upload is gone");
    } finally {
      await api.close();
    }
  });

  test("an abort that comes after the API completed the upload resolves with the stored file", async () => {
    const api = await startRouteApi();
    try {
      const controller = new AbortController();
      // The completion reaches the API; its answer is lost to the abort.
      const late = async (url: string, init: RequestInit) => {
        if (init.method === "POST" && /\/complete\?/.test(url)) {
          await (await fetch(url, { ...init, signal: undefined })).text();
          controller.abort(new Error("canceled"));
          throw controller.signal.reason;
        }
        return await fetch(url, init);
      };
      const data = bytes(PART * 2 + 3, 42);
      const progress: UploadProgress[] = [];
      const result = await client(api, { fetch: late }).files.uploadFile(
        data,
        "prediction",
        {
          name: "late.bin",
          partSize: PART,
          signal: controller.signal,
          onProgress: (p) => progress.push(p),
        },
      );
      assert.equal(result.size, data.length);
      assert.deepEqual(await download(api, result.downloadUrl), data);
      assert.equal(progress.at(-1)?.loaded, data.length);
      // Its DELETE was refused (409): the file stays, as the result says.
      const deletes = api.requests.filter((r) => r.method === "DELETE");
      assert.equal(deletes.length, 1);
    } finally {
      await api.close();
    }
  });

  test("a part whose connection goes silent fails after timeout with a TimeoutError that tells the uploadUrl", async () => {
    const api = await startRouteApi();
    const port = Number(new URL(api.url).port);
    const proxy = await startCutProxy(
      port,
      /PUT [^ ]*\/parts\/2\?/,
      10,
      "stall",
    );
    try {
      const started = Date.now();
      const error = await new Client({
        baseUrl: `${proxy.url}/v1`,
        apiKey: api.apiKey,
        maxRetries: 0,
        timeout: 1000,
      }).files.uploadFile(bytes(PART * 3, 33), "prediction", {
        name: "a.bin",
        partSize: PART,
        concurrency: 1,
      }).catch((e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.timeout, 1000);
      assert.match(error.uploadUrl ?? "", /\/files\/uploads\//);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await proxy.close();
      await api.close();
    }
  });

  test("a single PUT sent again says why, in the progress event where loaded goes back", async () => {
    let failed = false;
    const api = await startRouteApi({}, (request) => {
      if (!failed && request.method === "PUT") {
        failed = true;
        return { status: 503, headers: { "retry-after": "0" }, body: "busy" };
      }
    });
    try {
      const data = bytes(PART, 34);
      const events: UploadProgress[] = [];
      await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        onProgress: (p) => events.push(p),
      });
      for (let i = 1; i < events.length; i++) {
        if (events[i].loaded < events[i - 1].loaded) {
          assert.equal(events[i].retry?.attempt, 1);
          assert.match(events[i].retry!.reason, /503/);
        }
      }
      assert.ok(events.some((e) => e.retry !== undefined));
      assert.equal(events.at(-1)?.loaded, data.length);
    } finally {
      await api.close();
    }
  });

  test("a completion answer with another checksum is a FileUrlsError", async () => {
    const api = await startRouteApi({}, (request) => {
      if (request.method === "POST" && request.target.includes("/complete?")) {
        return {
          status: 201,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "x",
            name: "a.bin",
            size: PART * 2,
            mime_type: "application/octet-stream",
            uploaded_at: "2030-01-01T00:00:00.000Z",
            sha256: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=-2",
            download_url: "http://127.0.0.1:9/x",
          }),
        };
      }
    });
    try {
      const error = await client(api).files.uploadFile(
        bytes(PART * 2, 17),
        "prediction",
        { name: "a.bin", partSize: PART },
      ).catch((e) => e);
      assert.ok(error instanceof FileUrlsError, String(error));
      assert.match(error.message, /SHA-256 of parts is AAAA/);
    } finally {
      await api.close();
    }
  });
});

describe("uploadFile() of named file handles", () => {
  test("a Node fs.ReadStream is a file: name and size from its path, parts read at offsets", async () => {
    const api = await startRouteApi();
    try {
      const data = bytes(PART * 2 + 9, 30);
      const path = join(dir, "clip (2).mp4");
      await writeFile(path, data);
      const stream = createReadStream(path);
      const result = await client(api).files.uploadFile(stream, "prediction", {
        partSize: PART,
      });
      assert.equal(result.name, "clip (2).mp4");
      assert.equal(result.mimeType, "video/mp4");
      assert.equal(result.multipart, true);
      const [start] = api.starts();
      // Its size was known from the start: a file, not a one-way stream.
      assert.equal(
        JSON.parse(new TextDecoder().decode(start.body)).size,
        data.length,
      );
      assert.deepEqual(await download(api, result.downloadUrl), data);
      assert.equal(stream.destroyed, true);
    } finally {
      await api.close();
    }
  });

  test("a Node fs.ReadStream with start and end uploads that range", async () => {
    const api = await startRouteApi();
    try {
      const data = bytes(5000, 31);
      const path = join(dir, "range.bin");
      await writeFile(path, data);
      const result = await client(api).files.uploadFile(
        createReadStream(path, { start: 100, end: 3099 }),
      );
      assert.equal(result.size, 3000);
      assert.deepEqual(
        await download(api, result.downloadUrl),
        data.subarray(100, 3100),
      );
    } finally {
      await api.close();
    }
  });

  // Bun.file() is Bun's own: the test is registered on Bun only.
  ("Bun" in globalThis ? test : () => {})(
    "Bun.file() is a file named for its path",
    async () => {
      const api = await startRouteApi();
      try {
        const data = bytes(PART + 3, 32);
        const path = join(dir, "model.safetensors");
        await writeFile(path, data);
        // deno-lint-ignore no-explicit-any
        const file = (globalThis as any).Bun.file(path) as Blob;
        const result = await client(api).files.uploadFile(file, "prediction", {
          partSize: PART,
        });
        assert.equal(result.name, "model.safetensors");
        assert.deepEqual(await download(api, result.downloadUrl), data);
      } finally {
        await api.close();
      }
    },
  );
});

describe("uploadFile() in parts, its progress and options", () => {
  test("progress counts acknowledged bytes, tells the uploadUrl, and stops when the upload settles", async () => {
    const api = await startRouteApi();
    try {
      const data = bytes(PART * 5 + 7, 18);
      const events: UploadProgress[] = [];
      let settled = false;
      let late = 0;
      const result = await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
        concurrency: 3,
        onProgress: (p) => {
          if (settled) late++;
          events.push(p);
        },
      });
      settled = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(late, 0);
      const loaded = events.map((e) => e.loaded);
      assert.deepEqual(loaded, [...loaded].sort((a, b) => a - b));
      assert.equal(loaded[0], 0);
      assert.equal(loaded.at(-1), data.length);
      assert.ok(events.every((e) => e.total === data.length));
      assert.ok(events.every((e) => e.uploadUrl?.includes("/files/uploads/")));
      assert.ok(events.every((e) => e.id === result.id));
      // Every step is a whole part the API acknowledged.
      for (let i = 1; i < loaded.length; i++) {
        const step = loaded[i] - loaded[i - 1];
        assert.ok([0, PART, 7].includes(step), String(step));
      }
    } finally {
      await api.close();
    }
  });

  test("a stream of unknown length has no total until it ends, and declares its size at completion", async () => {
    const api = await startRouteApi();
    try {
      const data = bytes(PART * 2 + 100, 19);
      const events: UploadProgress[] = [];
      const result = await client(api).files.uploadFile(
        streamOf(data, 5000),
        "prediction",
        { name: "s.bin", partSize: PART, onProgress: (p) => events.push(p) },
      );
      assert.equal(events[0].total, undefined);
      assert.equal(events.at(-1)?.total, data.length);
      assert.equal(result.size, data.length);
      assert.deepEqual(await download(api, result.downloadUrl), data);
    } finally {
      await api.close();
    }
  });

  test("the part size the API chooses is the one used", async () => {
    const api = await startRouteApi({ minPartSize: PART * 2 });
    try {
      const data = bytes(PART * 5, 20);
      await client(api).files.uploadFile(data, "prediction", {
        name: "a.bin",
        partSize: PART,
      });
      const sizes = api.parts().sort((a, b) => partNumber(a) - partNumber(b))
        .map((r) => r.body.byteLength);
      assert.deepEqual(sizes, [PART * 2, PART * 2, PART]);
    } finally {
      await api.close();
    }
  });

  test("uploadTo() finishes an upload started elsewhere, with no API key", async () => {
    const api = await startRouteApi();
    try {
      const upload = await startedByBackend(api);
      const data = bytes(PART * 2 + 1, 21);
      const result = await uploadTo(upload, new Blob([data]), {
        name: "from-backend.bin",
      });
      assert.equal(result.id, upload.id);
      assert.deepEqual(await download(api, result.downloadUrl), data);
      const after = api.requests.slice(1);
      assert.ok(after.length > 0);
      assert.ok(after.every((r) => r.headers.authorization === undefined));
    } finally {
      await api.close();
    }
  });

  test("uploadTo() given an upload_url alone names a nameless Blob as the upload was made for", async () => {
    const api = await startRouteApi();
    try {
      const upload = await startedByBackend(api);
      const data = bytes(PART * 2 + 1, 25);
      const result = await uploadTo(upload.upload_url, new Blob([data]));
      assert.equal(result.name, "from-backend.bin");
      assert.equal(result.id, upload.id);
      assert.deepEqual(await download(api, result.downloadUrl), data);
    } finally {
      await api.close();
    }
  });

  test("uploadTo() one PUT resolves with the name and type the URLs were made for", async () => {
    const api = await startRouteApi();
    try {
      const urls = await client(api).files.createUrls({
        name: "report.pdf",
        size: 3,
        resource: "prediction",
        mime_type: "application/pdf",
      });
      const result = await uploadTo(
        urls,
        new File([new Uint8Array([1, 2, 3])], "other.pdf", {
          type: "application/pdf",
        }),
      );
      assert.equal(result.name, "report.pdf");
      assert.equal(result.mimeType, "application/pdf");
      assert.equal(result.id, urls.id);
      assert.match(result.downloadUrl, /\/report\.pdf\?/);
    } finally {
      await api.close();
    }
  });

  test("a single PUT's progress events tell the file id, as a multipart upload's do", async () => {
    const api = await startRouteApi();
    try {
      const events: UploadProgress[] = [];
      const result = await client(api).files.uploadFile(
        bytes(PART - 1, 24),
        "prediction",
        {
          name: "small.bin",
          partSize: PART,
          onProgress: (p) => events.push(p),
        },
      );
      assert.equal(result.multipart, false);
      assert.ok(result.id);
      assert.ok(events.length >= 2, String(events.length));
      for (const event of events) assert.equal(event.id, result.id);
    } finally {
      await api.close();
    }
  });

  test("uploadTo() sends the type and takes the name the URLs were made for, where the file has none or others", async () => {
    const api = await startRouteApi();
    try {
      const data = new TextEncoder().encode("# hi\n");
      for (
        const [file, declared] of [
          // A File whose type the browser left empty, its extension another
          // type's: the URLs were made for application/octet-stream.
          [new File([data], "notes.md"), "application/octet-stream"],
          // A Blob with no name, of its own type.
          [new Blob([data], { type: "text/plain" }), "text/markdown"],
        ] as const
      ) {
        const urls = await client(api).files.createUrls({
          name: "notes.md",
          size: data.length,
          resource: "prediction",
          mime_type: declared,
        });
        const singles = api.singles().length;
        const result = await uploadTo(urls, file);
        assert.equal(result.name, "notes.md");
        assert.equal(result.mimeType, declared);
        const put = api.singles().slice(singles);
        assert.equal(put.length, 1);
        assert.equal(put[0].headers["content-type"], declared);
        assert.deepEqual(await download(api, result.downloadUrl), data);
      }
      // A multipart upload's answer names the file too.
      const upload = await startedByBackend(api);
      const result = await uploadTo(upload, new Blob([bytes(PART * 2 + 1)]));
      assert.equal(result.name, "from-backend.bin");
    } finally {
      await api.close();
    }
  });

  test("uploadTo() refuses, before any request, a name, type or size other than the URLs were made for", async () => {
    const api = await startRouteApi();
    try {
      const urls = await client(api).files.createUrls({
        name: "n.txt",
        size: 5,
        resource: "prediction",
        mime_type: "text/plain",
      });
      const upload = await startedByBackend(api);
      const before = api.requests.length;
      const data = new TextEncoder().encode("hello");
      for (const target of [urls, upload]) {
        const named = await uploadTo(target, data, { name: "zzz.json" })
          .catch((e) => e);
        assert.ok(named instanceof TypeError, String(named));
        assert.match(
          named.message,
          /the URLs were made for "(n\.txt|from-backend\.bin)"/,
        );
        const typed = await uploadTo(target, data, {
          mimeType: "application/json",
        }).catch((e) => e);
        assert.ok(typed instanceof TypeError, String(typed));
        assert.match(
          typed.message,
          /made for the type "[^"]+", not "application\/json"/,
        );
      }
      const sized = await uploadTo(urls, new Uint8Array(6)).catch((e) => e);
      assert.ok(sized instanceof FileUrlsError, String(sized));
      assert.equal(
        sized.message,
        `Cannot upload "n.txt": the file has 6 bytes, but the URLs were made for 5`,
      );
      assert.equal(api.requests.length, before, "no request");
      // The same type, cased or with parameters otherwise, is the type; it
      // goes as declared, which a presigned URL signs to the letter.
      const singles = api.singles().length;
      const result = await uploadTo(urls, data, {
        mimeType: "Text/Plain; charset=utf-8",
      });
      assert.equal(result.name, "n.txt");
      assert.equal(
        api.singles().slice(singles)[0].headers["content-type"],
        "text/plain",
      );
    } finally {
      await api.close();
    }
  });

  test("uploadTo() given the upload_url of one PUT says so, not that a key is missing", async () => {
    const api = await startRouteApi();
    try {
      const urls = await client(api).files.createUrls({
        name: "one.bin",
        size: 3,
        resource: "prediction",
        mime_type: "application/octet-stream",
      });
      const error = await uploadTo(urls.upload_url, new Uint8Array(3), {
        name: "one.bin",
      }).catch((e) => e);
      assert.ok(error instanceof FileUrlsError, String(error));
      assert.equal(
        error.message,
        `Cannot upload "one.bin": the URL is not a multipart upload's upload_url (asked for its state, the API answered 401); for one PUT, pass the whole answer of POST /files/urls`,
      );
    } finally {
      await api.close();
    }
  });

  test("a signal aborted already rejects before any request or progress event", async () => {
    const api = await startRouteApi();
    try {
      const progress: unknown[] = [];
      const reason = new Error("not now");
      const urls = {
        upload_url: `${api.baseUrl}/upload/x`,
        download_url: `${api.baseUrl}/download/x`,
      };
      for (const target of ["upload", "uploadTo", "uploadTo one PUT"]) {
        const options = {
          name: "a.bin",
          signal: AbortSignal.abort(reason),
          onProgress: (p: unknown) => progress.push(p),
        };
        const data = bytes(PART * 2, 43);
        const error = await (target === "upload"
          ? client(api).files.uploadFile(data, "prediction", options)
          : target === "uploadTo"
          ? uploadTo(`${api.baseUrl}/files/uploads/x?sig=y`, data, options)
          : uploadTo(urls, data.subarray(0, 5), options)).catch((e) =>
            e
          );
        assert.equal(error, reason, target);
      }
      assert.deepEqual(progress, []);
      assert.equal(api.requests.length, 0);
    } finally {
      await api.close();
    }
  });

  test("uploadTo() refuses a file of another size than the upload's before any part is sent", async () => {
    const api = await startRouteApi();
    try {
      const upload = await startedByBackend(api);
      for (const size of [PART * 2, PART * 3]) {
        await assert.rejects(
          uploadTo(upload, new Blob([bytes(size, 22)]), {
            name: "from-backend.bin",
          }),
          (error: Error) =>
            error instanceof FileUrlsError &&
            error.message.includes(`the file has ${size} bytes`) &&
            error.message.includes(`started for ${PART * 2 + 1}`),
        );
      }
      assert.deepEqual(api.parts(), []);
    } finally {
      await api.close();
    }
  });

  test("a partSize or concurrency below 1 is a RangeError before any request", async () => {
    const api = await startRouteApi();
    try {
      for (
        const options of [{ partSize: 0 }, { concurrency: 0 }, {
          partSize: 1.5,
        }]
      ) {
        await assert.rejects(
          client(api).files.uploadFile(new Uint8Array(3), "prediction", {
            name: "a.bin",
            ...options,
          }),
          RangeError,
        );
      }
      assert.equal(api.requests.length, 0);
    } finally {
      await api.close();
    }
  });
});
