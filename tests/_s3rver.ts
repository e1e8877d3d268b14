/**
 * Starts `@20minutes/s3rver` (a real S3 wire server that checks SigV4
 * signatures) on loopback as a Node child process, so the S3 tests run the
 * same under Deno, Bun and Node.
 *
 * @module
 */

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AwsClient } from "aws4fetch";
import { startChild } from "./_child.ts";

/** A running s3rver with one empty bucket. */
export interface S3rver {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The bucket, created empty. */
  bucket: string;
  /** Credentials made for this server only. */
  accessKeyId: string;
  /** The secret of {@linkcode S3rver.accessKeyId}. */
  secretAccessKey: string;
  /** Every key stored under `prefix`, listed with the bucket's own credentials. */
  keys(prefix: string): Promise<string[]>;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

/** Finds a Node binary: this one under Node, else the first `node` on PATH. */
function nodeBinary(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (
    versions.node && !versions.bun && !("Deno" in globalThis)
  ) {
    return process.execPath;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return fileURLToPath(new URL("../node_modules/.bin/node", import.meta.url));
}

/** How to set up the bucket. */
export interface S3rverOptions {
  /**
   * Give the bucket a CORS rule for browser uploads: any origin, `PUT`,
   * `GET` and `HEAD`, any request header, `ETag` exposed. Without it the
   * bucket has no CORS configuration, and refuses every preflight.
   */
  cors?: boolean;
}

/**
 * Starts s3rver on a free loopback port with an empty bucket.
 *
 * @param bucket The bucket to create.
 * @param options How to set up the bucket.
 * @returns The endpoint, bucket and credentials, and `close()`.
 */
export async function startS3rver(
  bucket = "fileurls-test",
  options: S3rverOptions = {},
): Promise<S3rver> {
  const script = fileURLToPath(new URL("./_s3rver_main.mjs", import.meta.url));
  const child = await startChild<
    Omit<S3rver, "endpoint" | "close"> & { port: number }
  > // s3rver makes the NextContinuationToken of a truncated ListObjectsV2
  // answer with DES, which OpenSSL 3 has only in its legacy provider: without
  // it every truncated listing answers 500.
  (
    "s3rver",
    nodeBinary(),
    [
      "--openssl-legacy-provider",
      script,
      bucket,
      ...(options.cors ? ["--cors"] : []),
    ],
    {},
    15_000,
  );
  const { port, ...info } = child.info;
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new AwsClient({
    accessKeyId: info.accessKeyId,
    secretAccessKey: info.secretAccessKey,
    service: "s3",
    region: "us-east-1",
    retries: 0,
  });
  return {
    endpoint,
    bucket: info.bucket,
    accessKeyId: info.accessKeyId,
    secretAccessKey: info.secretAccessKey,
    async keys(prefix) {
      const url = new URL(`${endpoint}/${info.bucket}`);
      url.searchParams.set("list-type", "2");
      url.searchParams.set("prefix", prefix);
      const response = await admin.fetch(url);
      const text = await response.text();
      if (response.status !== 200) {
        throw new Error(`Cannot list the keys under "${prefix}": ${text}`);
      }
      return [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    },
    close: child.close,
  };
}
