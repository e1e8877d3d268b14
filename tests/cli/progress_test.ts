/**
 * What `fileurls upload` shows on a terminal, as pure functions of a file's
 * state, the time and the width; when a download URL expires; and the
 * suggestion for a mistyped word.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  advance,
  expiresText,
  formatBytes,
  formatDuration,
  ProgressDisplay,
  renderDone,
  renderLine,
  retryNote,
  startState,
} from "../../src/cli/_progress.ts";
import { downloadExpiry } from "../../src/cli/_expiry.ts";
import { suggest } from "../../src/cli/_output.ts";

const MiB = 1024 * 1024;

describe("the progress line", () => {
  test("formatBytes() and formatDuration() speak in binary units and two time units", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(1023), "1023 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(10 * MiB), "10.0 MiB");
    assert.equal(formatBytes(1.25 * 1024 * MiB), "1.25 GiB");
    assert.equal(formatDuration(4.4), "4 s");
    assert.equal(formatDuration(125), "2 min 5 s");
    assert.equal(formatDuration(3600 + 180), "1 h 3 min");
    assert.equal(formatDuration(86400), "24 h");
    assert.equal(formatDuration(3 * 86400 + 7200), "3 d 2 h");
  });

  test("renderLine() shows bytes, percentage, rate and time left, and a note", () => {
    const state = startState("photo.png", 0);
    advance(state, 0, 10 * MiB, 0);
    assert.equal(renderLine(state, 0, 80), "photo.png  0 B / 10.0 MiB  0%");
    advance(state, 3 * MiB, 10 * MiB, 2000);
    assert.equal(
      renderLine(state, 2000, 80),
      "photo.png  3.0 MiB / 10.0 MiB  30%  1.5 MiB/s  5 s left",
    );
    advance(state, 0, 10 * MiB, 2500);
    state.note = "retrying (connection reset)";
    assert.equal(
      renderLine(state, 2500, 80),
      "photo.png  0 B / 10.0 MiB  0%  retrying (connection reset)",
    );
    advance(state, MiB, 10 * MiB, 3000);
    assert.equal(state.note, undefined, "bytes moving again end the retry");
  });

  test("renderLine() counts a wide character as two columns, shortening the name to fit", () => {
    // 30 wide characters (60 columns) and ".mp4".
    const state = startState(`${"動画ファイル".repeat(5)}.mp4`, 0);
    advance(state, 0, 10 * MiB, 0);
    assert.equal(
      renderLine(state, 0, 40),
      "動画ファ…イル.mp4  0 B / 10.0 MiB  0%",
    );
    assert.equal(
      renderLine(startState("🎥 clip.mp4", 0), 0, 80),
      "🎥 clip.mp4  0 B",
    );
    // A combining accent takes no column: "é" as e + U+0301 fits as é does.
    const accented = startState(`${"e\u0301".repeat(40)}.txt`, 0);
    advance(accented, 0, 10 * MiB, 0);
    assert.equal(
      renderLine(accented, 0, 40),
      `${"e\u0301".repeat(9)}…${"e\u0301".repeat(5)}.txt  0 B / 10.0 MiB  0%`,
    );
  });

  test("renderLine() of a stream of unknown size shows the bytes only", () => {
    const state = startState("stdin.bin", 0);
    advance(state, 2 * MiB, undefined, 1000);
    assert.equal(renderLine(state, 1000, 80), "stdin.bin  2.0 MiB");
  });

  test("renderLine() never reaches the last column, shortening the name first", () => {
    const state = startState("a-very-long-file-name-indeed.tar.gz", 0);
    advance(state, MiB, 10 * MiB, 0);
    for (const width of [20, 30, 40, 80]) {
      const line = renderLine(state, 0, width);
      assert.ok([...line].length <= width - 1, `${width}: ${line}`);
    }
    assert.equal(
      renderLine(state, 0, 40),
      "a-very-…tar.gz  1.0 MiB / 10.0 MiB  10%",
    );
  });

  test("on a narrow terminal, the last parts go before the name is cut short, never mid-word", () => {
    const state = startState("big600.bin", 0);
    advance(state, 0, 600 * MiB, 0);
    advance(state, 120 * MiB, 600 * MiB, 1000);
    assert.equal(
      renderLine(state, 1000, 80),
      "big600.bin  120.0 MiB / 600.0 MiB  20%  120.0 MiB/s  4 s left",
    );
    assert.equal(
      renderLine(state, 1000, 40),
      "big600.bin  120.0 MiB / 600.0 MiB  20%",
    );
    const small = startState("small1.txt", 0);
    const day = new Date(500 + 86400_000);
    assert.equal(
      renderDone(small, 12_390, day, 500, 40),
      "✓ small1.txt  12.1 KiB in 1 s",
    );
    assert.equal(
      renderDone(small, 12_390, day, 500, 60),
      "✓ small1.txt  12.1 KiB in 1 s, link expires in 24 h",
    );
  });

  test("renderDone() says the size, the time taken and how long the link works", () => {
    const state = startState("photo.png", 0);
    const day = new Date(6000 + 86400_000);
    assert.equal(
      renderDone(state, 10 * MiB, day, 6000, 80),
      "✓ photo.png  10.0 MiB in 6 s, link expires in 24 h",
    );
    assert.equal(
      renderDone(state, 3, undefined, 6000, 80),
      "✓ photo.png  3 B in 6 s",
    );
  });

  test("expiresText() gives a span up to two days ahead, else the date", () => {
    const now = Date.UTC(2030, 0, 1);
    assert.equal(expiresText(new Date(now + 3600_000), now), "expires in 1 h");
    assert.equal(
      expiresText(new Date(now + 7 * 86400_000), now),
      "expires on 2030-01-08 00:00 UTC",
    );
    assert.equal(expiresText(new Date(now - 1), now), "expired");
  });

  test("retryNote() says which part, why, and how long the wait is when it is long", () => {
    assert.equal(
      retryNote({ part: 3, reason: "connection reset", delay: 400 }),
      "retrying part 3 (connection reset)",
    );
    assert.equal(
      retryNote({ part: 27, reason: "status 409", delay: 30_000 }),
      "retrying part 27 in 30 s (status 409)",
    );
    assert.equal(
      retryNote({ reason: "status 503", delay: 5_000 }),
      "retrying in 5 s (status 503)",
    );
  });

  test("ProgressDisplay redraws at most once per interval and erases its lines", async () => {
    let written = "";
    const display = new ProgressDisplay({
      write: (text) => written += text,
      columns: 60,
    }, { interval: 50 });
    const state = display.add(1, "a.bin");
    for (let i = 1; i <= 20; i++) {
      advance(state, i, 20, display.now());
      display.changed();
    }
    await new Promise((done) => setTimeout(done, 120));
    const draws = written.split("\r\x1b[2K").length - 1;
    assert.ok(draws >= 1 && draws <= 3, `${draws} draws`);
    assert.match(written, /a\.bin {2}20 B \/ 20 B {2}100%/);
    display.remove(1, () => written += "done\n");
    display.close();
    assert.ok(written.includes("\x1b[1A\x1b[Jdone\n"), "erased above");
  });
});

describe("downloadExpiry()", () => {
  test("reads exp from a fileurls route's URL", () => {
    assert.deepEqual(
      downloadExpiry("http://h/v1/files/x/a.png?exp=1893456000&kid=k&sig=s"),
      new Date("2030-01-01T00:00:00Z"),
    );
  });

  test("reads X-Amz-Date and X-Amz-Expires from a presigned S3 URL", () => {
    assert.deepEqual(
      downloadExpiry(
        "https://b.s3.amazonaws.com/k?X-Amz-Date=20300101T000000Z&X-Amz-Expires=86400&X-Amz-Signature=s",
      ),
      new Date("2030-01-02T00:00:00Z"),
    );
  });

  test("tells nothing for a URL that says nothing", () => {
    assert.equal(downloadExpiry("https://cdn.example.com/a.png"), undefined);
    assert.equal(downloadExpiry("https://h/a?exp=soon"), undefined);
  });
});

describe("suggest()", () => {
  test("names the known word within two edits, swaps counting as one", () => {
    assert.equal(suggest("uplaod", ["serve", "upload"]), "upload");
    assert.equal(suggest("serv", ["serve", "upload"]), "serve");
    assert.equal(suggest("--jsn", ["--json", "--name"]), "--json");
    assert.equal(suggest("frobnicate", ["serve", "upload"]), undefined);
  });
});
