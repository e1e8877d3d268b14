/**
 * What the route logs: a client that closes the connection in the middle of
 * its body is no fault of the server, and is not logged; a real fault is,
 * once, and answers 500.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { memoryStorage, type Storage } from "../../src/hono/mod.ts";
import { API_KEY, create, HELLO, makeApp } from "../_route.ts";
import { type FetchApp, serveApp, serveNode } from "../_serve.ts";

/** Runs `body` with every `console.error` call recorded instead of printed. */
async function capturingErrors(
  body: (logged: unknown[][]) => Promise<void>,
): Promise<void> {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args);
  };
  try {
    await body(logged);
  } finally {
    console.error = original;
  }
}

/** An app that keeps the answer it gives to each request. */
function answering(app: FetchApp): FetchApp & { answers: Promise<Response>[] } {
  const answers: Promise<Response>[] = [];
  return {
    answers,
    fetch(request: Request) {
      const answer = Promise.resolve(app.fetch(request));
      answers.push(answer);
      return answer;
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Sends a request's head and the start of its body over a plain socket, waits
 * until the route has the request, then closes the connection.
 */
async function abandon(
  url: string,
  method: string,
  headers: Record<string, string>,
  start: string,
  handling: () => boolean,
): Promise<void> {
  const target = new URL(url);
  const socket = connect(Number(target.port), target.hostname);
  socket.on("error", () => {});
  socket.write(
    [
      `${method} ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "",
      start,
    ].join("\r\n"),
  );
  try {
    await until(handling, `the route to receive ${method} ${target.pathname}`);
  } finally {
    socket.destroy();
  }
}

const servers = [
  ["the runtime's own server", serveApp],
  ["@hono/node-server", serveNode],
] as const;

describe("a body that breaks off when the client goes away", () => {
  for (const [label, serve] of servers) {
    test(`is not logged, nor answered as a 500, with ${label}`, async () => {
      const t = makeApp({ minPartSize: 1 });
      const { upload_url } = await create(t.app, { ...HELLO, size: 5 });
      const app = answering(t.app);
      const server = await serve(app);
      const auth = `Bearer ${API_KEY}`;
      const cases: [string, string, Record<string, string>, string][] = [
        [
          "/v1/files/urls",
          "POST",
          { Authorization: auth, "Transfer-Encoding": "chunked" },
          '5\r\n{"nam\r\n',
        ],
        [
          "/v1/files/urls",
          "POST",
          { Authorization: auth, "Content-Length": "100" },
          '{"name":',
        ],
        [
          "/v1/files/uploads",
          "POST",
          { Authorization: auth, "Transfer-Encoding": "chunked" },
          '5\r\n{"nam\r\n',
        ],
        [
          new URL(upload_url).pathname + new URL(upload_url).search,
          "PUT",
          { "Content-Type": "text/plain", "Content-Length": "5" },
          "he",
        ],
      ];
      try {
        await capturingErrors(async (logged) => {
          for (const [path, method, headers, start] of cases) {
            const count = app.answers.length;
            await abandon(
              server.url + path,
              method,
              headers,
              start,
              () => app.answers.length > count,
            );
            const answer = await app.answers[count];
            const what = `${method} ${path.split("?")[0]} ${
              JSON.stringify(headers)
            }`;
            // The server itself sends the body, to a closed connection.
            assert.equal(answer.status, 400, what);
            assert.deepEqual(logged, [], what);
          }
        });
      } finally {
        await server.close();
      }
      assert.deepEqual(t.storage.completed, []);
    });
  }

  test("while a fault of the server is logged once and answers 500", async () => {
    const broken: Storage = {
      ...memoryStorage(),
      stat() {
        throw new Error("the disk is on fire");
      },
    };
    const t = makeApp({ storage: broken });
    const { download_url } = await create(t.app);
    await capturingErrors(async (logged) => {
      const res = await t.app.request(download_url);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), {
        error: {
          type: "internal_error",
          message: "Cannot answer the request: internal error",
        },
      });
      assert.equal(logged.length, 1);
      assert.equal(logged[0][0], "fileurls: unexpected error:");
      assert.match(String(logged[0][1]), /the disk is on fire/);
    });
  });
});
