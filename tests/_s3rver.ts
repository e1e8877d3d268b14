/**
 * Starts `@20minutes/s3rver` (a real S3 wire server that checks SigV4
 * signatures) on loopback as a Node child process, so the S3 tests run the
 * same under Deno, Bun and Node.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

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

/**
 * Starts s3rver on a free loopback port with an empty bucket.
 *
 * @param bucket The bucket to create.
 * @returns The endpoint, bucket and credentials, and `close()`.
 */
export function startS3rver(bucket = "fileurls-test"): Promise<S3rver> {
  const script = fileURLToPath(new URL("./_s3rver_main.mjs", import.meta.url));
  const child = spawn(nodeBinary(), [script, bucket], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  return new Promise<S3rver>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error("Cannot start s3rver: no answer within 15 s"));
    }, 15_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error("Cannot start s3rver", { cause: error }));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start s3rver: it exited with ${code}`));
    });
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      const newline = output.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      const info = JSON.parse(output.slice(0, newline));
      resolve({
        endpoint: `http://127.0.0.1:${info.port}`,
        bucket: info.bucket,
        accessKeyId: info.accessKeyId,
        secretAccessKey: info.secretAccessKey,
        async close() {
          child.stdin!.end();
          const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
