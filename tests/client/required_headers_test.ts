import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { requiredHeaders } from "../../src/client/_required_headers.ts";

const S3 = "https://my-uploads.s3.eu-west-1.amazonaws.com/uploads/abc";

function presigned(signedHeaders: string): string {
  const url = new URL(S3);
  url.searchParams.set("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  url.searchParams.set("X-Amz-SignedHeaders", signedHeaders);
  url.searchParams.set("X-Amz-Signature", "0".repeat(64));
  return url.href;
}

describe("requiredHeaders()", () => {
  test("asks for If-None-Match: * where the URL signs if-none-match", () => {
    assert.deepEqual(
      requiredHeaders(
        presigned("content-length;content-type;host;if-none-match"),
      ),
      { "if-none-match": "*" },
    );
  });

  test("asks for nothing where the URL signs no header of fixed value", () => {
    for (
      const signed of [
        "content-length;content-type;host",
        "content-length;host;x-amz-checksum-sha256",
        "host;if-none-match-x",
        "",
      ]
    ) {
      assert.deepEqual(requiredHeaders(presigned(signed)), {}, signed);
    }
  });

  test("asks for nothing on a URL of the route, a relative URL or no URL", () => {
    for (
      const url of [
        "https://api.example.com/v1/files/abc?exp=1&sig=x",
        "https://api.example.com/v1/files/abc?x-amz-signedheaders=if-none-match",
        "/v1/files/abc",
        "not a url",
      ]
    ) {
      assert.deepEqual(requiredHeaders(url), {}, url);
    }
  });
});
