/**
 * The client reads at most 1 MiB of a successful answer and 64 KiB of an
 * error's, whatever the server sends: against answers that never end, on
 * every request of a single and a multipart upload, through `fetch` and
 * through `node:http` (which carries the parts on Deno and Node, and the
 * calls to an upload's URL on Node). The route is served by the runtime
 * (`../_flood.ts`); each endless answer shows that the client cancelled it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  Client,
  ConnectionError,
  FileUrlsError,
  uploadTo,
} from "../../mod.ts";
import { bytes } from "../_data.ts";
import {
  type Answers,
  type FloodApi,
  padded,
  startFloodApi,
} from "../_flood.ts";

const MiB = 1024 ** 2;
/** The part size of the multipart tests. */
const PART = 64 * 1024;

function client(api: FloodApi): Client {
  return new Client({
    baseUrl: api.baseUrl,
    apiKey: api.apiKey,
    maxRetries: 0,
    timeout: 10_000,
  });
}

/** A request's method and path, e.g. `PUT /v1/files/uploads/x/parts/1`. */
function line(request: Request): string {
  return `${request.method} ${new URL(request.url).pathname}`;
}

/**
 * Starts the route, with the first request whose method and path match
 * `pattern` answered by `answer`.
 */
function startApiAnswering(
  pattern: RegExp,
  answer: (request: Request, answers: Answers) => Promise<Response>,
): Promise<FloodApi> {
  let done = false;
  return startFloodApi((request, answers) => {
    if (done || !pattern.test(line(request))) return undefined;
    done = true;
    return answer(request, answers);
  });
}

/** Rejects unless `promise` rejects with a `FileUrlsError` of `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  message: string,
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => FileUrlsError = FileUrlsError,
): Promise<void> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof type, `${error} is a ${type.name}`);
  assert.equal(error.message, message);
}

/** Runs `fn` with `api`, then closes it. */
async function withApi(
  api: FloodApi,
  fn: (api: FloodApi) => Promise<void>,
): Promise<void> {
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

const params = {
  name: "a.bin",
  size: 3,
  resource: "prediction",
  mime_type: "application/octet-stream",
} as const;

describe("answers of the API are read up to 1 MiB", () => {
  test("createUrls() refuses an answer that does not end, and cancels it", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/urls$/,
      (_request, { endless }) => Promise.resolve(endless(201)),
    );
    await withApi(api, async () => {
      await rejectsWith(
        client(api).files.createUrls(params),
        `Cannot create URLs for "a.bin": the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
    });
  });

  test("an answer of exactly 1 MiB is read, and one of a byte more is refused", async () => {
    for (const [size, ok] of [[MiB, true], [MiB + 1, false]] as const) {
      const api = await startApiAnswering(
        /^POST \/v1\/files\/urls$/,
        async (request, { route }) => await padded(await route(request), size),
      );
      await withApi(api, async () => {
        const created = client(api).files.createUrls(params);
        if (ok) {
          assert.match((await created).upload_url, /^http:\/\/127\.0\.0\.1/);
        } else {
          await rejectsWith(
            created,
            `Cannot create URLs for "a.bin": the API's answer is longer than 1 MiB`,
          );
        }
      });
    }
  });

  test("upload() stops at an endless answer to POST /files/urls, and sends nothing", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/urls$/,
      (_request, { endless }) =>
        Promise.resolve(endless(201, '{"upload_url":"http://127.0.0.1/"')),
    );
    await withApi(api, async () => {
      await rejectsWith(
        client(api).files.upload(new File(["abc"], "a.bin")),
        `Cannot upload "a.bin": the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
      assert.deepEqual(api.requests, ["POST /v1/files/urls"]);
    });
  });

  test("upload() refuses an endless answer to its PUT", async () => {
    const api = await startApiAnswering(
      /^PUT \/v1\/files\//,
      async (request, { route, endless }) =>
        endless((await route(request)).status),
    );
    await withApi(api, async () => {
      await rejectsWith(
        client(api).files.upload(new File(["abc"], "a.bin")),
        `Cannot upload "a.bin": the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
    });
  });
});

describe("an error answer is read up to 64 KiB", () => {
  test("an endless error keeps its first 64 KiB for the message", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/urls$/,
      (_request, { endless }) =>
        Promise.resolve(
          endless(400, '{"error":{"type":"bad_request","message":"No way"}}'),
        ),
    );
    await withApi(api, async () => {
      const error = await client(api).files.upload(
        new File(["abc"], "a.bin"),
      ).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.type, "bad_request");
      assert.equal(
        error.message,
        'Cannot upload "a.bin": server responded with 400: No way',
      );
      await api.cancelled();
    });
  });
});

describe("a multipart upload reads its answers up to the limits", () => {
  const data = bytes(PART * 2, 5);
  const upload = (api: FloodApi) =>
    client(api).files.uploadFile(data, "prediction", {
      name: "a.bin",
      partSize: PART,
      concurrency: 1,
    });

  test("an endless answer to POST {upload_url}/parts is refused", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/uploads\/[^/]+\/parts$/,
      (_request, { endless }) => Promise.resolve(endless(200, '{"parts":[')),
    );
    await withApi(api, async () => {
      await rejectsWith(
        upload(api),
        `Cannot upload "a.bin": part 1: the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
    });
  });

  test("an endless answer to a part's PUT is cancelled, and the upload completes", async () => {
    const api = await startApiAnswering(
      /^PUT \/v1\/files\/uploads\/[^/]+\/parts\/1$/,
      async (request, { route, endless }) =>
        endless((await route(request)).status),
    );
    await withApi(api, async () => {
      const result = await upload(api);
      assert.equal(result.size, data.byteLength);
      assert.equal(result.multipart, true);
      await api.cancelled();
    });
  });

  test("an endless error answer to a part's PUT becomes an ApiError", async () => {
    const api = await startApiAnswering(
      /^PUT \/v1\/files\/uploads\/[^/]+\/parts\/1$/,
      (_request, { endless }) =>
        Promise.resolve(
          endless(400, '{"error":{"type":"bad_request","message":"Bad part"}}'),
        ),
    );
    await withApi(api, async () => {
      await rejectsWith(
        upload(api),
        'Cannot upload "a.bin": part 1: server responded with 400: Bad part',
        ApiError,
      );
      await api.cancelled();
    });
  });

  test("an endless answer to POST {upload_url}/complete is refused", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/uploads\/[^/]+\/complete$/,
      (_request, { endless }) => Promise.resolve(endless(201)),
    );
    await withApi(api, async () => {
      await rejectsWith(
        upload(api),
        `Cannot upload "a.bin": cannot complete the upload: the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
    });
  });

  test("an endless answer to GET {upload_url} on resume is refused", async () => {
    const api = await startApiAnswering(
      /^GET \/v1\/files\/uploads\/[^/]+$/,
      (_request, { endless }) => Promise.resolve(endless(200)),
    );
    await withApi(api, async () => {
      const started = await fetch(`${api.baseUrl}/files/uploads`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${api.apiKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          name: "a.bin",
          size: data.byteLength,
          resource: "prediction",
          mime_type: "application/octet-stream",
          part_size: PART,
        }),
      });
      assert.equal(started.status, 201);
      const { upload_url } = await started.json();
      await rejectsWith(
        uploadTo(upload_url, data, { name: "a.bin", maxRetries: 0 }),
        `Cannot upload "a.bin": the API's answer is longer than 1 MiB`,
      );
      await api.cancelled();
    });
  });
});

describe("an answer that breaks off is a ConnectionError", () => {
  test("a successful answer to POST /files/urls", async () => {
    const api = await startApiAnswering(
      /^POST \/v1\/files\/urls$/,
      (_request, { broken }) =>
        Promise.resolve(broken(201, '{"upload_url":"http://127.0.0.1/"')),
    );
    await withApi(api, async () => {
      const error = await client(api).files.createUrls(params).catch((e) => e);
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(
        error.message,
        /^Cannot create URLs for "a\.bin": the answer from http:\/\/127\.0\.0\.1:\d+\/v1\/files\/urls broke off: connection reset$/,
      );
      assert.equal(error.url, `${api.baseUrl}/files/urls`);
    });
  });

  test("but an error answer to a part's PUT whose status came is an ApiError with that status", async () => {
    const api = await startApiAnswering(
      /^PUT \/v1\/files\/uploads\/[^/]+\/parts\/1$/,
      (_request, { broken }) =>
        Promise.resolve(broken(400, '{"error":{"type":"bad_request"')),
    );
    await withApi(api, async () => {
      const error = await client(api).files.uploadFile(
        bytes(PART * 2, 5),
        "prediction",
        { name: "a.bin", partSize: PART, concurrency: 1 },
      ).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.type, "http_error");
      assert.equal(
        error.message,
        'Cannot upload "a.bin": part 1: server responded with 400: Bad Request (the answer broke off: connection reset)',
      );
    });
  });
});
