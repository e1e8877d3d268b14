/**
 * On Bun and Node a single `PUT` streams its body, so bytes can still be
 * taken from it after the answer came. Progress must stop when `upload()`
 * settles. Deno, workerd and browsers send the Blob or bytes whole and
 * report no progress mid-body, so the test is not registered there.
 *
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, Client, type UploadProgress } from "../../mod.ts";
import { bytes } from "../_data.ts";

const streamsSingleBody = !("Deno" in globalThis);

/**
 * An API that refuses every upload the moment its head arrives, with 403,
 * and then reads the rest of the body to its end, so that the client goes
 * on sending after the answer.
 */
async function refusingApi(): Promise<{
  url: string;
  received: () => number;
  bodyEnded: Promise<void>;
  close: () => Promise<void>;
}> {
  let received = 0;
  let ended: () => void;
  const bodyEnded = new Promise<void>((resolve) => (ended = resolve));
  const server = createServer((req: IncomingMessage, res) => {
    if (req.method === "POST") {
      req.resume();
      req.on("end", () => {
        const base = `http://127.0.0.1:${port}`;
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({
          upload_url: `${base}/upload`,
          download_url: `${base}/download`,
        }));
      });
      return;
    }
    res.writeHead(403, { "content-type": "application/json" });
    res.end('{"error":{"type":"forbidden","message":"Not today"}}');
    req.on("data", (chunk: Uint8Array) => (received += chunk.byteLength));
    req.on("end", () => ended());
    req.on("close", () => ended());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received: () => received,
    bodyEnded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

if (streamsSingleBody) {
  describe("progress of a single streamed PUT", () => {
    test("stops when upload() settles, though the body is still being taken", async () => {
      const api = await refusingApi();
      try {
        const data = bytes(24 * 1024 * 1024, 3);
        const events: UploadProgress[] = [];
        let settled = false;
        let late = 0;
        const client = new Client({ apiKey: "k", baseUrl: api.url });
        await assert.rejects(
          client.files.upload(data, "prediction", {
            name: "a.bin",
            partSize: data.length,
            onProgress: (p) => {
              if (settled) late++;
              events.push(p);
            },
          }),
          (error) => error instanceof ApiError && error.status === 403,
        );
        settled = true;
        const atSettle = api.received();
        // Let the body go on, to its end or to the connection's.
        await Promise.race([
          api.bodyEnded,
          new Promise((resolve) => setTimeout(resolve, 2000)),
        ]);
        assert.ok(events.length > 0, "no progress at all");
        assert.equal(
          late,
          0,
          `${late} progress events after settling; the server got ${atSettle} bytes by then and ${api.received()} in all`,
        );
      } finally {
        await api.close();
      }
    });
  });
}
