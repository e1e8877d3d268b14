/** `Files.createUrls()`: the request it sends and the answers it accepts. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Client, type FileUrls, FileUrlsError } from "../../mod.ts";
import { apiClient, startApi } from "../_api.ts";

describe("createUrls()", () => {
  test("posts the exact JSON body and keeps extra answer fields", async () => {
    const api = await startApi();
    try {
      const urls: FileUrls = await apiClient(api, {
        headers: { "x-team": "blue" },
      }).files.createUrls({
        name: "report.pdf",
        size: 1234,
        resource: "prediction",
        mime_type: "application/pdf",
      });
      assert.equal(urls.expires_at, "2030-01-01T00:00:00.000Z");
      const [create] = api.creates();
      assert.equal(create.target, "/v1/files/urls");
      assert.equal(
        new TextDecoder().decode(create.body),
        '{"name":"report.pdf","size":1234,"resource":"prediction","mime_type":"application/pdf"}',
      );
      assert.equal(create.headers["x-team"], "blue");
      assert.equal(create.headers["authorization"], "Bearer key-1");
    } finally {
      await api.close();
    }
  });

  test("reads baseUrl and apiKey from the environment", async () => {
    const api = await startApi();
    const saved = [process.env.FILEURLS_BASE_URL, process.env.FILEURLS_API_KEY];
    process.env.FILEURLS_BASE_URL = api.baseUrl + "/";
    process.env.FILEURLS_API_KEY = "from-env";
    try {
      await new Client().files.createUrls({
        name: "a.txt",
        size: 1,
        resource: "prediction",
        mime_type: "text/plain",
      });
      assert.equal(api.creates()[0].target, "/v1/files/urls");
      assert.equal(
        api.creates()[0].headers["authorization"],
        "Bearer from-env",
      );
    } finally {
      for (
        const [i, name] of ["FILEURLS_BASE_URL", "FILEURLS_API_KEY"].entries()
      ) {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      }
      await api.close();
    }
  });

  test("goes through globalThis.fetch on every runtime (node:http only carries upload URLs)", async () => {
    const api = await startApi();
    const fetch = globalThis.fetch;
    const seen: string[] = [];
    globalThis.fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    try {
      await apiClient(api).files.createUrls({
        name: "a.txt",
        size: 1,
        resource: "prediction",
        mime_type: "text/plain",
      });
      assert.deepEqual(seen, [`${api.baseUrl}/files/urls`]);
    } finally {
      globalThis.fetch = fetch;
      await api.close();
    }
  });

  test("rejects an answer without the two URLs", async () => {
    const api = await startApi(() => ({
      status: 200,
      body: '{"upload_url":1}',
    }));
    try {
      await assert.rejects(
        apiClient(api).files.createUrls({
          name: "a.txt",
          size: 1,
          resource: "prediction",
          mime_type: "text/plain",
        }),
        (e) =>
          e instanceof FileUrlsError &&
          /Cannot create URLs for "a\.txt": server answered 200 without upload_url/
            .test(e.message),
      );
    } finally {
      await api.close();
    }
  });
});
