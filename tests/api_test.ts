/**
 * The API's name rule, shared by the client and the route: a name with an
 * invisible format character (a bidi control, a zero-width character, the
 * soft hyphen…) is refused on both sides, naming the character.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { nameProblem } from "../src/_params.ts";
import { apiClient, startApi } from "./_api.ts";
import {
  API_KEY,
  assertStorageUntouched,
  errorOf,
  HELLO,
  makeApp,
  postUrls,
} from "./_route.ts";

/** Names that display as another, each with the code point it is refused for. */
const DISGUISED: [string, string][] = [
  ["x\u202Egnp.exe", "U+202E"], // shows as "xexe.png"
  ["a\u202Ab.txt", "U+202A"],
  ["a\u202Bb.txt", "U+202B"],
  ["a\u202Cb.txt", "U+202C"],
  ["a\u202Db.txt", "U+202D"],
  ["a\u2066b.txt", "U+2066"],
  ["a\u2067b.txt", "U+2067"],
  ["a\u2068b.txt", "U+2068"],
  ["a\u2069b.txt", "U+2069"],
  ["a\u200Eb.txt", "U+200E"],
  ["a\u200Fb.txt", "U+200F"],
  ["a\u061Cb.txt", "U+061C"],
  ["a\u200Bb.txt", "U+200B"],
  ["a\u200Cb.txt", "U+200C"],
  ["a\u200Db.txt", "U+200D"],
  ["a\u2060b.txt", "U+2060"],
  ["\uFEFFa.txt", "U+FEFF"],
  ["a\u00ADb.txt", "U+00AD"],
  ["a.txt\u{E0001}", "U+E0001"],
];

describe("a name with an invisible format character", () => {
  test("is a problem that names the character's code point", () => {
    for (const [name, code] of DISGUISED) {
      assert.equal(
        nameProblem(name),
        `contains the format character ${code}`,
        JSON.stringify(name),
      );
    }
    for (const name of ["é.txt", "😀.png", "日本語.txt", "e\u0301.txt"]) {
      assert.equal(nameProblem(name), undefined, name);
    }
  });

  test("answers 400 at POST /files/urls, shown escaped, and stores nothing", async () => {
    const t = makeApp();
    for (const [name, code] of DISGUISED) {
      const [status, type, message] = await errorOf(
        await postUrls(t.app, { ...HELLO, name }),
      );
      assert.deepEqual([status, type], [400, "invalid_request"], code);
      const prefix = "Cannot create file URLs: name ";
      const suffix = ` contains the format character ${code}`;
      assert.ok(
        message.startsWith(prefix) && message.endsWith(suffix),
        message,
      );
      // The name is shown escaped as JSON, as it is, not as it would display.
      const quoted = message.slice(prefix.length, -suffix.length);
      assert.equal(JSON.parse(quoted), name);
      assert.doesNotMatch(quoted, /\p{Cf}/u);
    }
    assertStorageUntouched(t);
  });

  test("answers 400 at POST /files/uploads and stores nothing", async () => {
    const t = makeApp({ minPartSize: 1 });
    for (const [name, code] of DISGUISED) {
      const res = await t.app.request("http://localhost/v1/files/uploads", {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({
          name,
          size: 10,
          resource: "prediction",
          mime_type: "application/octet-stream",
          part_size: 5,
        }),
      });
      const [status, type, message] = await errorOf(res);
      assert.deepEqual([status, type], [400, "invalid_request"], code);
      assert.ok(message.endsWith(`format character ${code}`), message);
    }
    assertStorageUntouched(t);
  });

  test("makes upload() and createUrls() reject with a TypeError before any request", async () => {
    const api = await startApi();
    try {
      const files = apiClient(api).files;
      const attempts: [string, () => Promise<unknown>][] = [
        [
          "upload() of bytes",
          () =>
            files.upload(new Uint8Array(3), "prediction", {
              name: "x\u202Egnp.exe",
            }),
        ],
        [
          "upload() of a File",
          () => files.upload(new File(["abc"], "x\u202Egnp.exe"), "prediction"),
        ],
        [
          "upload() in parts",
          () =>
            files.upload(new Uint8Array(10), "prediction", {
              name: "x\u202Egnp.exe",
              partSize: 4,
            }),
        ],
        [
          "createUrls()",
          () =>
            files.createUrls({
              name: "x\u202Egnp.exe",
              size: 3,
              resource: "prediction",
              mime_type: "application/octet-stream",
            }),
        ],
      ];
      for (const [label, attempt] of attempts) {
        await assert.rejects(attempt, (error: Error) => {
          assert.ok(error instanceof TypeError, `${label}: ${error}`);
          assert.match(
            error.message,
            /name "x\\u202Egnp\.exe" contains the format character U\+202E$/,
            label,
          );
          return true;
        });
      }
      assert.deepEqual(api.requests, []);
    } finally {
      await api.close();
    }
  });
});
