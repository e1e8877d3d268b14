/**
 * The few words a network failure is told in, from the errors each runtime's
 * `fetch` rejects with (their messages as the runtimes write them).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { networkReason } from "../../src/client/_network.ts";

function failed(message: string, cause?: unknown): Error {
  return Object.assign(new TypeError(message), { cause });
}

describe("networkReason()", () => {
  test("keeps OpenSSL's reason of a TLS failure on Node, without its codes and file", () => {
    for (
      const message of [
        "800CCAFC5E7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n",
        "C09C24C3997F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:77:\n",
      ]
    ) {
      const error = failed(
        "fetch failed",
        Object.assign(new Error(message), {
          code: "ERR_SSL_WRONG_VERSION_NUMBER",
        }),
      );
      assert.equal(networkReason(error), "TLS: wrong version number");
    }
  });

  test("keeps the last clause of a TLS failure on Deno", () => {
    const error = failed(
      "error sending request for url (https://127.0.0.1:1/v1/files/urls): client error (Connect): received corrupt message of type InvalidContentType",
    );
    assert.equal(
      networkReason(error),
      "TLS: received corrupt message of type InvalidContentType",
    );
  });

  test("names a connection Deno saw closed before the answer a reset one", () => {
    const error = failed(
      "error sending request from 127.0.0.1:52964 for http://127.0.0.1:8787/v1/files/z_a/a.bin?name=a.bin&exp=1&kid=k&sig=SECRET (127.0.0.1:8787): client error (SendRequest): connection closed before message completed",
    );
    assert.equal(networkReason(error), "connection reset");
    // And a body cut off by a server that answered early, then closed.
    assert.equal(
      networkReason(
        failed("error writing a body to connection: Broken pipe (os error 32)"),
      ),
      "connection reset",
    );
  });

  test("never tells a URL's query, which may hold a signature", () => {
    const error = failed(
      "error sending request for url (https://bucket.example.com/key?X-Amz-Signature=SECRET&x=1): client error (Weird): something new",
    );
    assert.equal(
      networkReason(error),
      "error sending request for url (https://bucket.example.com/key): client error (Weird): something new",
    );
  });

  test("names a refused connection and a reset one alike on every runtime", () => {
    assert.equal(
      networkReason(failed("fetch failed", { code: "ECONNREFUSED" })),
      "connection refused",
    );
    assert.equal(
      networkReason(failed("error: ConnectionRefused")),
      "connection refused",
    );
    assert.equal(
      networkReason(failed("fetch failed", { code: "ECONNRESET" })),
      "connection reset",
    );
  });
});
