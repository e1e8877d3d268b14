// A sink for the upload benchmark: speaks the files API's protocol on
// loopback and discards every byte while counting it.
//
// - POST /v1/files/urls: URLs for one PUT, `/upload/{id}`.
// - POST /v1/files/uploads: a multipart upload, `/v1/files/uploads/{id}`.
// - POST {upload_url}/parts: a part URL per part, for its exact size.
// - PUT on a part URL: the part's bytes.
// - POST {upload_url}/complete: the file, with the composite SHA-256 of the
//   part digests the client declared (the sink hashes nothing).
// - GET /__received/{id}: `{size, received, complete}` for the benchmark.
//
// Every PUT must carry an exact Content-Length and no Transfer-Encoding (411
// otherwise), and its byte count must match (400 otherwise). Prints
// `{"port"}` once it listens, then serves until killed.
//
// Usage: node bench/_sink.mjs
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";

/** Files by id: `{size, received, complete, parts?}`. */
const files = new Map();
let origin = "";

function json(res, status, body) {
  res.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify(body));
}

function fail(res, status, message) {
  json(res, status, { error: { type: "invalid_request", message } });
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Counts a PUT body of exactly `size` bytes, then calls `done`. */
function count(req, res, size, done) {
  const declared = req.headers["content-length"];
  if (declared === undefined || req.headers["transfer-encoding"]) {
    fail(res, 411, "Cannot upload: an exact Content-Length is required");
    req.destroy();
    return;
  }
  if (Number(declared) !== size) {
    fail(res, 400, `Cannot upload: Content-Length is not ${size}`);
    req.destroy();
    return;
  }
  let received = 0;
  req.on("data", (chunk) => received += chunk.length);
  req.on("end", () => {
    if (received !== size) {
      fail(res, 400, `Cannot upload: got ${received} of ${size} bytes`);
      return;
    }
    done(received);
  });
}

function compositeSha256(digests) {
  const joined = Buffer.concat(digests.map((d) => Buffer.from(d, "base64")));
  const sum = createHash("sha256").update(joined).digest("base64");
  return `${sum}-${digests.length}`;
}

function fileAnswer(id, file) {
  return {
    id,
    name: file.name,
    size: file.received,
    mime_type: file.type,
    uploaded_at: new Date().toISOString(),
    download_url: `${origin}/download/${id}`,
  };
}

async function handle(req, res) {
  const url = new URL(req.url, origin);
  const path = url.pathname;
  let match;
  if (req.method === "GET" && (match = /^\/__received\/(\w+)$/.exec(path))) {
    const file = files.get(match[1]);
    if (file === undefined) return fail(res, 404, "No such file");
    const { size, received, complete } = file;
    return json(res, 200, { size, received, complete });
  }
  if (req.method === "POST" && path === "/v1/files/urls") {
    const params = await readJson(req);
    const id = randomBytes(16).toString("hex");
    files.set(id, {
      name: params.name,
      type: params.mime_type,
      size: params.size,
      received: 0,
      complete: false,
    });
    return json(res, 201, {
      upload_url: `${origin}/upload/${id}`,
      download_url: `${origin}/download/${id}`,
    });
  }
  if (req.method === "PUT" && (match = /^\/upload\/(\w+)$/.exec(path))) {
    const id = match[1];
    const file = files.get(id);
    if (file === undefined) return fail(res, 404, "No such upload URL");
    return count(req, res, file.size, (received) => {
      file.received = received;
      file.complete = true;
      json(res, 201, fileAnswer(id, file));
    });
  }
  if (req.method === "POST" && path === "/v1/files/uploads") {
    const params = await readJson(req);
    const id = randomBytes(16).toString("hex");
    const partSize = Math.max(params.part_size ?? 8 * 2 ** 20, 5 * 2 ** 20);
    files.set(id, {
      name: params.name,
      type: params.mime_type,
      size: params.size ?? null,
      partSize,
      received: 0,
      complete: false,
      parts: new Map(),
    });
    return json(res, 201, {
      id,
      upload_url: `${origin}/v1/files/uploads/${id}?cap=${id}`,
      download_url: `${origin}/download/${id}`,
      part_size: partSize,
      max_parts: 10_000,
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
  }
  match = /^\/v1\/files\/uploads\/(\w+)\/(parts|complete)(?:\/(\d+))?$/
    .exec(path);
  const file = match && files.get(match[1]);
  if (!file?.parts) return fail(res, 404, `No such endpoint: ${path}`);
  const id = match[1];
  if (req.method === "POST" && match[2] === "parts" && !match[3]) {
    const { parts } = await readJson(req);
    return json(res, 200, {
      parts: parts.map(({ number, size, sha256 }) => {
        const query = new URLSearchParams({ size, sha256 });
        return {
          number,
          url: `${origin}/v1/files/uploads/${id}/parts/${number}?${query}`,
          headers: { "content-length": String(size) },
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        };
      }),
    });
  }
  if (req.method === "PUT" && match[2] === "parts" && match[3]) {
    const number = Number(match[3]);
    const size = Number(url.searchParams.get("size"));
    const sha256 = url.searchParams.get("sha256");
    return count(req, res, size, (received) => {
      file.parts.set(number, { size: received, sha256 });
      json(res, 200, { number, size: received, sha256 });
    });
  }
  if (req.method === "POST" && match[2] === "complete") {
    const { parts } = await readJson(req);
    let received = 0;
    for (const [i, part] of parts.entries()) {
      const stored = file.parts.get(part.number);
      if (part.number !== i + 1 || stored?.sha256 !== part.sha256) {
        return fail(res, 400, `Cannot complete: part ${i + 1} is not stored`);
      }
      received += stored.size;
    }
    if (file.size !== null && received !== file.size) {
      return fail(res, 400, `Cannot complete: ${received} of ${file.size}`);
    }
    file.received = received;
    file.complete = true;
    const sha256 = compositeSha256(parts.map((part) => part.sha256));
    return json(res, 201, { ...fileAnswer(id, file), sha256 });
  }
  return fail(res, 405, `Cannot ${req.method} ${path}`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    if (!res.headersSent) fail(res, 400, String(error));
  });
});
server.requestTimeout = 0;
server.listen(0, "127.0.0.1", () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  console.log(JSON.stringify({ port: server.address().port }));
});
