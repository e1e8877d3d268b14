import { describe, test } from "node:test";
import assert from "node:assert/strict";
import mime from "mime/lite";
import standardTypes from "mime/types/standard.js";
import { essence, isMediaType, typeByName } from "../src/_media_type.ts";

describe("typeByName()", () => {
  test("agrees with mime.getType() on every standard extension", () => {
    let count = 0;
    for (const extensions of Object.values(standardTypes)) {
      for (const starred of extensions as string[]) {
        const extension = starred.replace("*", "");
        assert.equal(
          typeByName(`file.${extension}`),
          mime.getType(extension) ?? undefined,
          extension,
        );
        count++;
      }
    }
    assert.ok(count > 400, `only ${count} extensions`);
  });

  test("ignores case and path segments", () => {
    assert.equal(typeByName("SHOT.PNG"), "image/png");
    assert.equal(typeByName("a.b/c.Pdf"), "application/pdf");
  });

  test("finds nothing without an extension", () => {
    assert.equal(typeByName("README"), undefined);
    assert.equal(typeByName(".png"), undefined, "a dot file has no extension");
    assert.equal(typeByName("name."), undefined);
    assert.equal(typeByName("x.nosuchext"), undefined);
  });
});

describe("isMediaType()", () => {
  for (
    const value of [
      "image/png",
      "application/vnd.api+json",
      "text/plain; charset=utf-8",
      'text/plain;charset="utf-8"',
      "Text/Plain",
    ]
  ) {
    test(`accepts ${JSON.stringify(value)}`, () => {
      assert.equal(isMediaType(value), true);
    });
  }
  for (
    const value of [
      "",
      "png",
      "image/",
      "/png",
      "image/png/x",
      "image png",
      "image/png; charset",
      "image/png\r\nx-evil: 1",
      "a/" + "b".repeat(300),
    ]
  ) {
    test(`refuses ${JSON.stringify(value)}`, () => {
      assert.equal(isMediaType(value), false);
    });
  }
});

test("essence() lower-cases and drops parameters", () => {
  assert.equal(essence("Text/Plain; charset=UTF-8"), "text/plain");
  assert.equal(essence(" image/PNG "), "image/png");
});
