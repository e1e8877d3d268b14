// Runs @20minutes/s3rver on loopback for the tests, under Node. Prints one JSON
// line `{"port", "bucket", "accessKeyId", "secretAccessKey"}` on stdout once it
// listens, and stops (removing its data) when stdin closes.
//
// Usage: node tests/_s3rver_main.mjs <bucket>
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const S3rver = require("@20minutes/s3rver");
const AWSAccount = require("@20minutes/s3rver/lib/models/account");

// S3 canonicalizes query values with RFC 3986 encoding, which escapes
// `!'()*`. s3rver uses plain encodeURIComponent for them, so it would reject a
// correctly signed URL whose query holds one of these (every
// `filename*=UTF-8''…`). Make it encode the way S3 does.
const encode = globalThis.encodeURIComponent;
globalThis.encodeURIComponent = (value) =>
  encode(value).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );

// Fresh credentials per server, instead of the well-known S3RVER/S3RVER pair.
const accessKeyId = "AKID" + randomBytes(8).toString("hex").toUpperCase();
const secretAccessKey = randomBytes(30).toString("base64");
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

const bucket = process.argv[2] ?? "fileurls-test";
const directory = mkdtempSync(join(tmpdir(), "fileurls-s3rver-"));
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(
  JSON.stringify({ port, bucket, accessKeyId, secretAccessKey }) + "\n",
);

function stop() {
  server.close().finally(() => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
  // Open keep-alive connections must not hold the process.
  setTimeout(() => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  }, 1000).unref();
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
