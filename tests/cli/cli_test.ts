/**
 * The command line as users run it: `fileurls serve` as a process of the
 * current runtime, `fileurls upload` as another, and downloads with `fetch`.
 * Under Node the built package's CLI runs (the npm build maps
 * `src/cli/main.ts` to `fileurls/cli`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { main } from "../../src/cli/main.ts";
import { run, running, serve, type Serving } from "./_cli.ts";
import { type S3rver, startS3rver } from "../_s3rver.ts";
import { randomBytes, sha256 } from "../_data.ts";

async function download(url: string): Promise<[Response, Uint8Array]> {
  const res = await fetch(url);
  return [res, new Uint8Array(await res.arrayBuffer())];
}

/** What the fs storage holds: one folder per stored file. */
async function storedFiles(data: string): Promise<string[]> {
  try {
    return (await readdir(join(data, "files"))).filter((name) =>
      !name.startsWith(".")
    );
  } catch {
    return [];
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-cli-"));
});
after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("fileurls serve and fileurls upload as processes", () => {
  let data: string;
  let server: Serving;
  let photo: string;
  let notes: string;
  const photoBytes = randomBytes(1024 * 1024 + 17);
  const notesText = "première ligne\nsecond line\n";

  before(async () => {
    data = join(dir, "data");
    photo = join(dir, "photo.png");
    notes = join(dir, "notes été.txt");
    await writeFile(photo, photoBytes);
    await writeFile(notes, notesText);
    server = await serve(["--port", "0", "--data", data]);
  });
  after(async () => {
    await server?.stop();
  });

  test("serve prints its URL, the API key and an export line", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/v1$/);
    assert.match(server.apiKey, /^fu_[A-Za-z0-9_-]{32}$/);
    assert.ok(
      server.stdout.includes(
        `export FILEURLS_BASE_URL=${server.url} FILEURLS_API_KEY=${server.apiKey}`,
      ),
      server.stdout,
    );
  });

  test("serve keeps the generated API key and secret in the data folder, mode 0600", async () => {
    assert.equal(
      (await readFile(join(data, "api-key"), "utf8")).trim(),
      server.apiKey,
    );
    const secret = (await readFile(join(data, "secret"), "utf8")).trim();
    assert.ok(secret.length >= 32, secret);
    if (process.platform !== "win32") {
      assert.equal((await stat(join(data, "api-key"))).mode & 0o777, 0o600);
      assert.equal((await stat(join(data, "secret"))).mode & 0o777, 0o600);
    }
  });

  test("upload prints one download URL per file, and the bytes download unchanged", async () => {
    const ran = await run([
      "upload",
      "--base-url",
      server.url,
      "--api-key",
      server.apiKey,
      photo,
      notes,
    ]);
    assert.equal(ran.stderr, "");
    assert.equal(ran.code, 0);
    const urls = ran.stdout.trimEnd().split("\n");
    assert.equal(urls.length, 2, ran.stdout);

    const [photoRes, photoGot] = await download(urls[0]);
    assert.equal(photoRes.status, 200);
    assert.equal(photoRes.headers.get("content-type"), "image/png");
    assert.equal(await sha256(photoGot), await sha256(photoBytes));

    const [notesRes, notesGot] = await download(urls[1]);
    assert.equal(notesRes.status, 200);
    assert.equal(notesRes.headers.get("content-type"), "text/plain");
    assert.equal(new TextDecoder().decode(notesGot), notesText);
    assert.match(
      notesRes.headers.get("content-disposition")!,
      /filename\*=UTF-8''notes%20%C3%A9t%C3%A9\.txt$/,
    );
  });

  test("upload --json prints {file, id, name, size, mime_type, download_url, expires_at} per line, with --name", async () => {
    const ran = await run([
      "upload",
      "--json",
      "--name",
      "cover.png",
      "--base-url",
      server.url,
      "--api-key",
      server.apiKey,
      photo,
    ]);
    assert.equal(ran.stderr, "");
    assert.equal(ran.code, 0);
    const lines = ran.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(line), [
      "file",
      "id",
      "name",
      "size",
      "mime_type",
      "download_url",
      "expires_at",
    ]);
    assert.equal(line.file, photo);
    assert.match(line.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(line.name, "cover.png");
    assert.equal(line.mime_type, "image/png");
    assert.equal(line.size, photoBytes.byteLength);
    const [res, got] = await download(line.download_url);
    assert.match(res.headers.get("content-disposition")!, /cover\.png$/);
    assert.equal(await sha256(got), await sha256(photoBytes));
  });

  test("upload - reads standard input, with the URL and key from the environment", async () => {
    const input = randomBytes(200_000);
    const ran = await run(["upload", "--json", "--name", "stdin.bin", "-"], {
      env: { FILEURLS_BASE_URL: server.url, FILEURLS_API_KEY: server.apiKey },
      input,
    });
    assert.equal(ran.stderr, "");
    assert.equal(ran.code, 0);
    const line = JSON.parse(ran.stdout);
    assert.equal(line.file, "-");
    assert.equal(line.name, "stdin.bin");
    assert.equal(line.size, 200_000);
    const [res, got] = await download(line.download_url);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    assert.equal(await sha256(got), await sha256(input));
  });

  test("a wrong API key exits 1 with the server's message on stderr, and nothing is stored", async () => {
    const before = await storedFiles(data);
    const ran = await run([
      "upload",
      "--base-url",
      server.url,
      "--api-key",
      "wrong-key",
      photo,
    ]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, "");
    assert.equal(
      ran.stderr,
      'fileurls upload: Cannot upload "photo.png": server responded with 401: Cannot create file URLs: the API key is not valid\n' +
        "hint: use the key fileurls serve printed at start: it keeps it in <data>/api-key (./fileurls-data/api-key by default) unless --api-key or FILEURLS_API_KEY gave it\n",
    );
    assert.deepEqual(await storedFiles(data), before);
  });

  test("a missing file exits 1 naming it, and the other files still upload", async () => {
    const missing = join(dir, "missing.png");
    const before = await storedFiles(data);
    const ran = await run([
      "upload",
      "--base-url",
      server.url,
      "--api-key",
      server.apiKey,
      missing,
      notes,
    ]);
    assert.equal(ran.code, 1);
    assert.equal(
      ran.stderr,
      `fileurls upload: Cannot upload ${
        JSON.stringify(missing)
      }: no such file\n`,
    );
    const urls = ran.stdout.trimEnd().split("\n");
    assert.equal(urls.length, 1);
    const [, got] = await download(urls[0]);
    assert.equal(new TextDecoder().decode(got), notesText);
    assert.equal((await storedFiles(data)).length, before.length + 1);
  });

  test("a server that cannot be reached exits 1 with the reason", async () => {
    const ran = await run([
      "upload",
      "--base-url",
      "http://127.0.0.1:9/v1",
      "--api-key",
      server.apiKey,
      notes,
    ]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, "");
    assert.match(
      ran.stderr,
      /^fileurls upload: Cannot upload "notes été\.txt": /,
    );
    assert.doesNotMatch(ran.stderr, /\n\s+at /, "no stack trace");
  });

  test("serve --public-url hands out URLs under it and prints it for clients", async () => {
    const other = await serve([
      "--port",
      "0",
      "--data",
      data,
      "--public-url",
      "https://files.example.test/v1/",
    ]);
    try {
      assert.match(
        other.stdout,
        /^Public URL: https:\/\/files\.example\.test\/v1$/m,
      );
      assert.ok(
        other.stdout.includes(
          `export FILEURLS_BASE_URL=https://files.example.test/v1 FILEURLS_API_KEY=${server.apiKey}`,
        ),
        other.stdout,
      );
      const created = await fetch(`${other.url}/files/urls`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.apiKey}` },
        body: JSON.stringify({
          name: "a.txt",
          size: 1,
          resource: "prediction",
          mime_type: "text/plain",
        }),
      });
      assert.equal(created.status, 201);
      const { upload_url, download_url } = await created.json();
      assert.ok(upload_url.startsWith("https://files.example.test/v1/files/"));
      assert.ok(
        download_url.startsWith("https://files.example.test/v1/files/"),
      );
    } finally {
      await other.stop();
    }
  });

  test("a second serve on the same port exits 1", async () => {
    const ran = await run([
      "serve",
      "--port",
      String(server.port),
      "--data",
      data,
    ]);
    assert.equal(ran.code, 1);
    assert.match(
      ran.stderr,
      new RegExp(
        `^fileurls serve: Cannot listen on 127\\.0\\.0\\.1 port ${server.port}: `,
      ),
    );
  });
});

describe("fileurls serve --max-size", () => {
  test("takes a file at the limit, in parts or not, and refuses a larger one with 413", async () => {
    const other = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "max-size"),
      "--max-size",
      "6MiB",
    ]);
    try {
      const file = join(dir, "six.bin");
      const env = { FILEURLS_API_KEY: other.apiKey };
      await writeFile(file, randomBytes(6 * 1024 * 1024));
      const atLimit = await run(
        ["upload", "--base-url", other.url, "--part-size", "5", file],
        { env },
      );
      assert.equal(atLimit.code, 0, atLimit.stderr);
      await writeFile(file, randomBytes(6 * 1024 * 1024 + 1));
      const over = await run(
        ["upload", "--base-url", other.url, "--part-size", "5", file],
        { env },
      );
      assert.equal(over.code, 1);
      assert.match(
        over.stderr,
        /413: Cannot start an upload: size 6291457 is over the limit of 6291456 bytes\nhint: the API takes no file this large \(the limit of fileurls serve is its --max-size\)\n/,
      );
    } finally {
      await other.stop();
    }
  });
});

describe("fileurls usage", () => {
  test("bad flags, arguments or commands exit 2 with a line pointing to --help", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["upload", "--bogus", "a.txt"],
        /^fileurls upload: unknown option --bogus\n/,
      ],
      [
        ["upload", "--base-url", "http://127.0.0.1:9/v1"],
        /^fileurls upload: no FILE given/,
      ],
      [
        ["upload", "--base-url", "http://127.0.0.1:9/v1", "-"],
        /^fileurls upload: --name is needed to upload standard input \("-"\)/,
      ],
      [
        ["upload", "--name", "x", "--base-url", "http://x.test/v1", "a", "b"],
        /^fileurls upload: --name needs exactly one FILE/,
      ],
      [
        ["upload", "a.txt"],
        /^fileurls upload: pass --base-url \(-u\) or set FILEURLS_BASE_URL/,
      ],
      [
        ["upload", "--base-url", "not a url", "a.txt"],
        /^fileurls upload: --base-url must start with http:\/\/ or https:\/\//,
      ],
      [
        [
          "upload",
          "--resource",
          "",
          "--base-url",
          "http://x.test/v1",
          "a.txt",
        ],
        /^fileurls upload: --resource must be a non-empty string/,
      ],
      [
        ["serve", "--port", "abc"],
        /^fileurls serve: --port must be a number from 0 to 65535, got "abc"/,
      ],
      [
        ["serve", "--port", "70000"],
        /^fileurls serve: --port must be a number/,
      ],
      [
        ["serve", "--storage", "ftp"],
        /^fileurls serve: --storage must be "fs" or "s3", got "ftp"/,
      ],
      [
        ["serve", "--max-size", "lots"],
        /^fileurls serve: --max-size must be a size such as 5GiB/,
      ],
      [["serve", "extra"], /^fileurls serve: unexpected argument "extra"/],
      [["upload", "a.bin", "-n"], /^fileurls upload: --name needs a value\n/],
      [["serve", "--port"], /^fileurls serve: --port needs a value\n/],
      [["frobnicate"], /^fileurls: unknown command "frobnicate"/],
      [[], /^Usage: fileurls <command>/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((ran, i) => {
      const [args, message] = cases[i];
      assert.equal(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`);
      assert.equal(ran.stdout, "", args.join(" "));
      assert.match(ran.stderr, message, args.join(" "));
      if (args.length === 0) {
        assert.match(ran.stderr, /Usage: fileurls/);
      } else {
        assert.match(
          ran.stderr,
          /\nRun "fileurls( \w+)? --help" for the usage\.\n$/,
          args.join(" "),
        );
        assert.equal(ran.stderr.split("\n").length, 3, args.join(" "));
      }
    });
  });

  test("--help prints the usage on stdout and exits 0", async () => {
    const [top, serveHelp, uploadHelp] = await Promise.all([
      run(["--help"]),
      run(["serve", "--help"]),
      run(["upload", "-h"]),
    ]);
    for (const ran of [top, serveHelp, uploadHelp]) {
      assert.equal(ran.code, 0);
      assert.equal(ran.stderr, "");
    }
    assert.match(top.stdout, /^Usage: fileurls <command>/);
    assert.match(serveHelp.stdout, /^Usage: fileurls serve/);
    for (
      const flag of [
        "--port",
        "--hostname",
        "--data",
        "--api-key",
        "--storage",
        "--public-url",
        "FILEURLS_S3_ENDPOINT",
      ]
    ) {
      assert.ok(serveHelp.stdout.includes(flag), flag);
    }
    assert.match(uploadHelp.stdout, /^Usage: fileurls upload/);
    for (
      const flag of [
        "--base-url",
        "--api-key",
        "--name",
        "--resource",
        "--json",
      ]
    ) {
      assert.ok(uploadHelp.stdout.includes(flag), flag);
    }
  });

  test("main() returns the exit code instead of exiting", async () => {
    assert.equal(await main(["upload", "--help"]), 0);
  });
});

describe("fileurls serve across restarts and signals", () => {
  test("a restart reuses the kept key and secret, so URLs issued before it still work", async () => {
    const data = join(dir, "restart");
    const file = join(dir, "restart.txt");
    await writeFile(file, "kept across restarts");
    const first = await serve(["--port", "0", "--data", data]);
    const ran = await run([
      "upload",
      "--base-url",
      first.url,
      "--api-key",
      first.apiKey,
      file,
    ]);
    assert.equal(ran.code, 0, ran.stderr);
    const url = ran.stdout.trim();
    assert.equal(await first.stop("SIGTERM"), 0, "first: " + first.stderr());
    await assert.rejects(fetch(url));

    const second = await serve(["--port", String(first.port), "--data", data]);
    try {
      assert.equal(second.url, first.url);
      assert.equal(second.apiKey, first.apiKey);
      const [res, got] = await download(url);
      assert.equal(res.status, 200);
      assert.equal(new TextDecoder().decode(got), "kept across restarts");
      const again = await run([
        "upload",
        "--base-url",
        second.url,
        "--api-key",
        first.apiKey,
        file,
      ]);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      assert.equal(
        await second.stop("SIGINT"),
        0,
        "second: " + second.stderr(),
      );
    }
  });

  test("--api-key and FILEURLS_SECRET replace the kept ones, and nothing is written", async () => {
    const data = join(dir, "given");
    const server = await serve(
      ["--port", "0", "--data", data, "--api-key", "it's-mine"],
      { FILEURLS_SECRET: "s".repeat(32) },
    );
    try {
      assert.equal(server.apiKey, "it's-mine");
      assert.ok(
        server.stdout.includes(`FILEURLS_API_KEY='it'\\''s-mine'`),
        server.stdout,
      );
      const file = join(dir, "given.txt");
      await writeFile(file, "given");
      const ran = await run(["upload", file], {
        env: {
          FILEURLS_BASE_URL: server.url,
          FILEURLS_API_KEY: "it's-mine",
        },
      });
      assert.equal(ran.code, 0, ran.stderr);
      assert.deepEqual(
        (await readdir(data)).sort(),
        ["files"],
        "neither api-key nor secret is written",
      );
    } finally {
      await server.stop();
    }
  });

  test("FILEURLS_API_KEY is used when --api-key is not given", async () => {
    const server = await serve(
      ["--port", "0", "--data", join(dir, "env-key")],
      { FILEURLS_API_KEY: "key-from-env" },
    );
    try {
      assert.equal(server.apiKey, "key-from-env");
    } finally {
      await server.stop();
    }
  });

  test("a FILEURLS_SECRET shorter than 32 bytes exits 2", async () => {
    const ran = await run(
      ["serve", "--port", "0", "--data", join(dir, "short")],
      { env: { FILEURLS_SECRET: "too short" } },
    );
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout, "");
    assert.equal(
      ran.stderr,
      "fileurls serve: FILEURLS_SECRET must be at least 32 bytes, got 9\n" +
        'Run "fileurls serve --help" for the usage.\n',
    );
  });
});

describe("fileurls serve --storage s3", () => {
  let s3: S3rver;
  before(async () => {
    s3 = await startS3rver("fileurls-cli");
  });
  after(async () => {
    await s3?.close();
  });

  test("uploads go to the bucket through presigned URLs, and download unchanged", async () => {
    const server = await serve([
      "--port",
      "0",
      "--data",
      join(dir, "s3"),
      "--storage",
      "s3",
    ], {
      FILEURLS_S3_ENDPOINT: s3.endpoint,
      FILEURLS_S3_BUCKET: s3.bucket,
      FILEURLS_S3_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    try {
      assert.match(server.stdout, new RegExp(`S3 bucket ${s3.bucket} at `));
      const bytes = randomBytes(300_000);
      const file = join(dir, "s3 photo.png");
      await writeFile(file, bytes);
      const ran = await run(["upload", "--json", file], {
        env: { FILEURLS_BASE_URL: server.url, FILEURLS_API_KEY: server.apiKey },
      });
      assert.equal(ran.code, 0, ran.stderr);
      const line = JSON.parse(ran.stdout);
      assert.ok(
        line.download_url.startsWith(`${s3.endpoint}/${s3.bucket}/`),
        line.download_url,
      );
      const [res, got] = await download(line.download_url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/png");
      assert.match(
        res.headers.get("content-disposition")!,
        /filename\*=UTF-8''s3%20photo\.png$/,
      );
      assert.equal(await sha256(got), await sha256(bytes));
      assert.deepEqual(await storedFiles(join(dir, "s3")), []);
    } finally {
      await server.stop();
    }
  });

  test("missing S3 variables exit 2 naming them", async () => {
    const none = await run([
      "serve",
      "--port",
      "0",
      "--storage",
      "s3",
      "--data",
      join(dir, "s3-none"),
    ]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, "");
    assert.match(
      none.stderr,
      /^fileurls serve: .*missing FILEURLS_S3_ENDPOINT, FILEURLS_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\nRun "fileurls serve --help" for the usage\.\n$/,
    );

    const some = await run(
      [
        "serve",
        "--port",
        "0",
        "--storage",
        "s3",
        "--data",
        join(dir, "s3-some"),
      ],
      {
        env: {
          FILEURLS_S3_ENDPOINT: s3.endpoint,
          FILEURLS_S3_BUCKET: s3.bucket,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
        },
      },
    );
    assert.equal(some.code, 2);
    assert.match(
      some.stderr,
      /missing AWS_SECRET_ACCESS_KEY\nRun "fileurls serve --help" for the usage\.\n$/,
    );
  });
});
