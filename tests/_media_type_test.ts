import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import mime from "mime/lite";
import standardTypes from "mime/types/standard.js";
import {
  decodeMediaTypes,
  essence,
  isMediaType,
  typeByName,
} from "../src/_media_type.ts";
import { MEDIA_TYPES } from "../src/_media_types.ts";
import {
  buildMediaTypes,
  encodeMediaTypes,
  MEDIA_TYPES_MODULE,
} from "../media-types-build.ts";

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

  test("maps no extension that mime.getType() does not", () => {
    const table = decodeMediaTypes(MEDIA_TYPES);
    for (const [extension, type] of table) {
      assert.equal(type, mime.getType(extension), extension);
    }
    const mapped = new Set(
      Object.values(standardTypes).flat().filter((e) => !e.startsWith("*")),
    );
    assert.equal(table.size, mapped.size);
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

describe("the media-type table", () => {
  test("is what `deno task build:media-types` builds now", () => {
    const committed = readFileSync(MEDIA_TYPES_MODULE, "utf8");
    assert.ok(
      committed === buildMediaTypes(),
      "src/_media_types.ts is stale: run `deno task build:media-types` and commit it",
    );
  });

  test("decodes to the table it encodes: shared starts, + suffixes, digits, the later of two types", () => {
    const long = "a".repeat(30);
    const types = {
      "image/png": ["png"],
      "image/svg+xml": ["svg", "svgz"],
      "application/json": ["json", "map"],
      "application/ecmascript": ["ecma", "*es"],
      "model/step": ["step", "stp", "p21", "210"],
      [`text/${long}`]: [long, `${long}x`],
      "text/first": ["dup", "first"],
      "text/second": ["dup"],
    };
    const encoded = encodeMediaTypes(types).join(";");
    assert.deepEqual(
      Object.fromEntries(decodeMediaTypes(encoded)),
      {
        png: "image/png",
        svg: "image/svg+xml",
        svgz: "image/svg+xml",
        json: "application/json",
        map: "application/json",
        ecma: "application/ecmascript",
        step: "model/step",
        stp: "model/step",
        p21: "model/step",
        210: "model/step",
        [long]: `text/${long}`,
        [`${long}x`]: `text/${long}`,
        dup: "text/second",
        first: "text/first",
      },
    );
  });

  test("refuses names the encoding cannot carry", () => {
    for (
      const [type, extension] of [
        ["image/PNG", "png"],
        ["image/png", "p;ng"],
        ["image/png", "p ng"],
        ["image/png", "Png"],
        ["image", "png"],
        ["image/png/x", "png"],
      ]
    ) {
      assert.throws(
        () => encodeMediaTypes({ [type]: [extension] }),
        RangeError,
        `${type} ${extension}`,
      );
    }
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
