/**
 * One upload with `@aws-sdk/lib-storage`'s `Upload` for the S3 benchmark,
 * in a process of its own (on Node):
 *
 * ```sh
 * BENCH_S3='{"port":…,"bucket":…,"accessKeyId":…,"secretAccessKey":…}' \
 *   node --experimental-strip-types bench/_s3_one.ts FILE KEY \
 *   [--part-size BYTES] [--queue-size N] [--sha256]
 * ```
 *
 * The body is `fs.createReadStream(FILE)`, as lib-storage is usually given
 * a file; without `--part-size` and `--queue-size` lib-storage's defaults
 * apply. `--sha256` asks for SHA-256 checksums of the parts, as fileurls
 * sends them, which the test s3rver checks. Prints one JSON line:
 * `{key, size, readyMs, uploadMs}`.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import process from "node:process";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const args = process.argv.slice(2);
const [file, key] = args;

function flag(name: string): number | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : Number(args[index + 1]);
}

const s3 = JSON.parse(process.env.BENCH_S3 ?? "{}");
const client = new S3Client({
  endpoint: `http://127.0.0.1:${s3.port}`,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  },
});
const { size } = await stat(file);
const ready = performance.now();
const partSize = flag("part-size");
const queueSize = flag("queue-size");
const upload = new Upload({
  client,
  params: {
    Bucket: s3.bucket,
    Key: key,
    Body: createReadStream(file),
    ...(args.includes("--sha256")
      ? { ChecksumAlgorithm: "SHA256" as const }
      : {}),
  },
  ...(partSize ? { partSize } : {}),
  ...(queueSize ? { queueSize } : {}),
});
await upload.done();
console.log(JSON.stringify({
  key,
  size,
  readyMs: ready,
  uploadMs: performance.now() - ready,
}));
client.destroy();
