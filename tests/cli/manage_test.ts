/**
 * `fileurls ls`, `url`, `get` and `rm` as processes of the current runtime
 * against `fileurls serve`. Under Node the built package's CLI runs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cleanEnv,
  cliCommand,
  run,
  running,
  serve,
  type Serving,
} from "./_cli.ts";
import { randomBytes, sha256 } from "../_data.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fileurls-manage-"));
});
after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** A new empty folder under the test's own. */
async function folder(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

/** One JSON object per line. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.trimEnd().split("\n").filter((line) => line !== "").map((
    line,
  ) => JSON.parse(line));
}

describe("fileurls ls, url, get and rm against fileurls serve", () => {
  let server: Serving;
  let env: Record<string, string>;
  const photo = randomBytes(700_000);
  /** The ids of notes.txt, photo.png, data.csv, in upload order. */
  const ids: string[] = [];

  before(async () => {
    server = await serve(["--port", "0", "--data", join(dir, "data")]);
    env = { FILEURLS_BASE_URL: server.url, FILEURLS_API_KEY: server.apiKey };
    const files = await folder("sources");
    const contents: [string, Uint8Array | string][] = [
      ["notes.txt", "some notes\n"],
      ["photo.png", photo],
      ["data.csv", "a,b\n1,2\n"],
    ];
    for (const [name, content] of contents) {
      await writeFile(join(files, name), content);
      // One at a time, so that each is newer than the one before.
      const ran = await run(["upload", "--json", join(files, name)], { env });
      assert.equal(ran.code, 0, ran.stderr);
      ids.push(jsonLines(ran.stdout)[0].id as string);
      await new Promise((done) => setTimeout(done, 5));
    }
  });
  after(async () => {
    await server?.stop();
  });

  test("ls whose reader goes (ls | head -1) ends quietly with exit code 0", async () => {
    for (const args of [["ls", "--json"], ["ls"]]) {
      const [command, ...prefix] = cliCommand();
      const child = spawn(command, [...prefix, ...args], {
        env: cleanEnv(env),
        stdio: ["ignore", "pipe", "pipe"],
      });
      // The reader is gone before anything was written.
      child.stdout!.destroy();
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
      const code = await new Promise((done) => child.once("close", done));
      assert.deepEqual([code, stderr], [0, ""], args.join(" "));
    }
  });

  test("ls prints an aligned table, newest first, with human sizes and dates", async () => {
    const ran = await run(["ls"], { env });
    assert.equal(ran.stderr, "");
    assert.equal(ran.code, 0);
    const lines = ran.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 4, ran.stdout);
    assert.match(
      lines[0],
      /^ID {2,}NAME {2,}SIZE {2}TYPE {2,}UPLOADED {2,}EXPIRES$/,
    );
    const rows = lines.slice(1);
    assert.deepEqual(rows.map((row) => row.split(/ {2,}/)[0]), [
      ids[2],
      ids[1],
      ids[0],
    ]);
    const today = new Date().toISOString().slice(0, 10);
    assert.match(
      rows[1],
      new RegExp(
        `^${
          ids[1]
        } {2}photo\\.png {2}683\\.6 KiB {2}image/png {2,}${today} \\d\\d:\\d\\d {2}never$`,
      ),
    );
    assert.match(rows[2], / {2}11 B {2}text\/plain /);
    // Every column starts where its header does; sizes end where SIZE does.
    for (const header of ["NAME", "TYPE", "UPLOADED", "EXPIRES"]) {
      const at = lines[0].indexOf(header);
      for (const row of rows) {
        assert.equal(row[at - 1], " ", `${header} in ${row}`);
        assert.notEqual(row[at], " ", `${header} in ${row}`);
      }
    }
    const sizeEnd = lines[0].indexOf("SIZE") + 4;
    for (const row of rows) {
      assert.match(row.slice(0, sizeEnd), /(B|KiB)$/, row);
    }
  });

  test("ls --json prints the API's file objects one per line; --limit caps them", async () => {
    const ran = await run(["ls", "--json", "--limit", "2"], { env });
    assert.equal(ran.code, 0, ran.stderr);
    const files = jsonLines(ran.stdout);
    assert.deepEqual(files.map((f) => f.id), [ids[2], ids[1]]);
    assert.deepEqual(
      { ...files[1], uploaded_at: undefined },
      {
        id: ids[1],
        name: "photo.png",
        size: photo.length,
        mime_type: "image/png",
        resource: "prediction",
        uploaded_at: undefined,
        expires_at: null,
      },
    );
    const all = await run(["ls", "-j"], { env });
    assert.equal(jsonLines(all.stdout).length, 3);
  });

  test("ls --resource of a resource the API does not take exits 1 with its message", async () => {
    const ran = await run(["ls", "--resource", "avatars"], { env });
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, "");
    assert.match(
      ran.stderr,
      /^fileurls ls: Cannot list files: server responded with 400/,
    );
  });

  test("url prints a fresh download URL, and when it expires on stderr", async () => {
    const ran = await run(["url", ids[0], "--expires-in", "1h"], { env });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /^The link expires in (1 h|59 min 59 s) \(/);
    const res = await fetch(ran.stdout.trim());
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "some notes\n");
  });

  test("url --json prints {id, download_url, expires_at}", async () => {
    const ran = await run(["url", "--json", "-e", "15m", ids[2]], { env });
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stderr, "");
    const [answer] = jsonLines(ran.stdout);
    assert.deepEqual(Object.keys(answer), ["id", "download_url", "expires_at"]);
    assert.equal(answer.id, ids[2]);
    const off = Date.parse(answer.expires_at as string) - Date.now();
    assert.ok(Math.abs(off - 900_000) < 5000, String(off));
  });

  test("get writes the file under its own name in the current folder, and prints the path", async () => {
    const cwd = await folder("get-own-name");
    const ran = await run(["get", ids[1]], { env, cwd });
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stderr, "");
    assert.equal(ran.stdout, "photo.png\n");
    const got = await readFile(join(cwd, "photo.png"));
    assert.equal(await sha256(got), await sha256(photo));
    assert.deepEqual(await readdir(cwd), ["photo.png"]);
  });

  test("get never overwrites a file unless --force, and leaves nothing behind", async () => {
    const cwd = await folder("get-exists");
    await writeFile(join(cwd, "notes.txt"), "mine");
    const ran = await run(["get", ids[0]], { env, cwd });
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, "");
    assert.equal(
      ran.stderr,
      'fileurls get: Cannot download "notes.txt": "notes.txt" exists; pass --force to replace it, or --output another path\n',
    );
    assert.equal(await readFile(join(cwd, "notes.txt"), "utf8"), "mine");
    assert.deepEqual(await readdir(cwd), ["notes.txt"]);

    const forced = await run(["get", ids[0], "--force"], { env, cwd });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(
      await readFile(join(cwd, "notes.txt"), "utf8"),
      "some notes\n",
    );
    assert.deepEqual(await readdir(cwd), ["notes.txt"]);
  });

  test("get -o FILE writes there, -o FOLDER puts it in under its own name, -o - writes to stdout", async () => {
    const cwd = await folder("get-output");
    await mkdir(join(cwd, "sub"));
    const named = await run(["get", ids[2], "-o", "copy.csv"], { env, cwd });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, "copy.csv\n");
    assert.equal(await readFile(join(cwd, "copy.csv"), "utf8"), "a,b\n1,2\n");

    const into = await run(["get", ids[2], "--output", "sub"], { env, cwd });
    assert.equal(into.code, 0, into.stderr);
    assert.equal(into.stdout, `${join("sub", "data.csv")}\n`);
    assert.equal(
      await readFile(join(cwd, "sub", "data.csv"), "utf8"),
      "a,b\n1,2\n",
    );

    const again = await run(["get", ids[2], "-o", "copy.csv"], { env, cwd });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /"copy\.csv" exists; pass --force/);

    const piped = await run(["get", ids[0], "-o", "-"], { env, cwd });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, "some notes\n");
    assert.deepEqual((await readdir(cwd)).sort(), ["copy.csv", "sub"]);
  });

  test("rm deletes each id and reports it; an unknown one exits 1 and the others are still deleted", async () => {
    const cwd = await folder("rm-sources");
    await writeFile(join(cwd, "x.txt"), "x");
    await writeFile(join(cwd, "y.txt"), "y");
    const up = await run(["upload", "--json", "x.txt", "y.txt"], { env, cwd });
    const [x, y] = jsonLines(up.stdout).map((f) => f.id as string);
    const unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    const ran = await run(["rm", x, unknown, y], { env });
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, `deleted ${x}\ndeleted ${y}\n`);
    assert.match(
      ran.stderr,
      new RegExp(
        `^fileurls rm: Cannot delete file "${unknown}": server responded with 404`,
      ),
    );
    assert.equal(ran.stderr.trimEnd().split("\n").length, 1, ran.stderr);
    const listed = jsonLines((await run(["ls", "--json"], { env })).stdout);
    assert.ok(!listed.some((f) => f.id === x || f.id === y));
    const gone = await run(["get", x], { env, cwd });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /server responded with 404/);
    assert.deepEqual((await readdir(cwd)).sort(), ["x.txt", "y.txt"]);
    const url = await run(["url", y], { env });
    assert.equal(url.code, 1);
    assert.match(
      url.stderr,
      /^fileurls url: Cannot create a download URL for file/,
    );
  });

  test("rm --json prints {id, deleted} per id, with the error of one that failed", async () => {
    const cwd = await folder("rm-json");
    await writeFile(join(cwd, "z.txt"), "z");
    const up = await run(["upload", "--json", "z.txt"], { env, cwd });
    const [z] = jsonLines(up.stdout).map((f) => f.id as string);
    const ran = await run(["rm", "--json", z, z], { env });
    assert.equal(ran.code, 1);
    const [first, second] = jsonLines(ran.stdout);
    assert.deepEqual(first, { id: z, deleted: true });
    assert.equal(second.deleted, false);
    assert.match(second.error as string, /server responded with 404/);
  });

  test("a wrong API key exits 1 with the hint, and nothing is deleted", async () => {
    const wrong = { ...env, FILEURLS_API_KEY: "fu_wrong" };
    for (
      const args of [["ls"], ["rm", ids[2]], ["url", ids[2]], ["get", ids[2]]]
    ) {
      const ran = await run(args, { env: wrong, cwd: await folder("wrong") });
      assert.equal(ran.code, 1, args.join(" "));
      assert.match(ran.stderr, /server responded with 401/, args.join(" "));
      assert.match(ran.stderr, /\nhint: use the key fileurls serve printed/);
    }
    assert.equal(
      jsonLines((await run(["ls", "-j"], { env })).stdout).length,
      3,
    );
  });
});

describe("fileurls ls with wide names", () => {
  test("aligns its columns in terminal columns, a wide character taking two", async () => {
    const server = await serve(["--port", "0", "--data", join(dir, "wide")]);
    try {
      const env = {
        FILEURLS_BASE_URL: server.url,
        FILEURLS_API_KEY: server.apiKey,
      };
      const files = await folder("wide-sources");
      for (const name of ["動画ファイル.mp4", "clip.mp4"]) {
        await writeFile(join(files, name), "12345");
        const ran = await run(["upload", join(files, name)], { env });
        assert.equal(ran.code, 0, ran.stderr);
      }
      const ran = await run(["ls"], { env });
      assert.equal(ran.code, 0, ran.stderr);
      const lines = ran.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 3, ran.stdout);
      // Where each column starts on the screen: the characters before it,
      // those of kana and ideographs counted twice.
      const screen = (row: string, at: number) =>
        at + (row.slice(0, at).match(/[\u3040-\u30ff\u4e00-\u9fff]/g) ?? [])
          .length;
      for (const header of ["SIZE", "TYPE", "UPLOADED"]) {
        const want = lines[0].indexOf(header);
        for (const row of lines.slice(1)) {
          const cells = row.split(/ {2,}/);
          const cell = cells[["SIZE", "TYPE", "UPLOADED"].indexOf(header) + 2];
          // SIZE is right-aligned under its header: "5 B" ends where it does.
          const at = header === "SIZE"
            ? row.indexOf(cell) + cell.length - "SIZE".length
            : row.indexOf(cell);
          assert.equal(screen(row, at), want, `${header} in ${row}`);
        }
      }
    } finally {
      await server.stop();
    }
  });
});

describe("fileurls upload --lifetime", () => {
  test("keeps the file that long: ls tells when it expires, and url never outlives it", async () => {
    const server = await serve(["--port", "0", "--data", join(dir, "data2")]);
    try {
      const env = {
        FILEURLS_BASE_URL: server.url,
        FILEURLS_API_KEY: server.apiKey,
      };
      const cwd = await folder("lifetime");
      await writeFile(join(cwd, "brief.txt"), "brief");
      const up = await run(["upload", "--lifetime", "2h", "brief.txt"], {
        env,
        cwd,
      });
      assert.equal(up.code, 0, up.stderr);
      const [file] = jsonLines((await run(["ls", "--json"], { env })).stdout);
      const expires = Date.parse(file.expires_at as string);
      assert.ok(Math.abs(expires - Date.now() - 7_200_000) < 10_000);
      const table = (await run(["ls"], { env })).stdout.split("\n")[1];
      assert.ok(
        table.endsWith(
          new Date(expires).toISOString().slice(0, 16).replace("T", " "),
        ),
        table,
      );
      const url = await run(["url", "--json", "-e", "7d", file.id as string], {
        env,
      });
      assert.equal(url.code, 0, url.stderr);
      const [answer] = jsonLines(url.stdout);
      assert.ok(Date.parse(answer.expires_at as string) <= expires);
    } finally {
      await server.stop();
    }
  });
});

describe("fileurls ls, url, get and rm usage", () => {
  test("bad flags or arguments exit 2 with a line pointing to --help", async () => {
    const env = { FILEURLS_BASE_URL: "http://127.0.0.1:9/v1" };
    const cases: [string[], RegExp][] = [
      [["lss"], /^fileurls: unknown command "lss" \(did you mean ls\?\)/],
      [
        ["ls", "--limt", "3"],
        /^fileurls ls: unknown option --limt \(did you mean --limit\?\)/,
      ],
      [
        ["ls", "--limit", "0"],
        /^fileurls ls: --limit must be a positive whole number, got "0"/,
      ],
      [["ls", "extra"], /^fileurls ls: unexpected argument "extra"/],
      [
        ["ls", "--resource", ""],
        /^fileurls ls: --resource must be a non-empty string/,
      ],
      [["rm"], /^fileurls rm: no ID given/],
      [
        ["rm", "abc", ".."],
        /^fileurls rm: Cannot delete file: id must be a non-empty string/,
      ],
      [["url"], /^fileurls url: no ID given/],
      [
        ["url", "a", "b"],
        /^fileurls url: unexpected argument "b": one ID at a time/,
      ],
      [
        ["url", "a", "--expires-in", "soon"],
        /^fileurls url: --expires-in must be a duration such as 90s, 15m, 1h or 7d, got "soon"/,
      ],
      [["get"], /^fileurls get: no ID given/],
      [
        ["upload", "--lifetime", "forever", "a.txt"],
        /^fileurls upload: --lifetime must be a duration such as 90m, 12h or 7d, got "forever"/,
      ],
      [
        ["get", "a", "--forse"],
        /^fileurls get: unknown option --forse \(did you mean --force\?\)/,
      ],
      [
        ["get", "a", "-o", ""],
        /^fileurls get: --output must be a path, or "-"/,
      ],
    ];
    const results = await Promise.all(
      cases.map(([args]) => run(args, { env })),
    );
    results.forEach((ran, i) => {
      const [args, message] = cases[i];
      assert.equal(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`);
      assert.equal(ran.stdout, "", args.join(" "));
      assert.match(ran.stderr, message, args.join(" "));
      assert.match(
        ran.stderr,
        /\nRun "fileurls( \w+)? --help" for the usage\.\n$/,
        args.join(" "),
      );
      assert.equal(ran.stderr.split("\n").length, 3, args.join(" "));
    });
    const none = await run(["ls"]);
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /^fileurls ls: pass --base-url \(-u\) or set FILEURLS_BASE_URL/,
    );
  });

  test("--help prints each command's usage on stdout, and the top usage lists them", async () => {
    const [top, ...helps] = await Promise.all(
      [["--help"], ["ls", "--help"], ["rm", "-h"], ["url", "--help"], [
        "get",
        "--help",
      ]]
        .map((args) => run(args)),
    );
    assert.equal(top.code, 0);
    for (const command of ["ls", "get", "url", "rm"]) {
      assert.match(
        top.stdout,
        new RegExp(`^  ${command} {2,}\\S`, "m"),
        command,
      );
    }
    const flags: Record<string, string[]> = {
      ls: ["--resource", "--limit", "--json", "--base-url", "--api-key"],
      rm: ["ID...", "--json", "--base-url", "--api-key"],
      url: ["--expires-in", "--json", "--base-url"],
      get: ["--output", "--force", "--base-url", "--api-key"],
    };
    helps.forEach((ran, i) => {
      const command = Object.keys(flags)[i];
      assert.equal(ran.code, 0);
      assert.equal(ran.stderr, "");
      assert.match(ran.stdout, new RegExp(`^Usage: fileurls ${command} `));
      for (const flag of flags[command]) {
        assert.ok(ran.stdout.includes(flag), `${command} ${flag}`);
      }
    });
  });
});
