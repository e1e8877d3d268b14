// Runs @20minutes/s3rver on loopback for the tests, under Node. Prints one JSON
// line `{"port", "bucket", "accessKeyId", "secretAccessKey"}` on stdout once it
// listens, and stops (removing its data) when stdin closes.
//
// Usage: node tests/_s3rver_main.mjs <bucket> [--cors]
//
// --cors gives the bucket a CORS rule for browser uploads: any origin, PUT,
// GET and HEAD, any request header, ETag exposed.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
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

// Multipart uploads as S3 answers them. s3rver implements
// CreateMultipartUpload, UploadPart and CompleteMultipartUpload, but has no
// ListParts or AbortMultipartUpload (405), ignores x-amz-checksum-sha256,
// takes parts for any upload id, and completes with whatever parts are
// named. This patch makes these calls follow the S3 API reference: the same
// XML, codes and statuses (NoSuchUpload 404, BadDigest 400, InvalidPart 400,
// InvalidPartOrder 400, EntityTooSmall 400), and HeadObject/GetObject with
// x-amz-checksum-mode: ENABLED answer the composite x-amz-checksum-sha256
// (`base64-N`) of an object made of checksummed parts. Signatures stay
// checked: the router's authentication runs before every handler below.
//
// Still unlike S3, so not verified against s3rver: If-None-Match on
// CompleteMultipartUpload (s3rver replaces an existing object, where S3
// answers 412), a part sent without x-amz-checksum-sha256 to an upload
// created with x-amz-checksum-algorithm (accepted, listed without a
// checksum), x-amz-checksum-sha256 on PutObject (kept unchecked), the
// checksum in the CompleteMultipartUpload answer, and the multipart ETag
// (s3rver's is the MD5 of the whole object).
const S3Error = require("@20minutes/s3rver/lib/models/error");
const S3Object = require("@20minutes/s3rver/lib/models/object");
const objectCtrl = require("@20minutes/s3rver/lib/controllers/object");
const router = require("@20minutes/s3rver/lib/routes");
const { xmlBodyParser } = require("@20minutes/s3rver/lib/utils");
const { aws4SignatureBodyParser } = require(
  "@20minutes/s3rver/lib/signature/v4",
);
const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The folder s3rver keeps an upload in, if the upload is of this key. */
async function uploadDir(ctx) {
  const { uploadId } = ctx.query;
  const uploads = ctx.store.getResourcePath(ctx.params.bucket, "", "uploads");
  const dir = join(uploads, String(uploadId));
  const key = /^[0-9a-f]{32}$/.test(uploadId)
    ? await readFile(join(dir, "key"), "utf8").catch(() => undefined)
    : undefined;
  if (key !== ctx.params.key) {
    throw new S3Error(
      "NoSuchUpload",
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
      { UploadId: uploadId },
    );
  }
  return dir;
}

/** The parts in an upload's folder (`N`, `N.md5`, `N.sha256`), by number. */
async function storedParts(dir) {
  const parts = [];
  for (const name of await readdir(dir)) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    const path = join(dir, name);
    const md5 = await readFile(`${path}.md5`, "utf8").catch(() => undefined);
    if (md5 === undefined) continue; // being written
    const sha256 = await readFile(`${path}.sha256`, "utf8").catch(() => {});
    const info = await stat(path);
    const etag = JSON.stringify(md5);
    parts.push({ number: Number(name), size: info.size, etag, sha256, info });
  }
  return parts.sort((a, b) => a.number - b.number);
}

// UploadPart: the upload must exist, and a body whose SHA-256 is not
// x-amz-checksum-sha256 is refused with BadDigest, leaving the part as it was.
objectCtrl.uploadPart = async function uploadPart(ctx) {
  const dir = await uploadDir(ctx);
  const number = Number(ctx.query.partNumber);
  if (!Number.isInteger(number) || number < 1 || number > 10000) {
    throw new S3Error(
      "InvalidArgument",
      "Part number must be an integer between 1 and 10000, inclusive",
      { ArgumentName: "partNumber", ArgumentValue: ctx.query.partNumber },
    );
  }
  const declared = ctx.get("x-amz-checksum-sha256");
  if (declared && !/^[A-Za-z0-9+/]{43}=$/.test(declared)) {
    throw new S3Error(
      "InvalidRequest",
      "Value for x-amz-checksum-sha256 header is invalid.",
    );
  }
  aws4SignatureBodyParser(ctx);
  const body = Buffer.concat(await ctx.request.body.toArray());
  const sha256 = createHash("sha256").update(body).digest("base64");
  if (declared && declared !== sha256) {
    throw new S3Error(
      "BadDigest",
      "The SHA256 you specified did not match the calculated checksum.",
    );
  }
  const md5 = createHash("md5").update(body).digest("hex");
  const path = join(dir, String(number));
  await rm(`${path}.md5`, { force: true });
  await writeFile(path, body);
  if (declared) await writeFile(`${path}.sha256`, sha256);
  else await rm(`${path}.sha256`, { force: true });
  await writeFile(`${path}.md5`, md5);
  if (declared) ctx.set("x-amz-checksum-sha256", sha256);
  ctx.etag = md5;
  ctx.body = "";
};

// CompleteMultipartUpload: the upload must exist, and the parts must be
// listed in order, stored with the ETag (and checksum) named, and all but
// the last of at least 5 MiB.
objectCtrl.completeMultipartUpload = async function complete(ctx) {
  const dir = await uploadDir(ctx);
  const { uploadId } = ctx.query;
  await xmlBodyParser(ctx);
  const listed = [].concat(
    ctx.request.body.CompleteMultipartUpload?.Part ?? [],
  );
  if (listed.length === 0) {
    throw new S3Error(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema.",
    );
  }
  const stored = new Map((await storedParts(dir)).map((p) => [p.number, p]));
  listed.forEach((part, i) => {
    const number = Number(part.PartNumber);
    if (i > 0 && !(number > Number(listed[i - 1].PartNumber))) {
      throw new S3Error(
        "InvalidPartOrder",
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
        { UploadId: uploadId },
      );
    }
    const found = stored.get(number);
    const etag = String(part.ETag ?? "").replace(/"/g, "");
    const checksum = part.ChecksumSHA256;
    if (
      found === undefined || found.etag.replace(/"/g, "") !== etag ||
      (checksum !== undefined && String(checksum) !== found.sha256)
    ) {
      throw new S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
        { UploadId: uploadId, PartNumber: number, ETag: etag },
      );
    }
    if (i < listed.length - 1 && found.size < MIN_PART_SIZE) {
      throw new S3Error(
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object size.",
        {
          ProposedSize: found.size,
          MinSizeAllowed: MIN_PART_SIZE,
          PartNumber: number,
          ETag: etag,
        },
      );
    }
  });
  const parts = listed.map((part) => ({ number: Number(part.PartNumber) }));
  const sums = parts.map((part) => stored.get(part.number).sha256);
  const { md5 } = await ctx.store.putObjectMultipart(
    ctx.params.bucket,
    uploadId,
    parts,
  );
  if (sums.every(Boolean)) {
    const digests = Buffer.concat(
      sums.map((sum) => Buffer.from(sum, "base64")),
    );
    const sha256 = createHash("sha256").update(digests).digest("base64");
    const path = ctx.store.getResourcePath(
      ctx.params.bucket,
      ctx.params.key,
      "metadata.json",
    );
    const metadata = JSON.parse(await readFile(path, "utf8"));
    metadata["x-amz-checksum-sha256"] = `${sha256}-${sums.length}`;
    await writeFile(path, JSON.stringify(metadata, null, 2));
  }
  ctx.body = {
    CompleteMultipartUploadResult: {
      "@": { xmlns: XMLNS },
      Location: ctx.href.split("?")[0],
      Bucket: ctx.params.bucket,
      Key: ctx.params.key,
      ETag: JSON.stringify(md5),
    },
  };
};

// The composite checksum is kept as metadata, and answered only when asked
// for, and not for a range, as S3 does.
S3Object.ALLOWED_METADATA.push("x-amz-checksum-sha256");
const getObject = objectCtrl.getObject;
objectCtrl.getObject = async function getObjectWithChecksum(ctx) {
  await getObject(ctx);
  if (ctx.get("x-amz-checksum-mode") !== "ENABLED" || ctx.status === 206) {
    ctx.remove("x-amz-checksum-sha256");
  }
};

// ListParts (GET ?uploadId), pages of max-parts (at most 1000) after
// part-number-marker.
async function listParts(ctx) {
  const dir = await uploadDir(ctx);
  const marker = Number(ctx.query["part-number-marker"] ?? 0);
  const maxParts = Math.min(Number(ctx.query["max-parts"] ?? 1000), 1000);
  const after = (await storedParts(dir)).filter((p) => p.number > marker);
  const page = after.slice(0, maxParts);
  ctx.body = {
    ListPartsResult: {
      "@": { xmlns: XMLNS },
      Bucket: ctx.params.bucket,
      Key: ctx.params.key,
      UploadId: ctx.query.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.at(-1)?.number ?? 0,
      MaxParts: maxParts,
      IsTruncated: after.length > page.length,
      Part: page.map((part) => ({
        PartNumber: part.number,
        LastModified: part.info.mtime.toISOString(),
        ETag: part.etag,
        Size: part.size,
        ...(part.sha256 ? { ChecksumSHA256: part.sha256 } : {}),
      })),
      StorageClass: "STANDARD",
    },
  };
}

// AbortMultipartUpload (DELETE ?uploadId): 204, or NoSuchUpload.
async function abortMultipartUpload(ctx) {
  await rm(await uploadDir(ctx), { recursive: true, force: true });
  ctx.status = 204;
}

// s3rver's object routes answer 405 for GET and DELETE with ?uploadId:
// send those to the handlers above, after the same middleware.
for (
  const [method, handler] of [
    ["GET", listParts],
    ["DELETE", abortMultipartUpload],
  ]
) {
  const layer = router.stack.find((layer) =>
    layer.path === "/:bucket/:key+" && layer.methods.includes(method)
  );
  const original = layer.stack.at(-1);
  layer.stack[layer.stack.length - 1] = (ctx, next) =>
    ctx.params.queryMethod === "uploadId" ? handler(ctx) : original(ctx, next);
}

// Fresh credentials per server, instead of the well-known S3RVER/S3RVER pair.
const accessKeyId = "AKID" + randomBytes(8).toString("hex").toUpperCase();
const secretAccessKey = randomBytes(30).toString("base64");
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

const args = process.argv.slice(2);
const bucket = args.find((arg) => !arg.startsWith("--")) ?? "fileurls-test";
const CORS = `<CORSConfiguration xmlns="${XMLNS}">
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
  </CORSRule>
</CORSConfiguration>`;
const directory = mkdtempSync(join(tmpdir(), "fileurls-s3rver-"));
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [
    { name: bucket, configs: args.includes("--cors") ? [CORS] : [] },
  ],
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
