/**
 * What `fileurls serve` tells its user, as a process of the current runtime
 * (the built package under Node): an access log on standard output without
 * keys or signatures, errors on standard error, `--quiet`, the route's
 * settings from flags and the environment, the URLs to use when it listens
 * on every address, the stop, and the JSON error for every unknown path.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { postUrls, run, running, serve, type Serving } from "./_cli.ts";
import { openSlow, putHead, statusLine } from "../_slow_client.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-ux-"));
});
after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** The server's standard output from now on, as it arrives. */
function output(server: Serving): () => string {
  let text = "";
  server.child.stdout!.on("data", (chunk: string) => text += chunk);
  return () => text;
}

/** Waits until `check` holds, for up to 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

interface Urls {
  upload_url: string;
  download_url: string;
  expires_at: string;
}

async function urlsFor(
  server: Serving,
  body: Record<string, unknown> = {},
): Promise<Urls> {
  const res = await postUrls(server, body);
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

/** Uploads the 5 bytes `hello` that {@linkcode urlsFor} declares. */
/**
 * Starts an upload of `size` bytes on a connection of its own: its head is
 * sent, its body is the caller's to send.
 */
async function openUpload(server: Serving, size: number) {
  const urls = await urlsFor(server, {
    size,
    mime_type: "application/octet-stream",
  });
  const uploader = await openSlow(server.port);
  uploader.write(putHead(urls.upload_url, size));
  return { uploader, path: new URL(urls.upload_url).pathname };
}

async function putHello(uploadUrl: string): Promise<void> {
  const put = await fetch(uploadUrl, {
    method: "PUT",
    headers: { "content-type": "text/plain" },
    body: "hello",
  });
  assert.equal(put.status, 201);
  await put.body?.cancel();
}

/** `time method path status sent=N received=N time=Nms`. */
const LINE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\d{3}) sent=(\d+) received=(\d+) time=(\d+)ms/;

describe("fileurls serve's access log", () => {
  let server: Serving;
  let log: () => string;
  before(async () => {
    server = await serve(["--port", "0", "--data", join(dir, "log")]);
    log = output(server);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test("prints one line per request: time, method, path without query, status, bytes and time", async () => {
    const urls = await urlsFor(server);
    await putHello(urls.upload_url);
    const get = await fetch(urls.download_url);
    assert.equal(await get.text(), "hello");
    await until(() => log().split("\n").length > 3, "three log lines");
    const lines = log().trim().split("\n");
    assert.equal(lines.length, 3, log());
    const [post, upload, download] = lines.map((line) => LINE.exec(line));
    assert.ok(post && upload && download, log());
    assert.deepEqual(post.slice(2, 5), ["POST", "/v1/files/urls", "201"]);
    const id = new URL(urls.upload_url).pathname;
    assert.deepEqual(upload.slice(2, 5), ["PUT", id, "201"]);
    assert.equal(upload[6], "5");
    assert.deepEqual(
      download.slice(2, 7),
      ["GET", new URL(urls.download_url).pathname, "200", "5", "0"],
    );
    assert.ok(Math.abs(Date.parse(post[1]) - Date.now()) < 60_000);
  });

  test("never holds an API key or a signature, on standard output or error", async () => {
    const urls = await urlsFor(server);
    const wrongKey = "fu_not-the-key-but-still-secret-123456";
    const refused = await postUrls(server, {}, {
      authorization: `Bearer ${wrongKey}`,
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    // A signature tampered with, and a query that looks like a key.
    const tampered = await fetch(
      // Another first character, whatever the signature's was.
      urls.download_url.replace(
        /sig=(.)/,
        (_, c) => `sig=${c === "A" ? "B" : "A"}`,
      ) +
        `&key=${server.apiKey}`,
    );
    assert.equal(tampered.status, 403);
    await tampered.body?.cancel();
    await putHello(urls.upload_url);
    await until(() => log().includes(" 403 "), "the 403's line");
    await until(() => /PUT .* 201/.test(log()), "the upload's line");
    const secrets = [
      server.apiKey,
      wrongKey,
      ...[urls.upload_url, urls.download_url].map((url) =>
        new URL(url).searchParams.get("sig")!
      ),
    ];
    for (const text of [log(), server.stderr()]) {
      for (const secret of secrets) assert.ok(!text.includes(secret), text);
      assert.doesNotMatch(text, /[?&](sig|exp|kid)=|Bearer/i);
    }
  });
});

describe("fileurls serve's error log", () => {
  test("prints answers of 500 and more on standard error, also with --quiet, which silences the access log", async () => {
    const data = join(dir, "errors");
    const server = await serve(["--port", "0", "--data", data, "-q"]);
    const log = output(server);
    const urls = await urlsFor(server);
    // The files folder is now a file: storing fails.
    await rm(join(data, "files"), { recursive: true, force: true });
    await writeFile(join(data, "files"), "");
    const put = await fetch(urls.upload_url, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    assert.equal(put.status, 500);
    assert.match(put.headers.get("content-type")!, /^application\/json\b/);
    await put.body?.cancel();
    const path = new URL(urls.upload_url).pathname;
    const line = new RegExp(
      `^\\S+Z PUT ${path} 500: Cannot answer the request: internal error$`,
      "m",
    );
    await until(() => line.test(server.stderr()), "the error line");
    assert.equal(await server.stop("SIGINT"), 0);
    assert.equal(log(), "");
  });
});

describe("fileurls serve's route settings", () => {
  const settings = {
    cors: "https://app.example.com,http://localhost:5173",
    types: "image/*, application/pdf",
    resources: "avatar,report",
  };

  async function check(server: Serving) {
    const preflight = await fetch(`${server.url}/files/urls`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    await preflight.body?.cancel();
    assert.equal(
      preflight.headers.get("access-control-allow-origin"),
      "http://localhost:5173",
    );
    const other = await fetch(`${server.url}/files/urls`, {
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
      },
    });
    await other.body?.cancel();
    assert.equal(other.headers.get("access-control-allow-origin"), null);

    const text = await postUrls(server, { resource: "avatar" });
    assert.equal(text.status, 415, await text.clone().text());
    await text.body?.cancel();
    const prediction = await postUrls(server, {
      mime_type: "image/png",
    });
    assert.equal(prediction.status, 400);
    await prediction.body?.cancel();
    const before = Math.floor(Date.now() / 1000);
    for (
      const [resource, type] of [["avatar", "image/png"], [
        "report",
        "application/pdf",
      ]]
    ) {
      const urls = await urlsFor(server, { resource, mime_type: type });
      const upload = Number(new URL(urls.upload_url).searchParams.get("exp"));
      const download = Number(
        new URL(urls.download_url).searchParams.get("exp"),
      );
      const after = Math.ceil(Date.now() / 1000);
      assert.ok(upload >= before + 60 && upload <= after + 60, `${upload}`);
      assert.ok(
        download >= before + 120 && download <= after + 120,
        `${download}`,
      );
    }
    assert.equal(await server.stop(), 0);
  }

  test("come from --cors, --allowed-types, --resources, --upload-ttl and --download-ttl", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "flags"),
      "--cors",
      settings.cors,
      "--allowed-types",
      settings.types,
      "--resources",
      settings.resources,
      "--upload-ttl",
      "60",
      "--download-ttl",
      "120",
    ]);
    assert.match(
      server.stdout,
      /^CORS: https:\/\/app\.example\.com, http:\/\/localhost:5173$/m,
    );
    assert.match(
      server.stdout,
      /^Allowed types: image\/\*, application\/pdf$/m,
    );
    await check(server);
  });

  test("come from FILEURLS_CORS, FILEURLS_ALLOWED_TYPES, FILEURLS_RESOURCES, FILEURLS_UPLOAD_TTL and FILEURLS_DOWNLOAD_TTL", async () => {
    const server = await serve(["--port", "0", "--data", join(dir, "env")], {
      FILEURLS_CORS: settings.cors,
      FILEURLS_ALLOWED_TYPES: settings.types,
      FILEURLS_RESOURCES: settings.resources,
      FILEURLS_UPLOAD_TTL: "60",
      FILEURLS_DOWNLOAD_TTL: "120",
    });
    await check(server);
  });

  test("--lifetime keeps files for that long, and --max-lifetime caps what an upload asks", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "lifetime"),
      "--lifetime",
      "2d",
      "--max-lifetime",
      "30d",
    ]);
    try {
      assert.match(server.stdout, /^Files are kept for 2 d$/m);
      assert.match(server.stdout, /^Files may ask to be kept for 30 d/m);
      const over = await postUrls(server, { lifetime: 31 * 86400 });
      assert.equal(over.status, 400);
      await over.body?.cancel();

      const before = Date.now();
      const created = await postUrls(server);
      assert.equal(created.status, 201);
      const { id, upload_url } = await created.json();
      const put = await fetch(upload_url, {
        method: "PUT",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      assert.equal(put.status, 201);
      await put.body?.cancel();
      const file = await fetch(`${server.url}/files/${id}`, {
        headers: { authorization: `Bearer ${server.apiKey}` },
      });
      assert.equal(file.status, 200);
      const expires = Date.parse((await file.json()).expires_at);
      const twoDays = 2 * 86400_000;
      assert.ok(
        expires >= Math.floor(before / 1000) * 1000 + twoDays &&
          expires <= Date.now() + twoDays,
        new Date(expires).toISOString(),
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test("--cors * lets any origin call the API", async () => {
    const server = await serve(
      ["--port", "0", "--data", join(dir, "any")],
      { FILEURLS_CORS: "*" },
    );
    const res = await postUrls(server, {}, {
      origin: "https://anywhere.example",
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(await server.stop(), 0);
  });

  const bad: [string[], Record<string, string>, RegExp][] = [
    [
      ["--cors", "app.example.com"],
      {},
      /^--cors must be .*"app\.example\.com"/,
    ],
    [["--cors", "https://a.example/path"], {}, /^--cors must be /],
    [["--allowed-types", "image"], {}, /^--allowed-types must be .*"image"/],
    [["--resources", " , "], {}, /^--resources must be /],
    [["--upload-ttl", "1h"], {}, /^--upload-ttl must be .*"1h"/],
    [["--download-ttl", "0"], {}, /^--download-ttl must be .*"0"/],
    [[], { FILEURLS_UPLOAD_TTL: "-5" }, /^FILEURLS_UPLOAD_TTL must be /],
    [[], { FILEURLS_ALLOWED_TYPES: "text" }, /^FILEURLS_ALLOWED_TYPES must /],
    [["--lifetime", "soon"], {}, /^--lifetime must be .*"soon"/],
    [[], { FILEURLS_MAX_LIFETIME: "0" }, /^FILEURLS_MAX_LIFETIME must be /],
    [
      ["--lifetime", "30d", "--max-lifetime", "1d"],
      {},
      /^--lifetime \(30d\) must not be longer than --max-lifetime \(1d\)/,
    ],
    [
      ["--public-url", "localhost:8787"],
      {},
      /^--public-url must be an http:\/\/ or https:\/\/ URL.*"localhost:8787"/,
    ],
  ];
  for (const [args, env, message] of bad) {
    test(
      `exits 2 with one line and a pointer to --help for ${
        [...args, ...Object.entries(env).map((pair) => pair.join("="))].join(
          " ",
        )
      }`,
      async () => {
        const data = join(dir, "bad");
        const { code, stdout, stderr } = await run(
          ["serve", "--port", "0", "--data", data, ...args],
          { env },
        );
        assert.equal(code, 2, stderr);
        assert.equal(stdout, "");
        const lines = stderr.split("\n");
        assert.equal(lines.length, 3, stderr);
        assert.equal(lines[1], 'Run "fileurls serve --help" for the usage.');
        assert.equal(lines[2], "");
        assert.match(lines[0].replace(/^fileurls serve: /, ""), message);
      },
    );
  }
});

describe("fileurls serve's defaults", () => {
  /** Whether nothing listens on the port of 127.0.0.1. */
  function isFree(port: number): Promise<boolean> {
    return new Promise((done) => {
      const probe = createServer();
      probe.once("error", () => done(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
    });
  }

  test("listens on port 8787 and keeps its data in ./fileurls-data of the working folder", async () => {
    assert.ok(
      await isFree(8787),
      "port 8787 is taken on this machine, so the default cannot be tried",
    );
    const cwd = join(dir, "defaults");
    await mkdir(cwd);
    const server = await serve([], {}, [], cwd);
    try {
      assert.equal(server.url, "http://127.0.0.1:8787/v1");
      const data = join(cwd, "fileurls-data");
      assert.match(server.stdout, /^Storage: .*fileurls-data[\/]files$/m);
      assert.equal(
        (await readFile(join(data, "api-key"), "utf8")).trim(),
        server.apiKey,
      );
      const res = await postUrls(server);
      assert.equal(res.status, 201);
      await res.body?.cancel();
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
  test("warns on a port that browsers and fetch() refuse, and only then", async () => {
    let blocked: number | undefined;
    for (const port of [6666, 6667, 6668, 6669]) {
      if (await isFree(port)) {
        blocked = port;
        break;
      }
    }
    assert.ok(blocked !== undefined, "ports 6666–6669 are all taken here");
    for (const port of [blocked, 0]) {
      const server = await serve([
        "--port",
        String(port),
        "--data",
        join(dir, `port-${port}`),
      ]);
      // Read once it exited: all it printed has come.
      assert.equal(await server.stop(), 0);
      const warning =
        /^fileurls serve: warning: browsers and fetch\(\) on Node and Deno refuse port (\d+) .*choose another --port$/m
          .exec(server.stderr());
      assert.equal(warning?.[1], port === 0 ? undefined : String(port));
    }
  });
});

describe("fileurls serve on every address", () => {
  /** This machine's addresses other machines can reach, as in a URL. */
  function external(family: 4 | 6): string[] {
    return Object.values(networkInterfaces()).flatMap((list) => list ?? [])
      .filter((entry) =>
        !entry.internal &&
        (entry.family === `IPv${family}` ||
          (entry.family as unknown) === family) &&
        !/^fe[89ab]/i.test(entry.address)
      )
      .map((entry) => family === 6 ? `[${entry.address}]` : entry.address);
  }

  for (
    const [hostname, hosts, loopback] of [
      ["0.0.0.0", external(4), "127.0.0.1"],
      ["::", [...external(4), ...external(6)], "[::1]"],
    ] as const
  ) {
    test(`--hostname ${hostname} prints this machine's addresses, not ${hostname}`, async () => {
      const server = await serve([
        "--port",
        "0",
        "--hostname",
        hostname,
        "--data",
        join(dir, "wildcard"),
      ]);
      const printed = [
        ...server.stdout.matchAll(/^(?:fileurls serving|Also at) (\S+)$/gm),
      ].map((match) => match[1]);
      const port = server.port;
      const loop = `http://${loopback}:${port}/v1`;
      if (hosts.length === 0) {
        assert.deepEqual(printed, [loop]);
      } else {
        assert.deepEqual(
          printed,
          [...new Set(hosts)].map((host) => `http://${host}:${port}/v1`),
        );
        assert.match(
          server.stdout,
          new RegExp(
            `^On this machine: ${loop.replace(/[[\].]/g, "\\$&")}$`,
            "m",
          ),
        );
      }
      assert.ok(!server.stdout.includes(hostname === "::" ? "[::]" : hostname));
      assert.match(
        server.stdout,
        new RegExp(
          `FILEURLS_BASE_URL=${printed[0].replace(/[[\].]/g, "\\$&")} `,
        ),
      );
      // The printed URLs answer.
      for (const url of [printed[0], loop]) {
        const res = await fetch(`${url}/files/urls`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.apiKey}` },
          body: JSON.stringify({
            name: "a.txt",
            size: 1,
            mime_type: "text/plain",
            resource: "prediction",
          }),
        });
        assert.equal(res.status, 201, url);
        await res.body?.cancel();
      }
      assert.equal(await server.stop(), 0);
    });
  }
});

describe("fileurls serve's stop", () => {
  test("says on standard error that it stops and that it stopped", async () => {
    const server = await serve(["--port", "0", "--data", join(dir, "stop")]);
    const log = output(server);
    assert.equal(await server.stop("SIGINT"), 0);
    assert.equal(
      server.stderr(),
      "fileurls serve: stopping on SIGINT\nfileurls serve: stopped\n",
    );
    assert.equal(log(), "");
  });

  test("logs an upload whose client went away, and does not wait for it", async () => {
    const server = await serve(["--port", "0", "--data", join(dir, "gone")]);
    const log = output(server);
    const size = 64 * 1024;
    const { uploader, path } = await openUpload(server, size);
    uploader.write(new Uint8Array(size / 2).fill(7));
    await new Promise((done) => setTimeout(done, 300));
    uploader.destroy();
    await until(
      () => new RegExp(`PUT ${path} \\d+ sent=\\d+ received=`).test(log()),
      "the line of the upload cut short",
    );
    assert.equal(await server.stop("SIGTERM"), 0);
    assert.equal(
      server.stderr(),
      "fileurls serve: stopping on SIGTERM\nfileurls serve: stopped\n",
    );
  });

  test("takes no new request on a connection kept alive, while uploads in flight finish", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "stop-keep-alive"),
      "--grace",
      "2",
    ]);
    const host = `127.0.0.1:${server.port}`;
    const create = `POST /v1/files/urls HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${server.apiKey}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 95\r\n\r\n` +
      JSON.stringify({
        name: "a.bin",
        size: 10,
        resource: "prediction",
        mime_type: "application/octet-stream",
      }).padEnd(95, " ");
    // A connection kept alive after one answer.
    const kept = await openSlow(server.port);
    let answers = "";
    kept.socket.on("data", (chunk: Uint8Array) => {
      answers += Buffer.from(chunk).toString("latin1");
    });
    kept.write(create);
    await until(() => / 201 /.test(answers), "the first answer");
    // An upload in flight holds the server in its grace time.
    const size = 64 * 1024;
    const { uploader } = await openUpload(server, size);
    uploader.drip(new Uint8Array(size).fill(7), 100, 8 * 1024);
    await new Promise((done) => setTimeout(done, 200));
    const stopped = server.stop("SIGTERM");
    await until(() => /stopping/.test(server.stderr()), "the stop");
    kept.write(create);
    const { received } = await kept.closedWithin(15_000);
    assert.equal(received.match(/HTTP\/1\.1 201/g)?.length, 1, received);
    const [{ received: uploaded }, code] = await Promise.all([
      uploader.closedWithin(15_000),
      stopped,
    ]);
    assert.match(statusLine(uploaded), / 201 /);
    assert.equal(code, 0);
  });

  test("says how many requests it lets finish, and logs an upload it ended with 503", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "stop-upload"),
      "--grace",
      "1",
    ]);
    const log = output(server);
    const size = 64 * 1024;
    const { uploader, path } = await openUpload(server, size);
    uploader.drip(new Uint8Array(size).fill(7), 1000, 8 * 1024);
    await new Promise((done) => setTimeout(done, 500));
    const [{ received }, code] = await Promise.all([
      uploader.closedWithin(20_000),
      server.stop("SIGTERM"),
    ]);
    assert.match(statusLine(received), / 503 /);
    assert.equal(code, 0);
    const stderr = server.stderr().split("\n");
    assert.equal(
      stderr[0],
      "fileurls serve: stopping on SIGTERM: letting 1 request in flight finish for up to 1 s",
    );
    assert.equal(
      stderr[1],
      "fileurls serve: ending 1 request still in flight; uploads answer a retryable 503",
    );
    assert.match(stderr[2], new RegExp(`^\\S+Z PUT ${path} 503: `));
    assert.equal(stderr.at(-2), "fileurls serve: stopped");
    assert.match(
      log(),
      new RegExp(`^\\S+Z PUT ${path} 503 sent=\\d+ received=\\d+ `, "m"),
    );
    const got = Number(/PUT \S+ 503 sent=\d+ received=(\d+)/.exec(log())![1]);
    assert.ok(got >= 8 * 1024 && got < size, `${got}`);
  });
});

describe("fileurls serve's unknown paths", () => {
  test("GET / is the upload page, under a strict CSP, and other paths stay 404", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "page"),
    ]);
    const origin = new URL(server.url).origin;
    const page = await fetch(`${origin}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(
      page.headers.get("content-security-policy") ?? "",
      /default-src 'none'/,
    );
    assert.match(await page.text(), /<input[^>]+type="file"/);
    for (const path of ["/index.html", "/favicon.ico", "/v1/nope"]) {
      const res = await fetch(`${origin}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).error.type, "not_found");
    }
    assert.equal(await server.stop(), 0);
  });

  for (const args of [["--no-page"], ["--no-page", "--cors", "*"]]) {
    test(
      `answer the JSON error envelope with 404${
        args.length ? ` (with ${args.join(" ")})` : ""
      }`,
      async () => {
        const server = await serve([
          "--port",
          "0",
          "--data",
          join(dir, "unknown"),
          ...args,
        ]);
        const origin = new URL(server.url).origin;
        const paths: [string, string][] = [
          ["GET", "/"],
          ["POST", "/"],
          ["GET", "/favicon.ico"],
          ["GET", "/index.html"],
          ["DELETE", "/x/y"],
          ["GET", "/v1"],
          ["GET", "/v1/"],
          ["GET", "/v1/nope"],
          ["POST", "/v1/files-urls"],
          ["GET", "/v2/files/urls"],
        ];
        for (const [method, path] of paths) {
          const res = await fetch(`${origin}${path}`, { method });
          assert.equal(res.status, 404, `${method} ${path}`);
          assert.equal(
            res.headers.get("content-type"),
            "application/json",
            `${method} ${path}`,
          );
          const body = await res.json();
          assert.deepEqual(Object.keys(body), ["error"]);
          assert.equal(body.error.type, "not_found");
          assert.equal(
            body.error.message,
            `Cannot ${method} ${path}: no such endpoint`,
          );
        }
        const head = await fetch(`${origin}/`, { method: "HEAD" });
        assert.equal(head.status, 404);
        assert.equal(head.headers.get("content-type"), "application/json");
        assert.equal(await server.stop(), 0);
      },
    );
  }
});
