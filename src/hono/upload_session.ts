/**
 * The capability URL of a multipart upload, and what it allows with no API
 * key: `GET` its status and stored parts, `POST …/parts` for part URLs,
 * `POST …/complete` to make the file, `DELETE` to abort.
 *
 * @module
 */

import type { Context } from "hono";
import type {
  CompletedUpload,
  FileObject,
  PartUrl,
  UploadedPart,
  UploadStatus,
} from "../api.ts";
import { compositeSha256, isSha256Base64 } from "../_sha256.ts";
import {
  type PresignedMultipart,
  type Storage,
  StorageConflictError,
  StorageFullError,
  StorageNotFoundError,
  type StoredFile,
  type StoredPart,
} from "../storage/mod.ts";
import { RouteError } from "./_errors.ts";
import { fileObject } from "./_file_object.ts";
import {
  type Session,
  signPartUrl,
  verifySessionUrl,
} from "./_multipart_url.ts";
import type { Config } from "./options.ts";
import { downloadUrl, requireMultipart } from "./start_upload.ts";
import { busyConflict, etag, notifyUploaded } from "./upload.ts";

/** The most part URLs one request may ask for. */
const MAX_PART_URLS = 100;

/**
 * Handles every request to an upload's capability URL: `GET` and `DELETE`
 * on it, `POST` on `…/parts` and `…/complete`.
 *
 * @param c The request's context.
 * @param config The route's options.
 * @returns The answer.
 * @throws {RouteError} 404 for a path that is no upload URL or an upload
 * that is gone; 403 for a bad or expired signature; 405 for another method;
 * 409 once the file is complete; 507 if the storage is full.
 */
export async function uploadSession(
  c: Context,
  config: Config,
): Promise<Response> {
  const method = c.req.method;
  const session = await verifySessionUrl(
    c.req.url,
    config,
    `Cannot ${method === "DELETE" ? "abort" : "use"} the upload`,
  );
  const allowed = session.resource === "upload" ? ["GET", "DELETE"] : ["POST"];
  if (!allowed.includes(method)) {
    throw new RouteError(
      405,
      `Cannot ${method} ${
        new URL(c.req.url).pathname
      }: the method is not allowed here`,
      { allow: allowed.join(", ") },
    );
  }
  if (session.resource === "parts") return await partUrls(c, config, session);
  if (session.resource === "complete") {
    return await complete(c, config, session);
  }
  if (method === "DELETE") return await abort(config, session);
  return await status(config, session);
}

/** The stored file, if the upload is complete. */
function statFile(
  config: Config,
  id: string,
): Promise<StoredFile | undefined> {
  return config.presigned
    ? (config.multipart as PresignedMultipart).stat(id)
    : (config.storage as Storage).stat(id);
}

/** The stored parts; 409 once complete, 404 once gone. */
async function storedParts(
  config: Config,
  session: Session,
  action: string,
): Promise<StoredPart[]> {
  const store = requireMultipart(config, action);
  const parts = await store.list(session.id, session.uploadId);
  return parts ?? await gone(config, session, action);
}

/**
 * Refuses an upload that is no longer open: 409 once complete, 404 once
 * aborted or gone. Asks `exists()` where the store has it, else lists the
 * parts; a presigned store's bucket is asked only with `askBucket` (it costs
 * a request).
 */
async function requireOpen(
  config: Config,
  session: Session,
  action: string,
  askBucket: boolean,
): Promise<void> {
  const store = requireMultipart(config, action);
  if (store.exists !== undefined) {
    if (!await store.exists(session.id, session.uploadId)) {
      await gone(config, session, action);
    }
  } else if (askBucket || !config.presigned) {
    await storedParts(config, session, action);
  }
}

/** Why an upload the store no longer has is gone: 409 complete, else 404. */
async function gone(
  config: Config,
  session: Session,
  action: string,
): Promise<never> {
  if (await statFile(config, session.id) !== undefined) {
    throw new RouteError(409, `${action}: the upload is already complete`);
  }
  throw new RouteError(404, `${action}: the upload was aborted or is gone`);
}

async function status(config: Config, session: Session): Promise<Response> {
  const action = "Cannot look up the upload";
  let parts: StoredPart[] = [];
  let file: StoredFile | undefined;
  try {
    parts = await storedParts(config, session, action);
  } catch (error) {
    if (!(error instanceof RouteError && error.status === 409)) throw error;
    file = await statFile(config, session.id);
  }
  const answer: UploadStatus = {
    id: session.id,
    name: session.name,
    size: file?.size ?? session.size,
    mime_type: session.type,
    part_size: session.partSize,
    state: file === undefined ? "uploading" : "complete",
    parts: parts.map(({ number, size, sha256 }) => ({ number, size, sha256 })),
    expires_at: new Date(session.exp * 1000).toISOString(),
    download_url: await sessionDownloadUrl(config, session),
    ...(file === undefined ? {} : {
      uploaded_at: file.uploadedAt.toISOString(),
      ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
    }),
  };
  return json(answer, 200);
}

async function abort(config: Config, session: Session): Promise<Response> {
  const action = "Cannot abort the upload";
  const store = requireMultipart(config, action);
  // Complete already: 409; aborted already: 404.
  await requireOpen(config, session, action, true);
  await store.abort(session.id, session.uploadId);
  // A completion that won the race: the file is whole, and it stays.
  if (await statFile(config, session.id) !== undefined) {
    throw new RouteError(409, `${action}: the upload is already complete`);
  }
  return new Response(null, {
    status: 204,
    headers: { "cache-control": "no-store" },
  });
}

/** The size part `number` must have, or `undefined` if it cannot exist. */
function expectedSize(session: Session, number: number): number | undefined {
  if (session.size === null) return undefined;
  const start = (number - 1) * session.partSize;
  if (start >= session.size) return undefined;
  return Math.min(session.partSize, session.size - start);
}

async function readJson(c: Context, action: string): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new RouteError(400, `${action}: the body is not valid JSON`);
  }
}

/**
 * Reads `{"parts": [...]}` and checks every entry's number and SHA-256
 * against the store's limits.
 */
async function readParts(
  c: Context,
  config: Config,
  action: string,
): Promise<
  { store: NonNullable<Config["multipart"]>; parts: Partial<UploadedPart>[] }
> {
  const store = requireMultipart(config, action);
  const maxParts = store.limits?.maxParts ?? 10_000;
  const body = await readJson(c, action) as { parts?: unknown };
  if (!Array.isArray(body?.parts) || body.parts.length === 0) {
    throw new RouteError(400, `${action}: the body must be {"parts": [...]}`);
  }
  const parts = body.parts.map((entry: unknown, i: number) => {
    const part = entry as Partial<UploadedPart> | null;
    if (
      typeof part?.number !== "number" || !Number.isSafeInteger(part.number) ||
      part.number < 1 || part.number > maxParts
    ) {
      throw new RouteError(
        400,
        `${action}: parts[${i}].number must be a whole number from 1 to ${maxParts}`,
      );
    }
    if (typeof part.sha256 !== "string" || !isSha256Base64(part.sha256)) {
      throw new RouteError(
        400,
        `${action}: parts[${i}].sha256 must be a SHA-256 digest in base64`,
      );
    }
    return part as Partial<UploadedPart>;
  });
  return { store, parts };
}

async function partUrls(
  c: Context,
  config: Config,
  session: Session,
): Promise<Response> {
  const action = "Cannot sign part URLs";
  const { store, parts } = await readParts(c, config, action);
  if (parts.length > MAX_PART_URLS) {
    throw new RouteError(
      400,
      `${action}: at most ${MAX_PART_URLS} parts can be asked for at once`,
    );
  }
  const checked = parts.map((part) => {
    const number = part.number!;
    const wanted = expectedSize(session, number);
    const size = part.size;
    if (wanted === undefined && session.size !== null) {
      const count = Math.max(1, Math.ceil(session.size / session.partSize));
      throw new RouteError(
        400,
        `${action}: part ${number} is past the end of the file, which has ${count} ${
          count === 1 ? "part" : "parts"
        }`,
      );
    }
    if (
      typeof size !== "number" || !Number.isSafeInteger(size) || size < 1 ||
      size > session.partSize || (session.size !== null && size !== wanted)
    ) {
      throw new RouteError(
        400,
        `${action}: part ${number} must have ${
          wanted ?? `1 to ${session.partSize}`
        } bytes, got ${size}`,
      );
    }
    const end = (number - 1) * session.partSize + size;
    if (session.size === null && end > config.maxSize) {
      throw new RouteError(
        413,
        `${action}: part ${number} would end at byte ${end}, past the limit of ${config.maxSize} bytes a file may have`,
      );
    }
    return { number, size, sha256: part.sha256! };
  });
  // Parts of a complete or aborted upload are refused here, where the
  // store tells cheaply; a bucket refuses them itself (NoSuchUpload), and
  // asking it before every part would cost a request each.
  await requireOpen(config, session, action, false);

  const nowSeconds = Math.floor(config.now() / 1000);
  const exp = Math.min(session.exp, nowSeconds + config.uploadTtl);
  const expiresAt = new Date(exp * 1000);
  const signer = await config.signer;
  const urls: PartUrl[] = [];
  for (const part of checked) {
    if (config.presigned) {
      const signed = await (store as PresignedMultipart).presignPart(
        session.id,
        session.uploadId,
        part,
        expiresAt,
      );
      urls.push({
        number: part.number,
        ...signed,
        expires_at: expiresAt.toISOString(),
      });
    } else {
      urls.push({
        number: part.number,
        url: await signPartUrl(signer, session.base, {
          id: session.id,
          uploadId: session.uploadId,
          ...part,
          exp,
        }),
        headers: { "content-length": String(part.size) },
        expires_at: expiresAt.toISOString(),
      });
    }
  }
  return json({ parts: urls }, 200);
}

async function complete(
  c: Context,
  config: Config,
  session: Session,
): Promise<Response> {
  const action = "Cannot complete the upload";
  const { store, parts: listed } = await readParts(c, config, action);
  const stored = new Map(
    (await storedParts(config, session, action)).map((part) => [
      part.number,
      part,
    ]),
  );
  const numbers = listed.map((part) => part.number!);
  const parts = listed.map((part, i) => {
    if (part.number !== i + 1) {
      const number = part.number!;
      const wrong = numbers.indexOf(number) !== i
        ? `part ${number} is listed twice`
        : numbers.includes(i + 1)
        ? `part ${number} is listed before part ${i + 1}`
        : `part ${i + 1} is missing`;
      throw new RouteError(
        400,
        `${action}: parts must be numbered 1 to ${listed.length} in order; ${wrong}`,
      );
    }
    const found = stored.get(part.number);
    if (found === undefined) {
      throw new RouteError(400, `${action}: part ${part.number} is not stored`);
    }
    if (found.sha256 !== part.sha256) {
      throw new RouteError(
        400,
        `${action}: part ${part.number} is stored with SHA-256 ${found.sha256}, not ${part.sha256}`,
      );
    }
    const last = i === listed.length - 1;
    if (!last && found.size !== session.partSize) {
      throw new RouteError(
        400,
        `${action}: part ${part.number} has ${found.size} bytes; every part but the last must have ${session.partSize}`,
      );
    }
    return found;
  });
  const size = parts.reduce((sum, part) => sum + part.size, 0);
  if (session.size !== null && size !== session.size) {
    throw new RouteError(
      400,
      `${action}: the parts hold ${size} bytes, not the declared ${session.size}`,
    );
  }
  if (size > config.maxSize) {
    throw new RouteError(
      413,
      `${action}: the parts hold ${size} bytes, over the limit of ${config.maxSize}`,
    );
  }
  const sha256 = await compositeSha256(parts.map((part) => part.sha256));
  let file: StoredFile;
  try {
    file = await store.complete(session.id, session.uploadId, parts, {
      name: session.name,
      type: session.type,
      partSize: session.partSize,
      size,
      sha256,
      ...(session.fileResource === undefined
        ? {}
        : { resource: session.fileResource }),
      ...(session.fexp === null
        ? {}
        : { fileExpiresAt: new Date(session.fexp * 1000) }),
    });
  } catch (error) {
    if (error instanceof StorageConflictError) {
      if (await (config.storage as Storage).stat(session.id) !== undefined) {
        throw new RouteError(409, `${action}: the upload is already complete`);
      }
      // A part is being written (a request the client gave up on may still
      // be arriving), or another completion runs.
      throw busyConflict(
        config,
        error,
        `${action}: another request is writing a part, or completing the upload`,
      );
    }
    if (error instanceof StorageNotFoundError) {
      // Aborted, or completed by another request meanwhile.
      await gone(config, session, action);
    }
    if (error instanceof StorageFullError) {
      throw new RouteError(507, `${action}: the storage is full`);
    }
    if (error instanceof RangeError) {
      // A part was sent again between the check above and the completion.
      throw new RouteError(409, `${action}: ${error.message}`);
    }
    throw error;
  }
  await notifyUploaded(config, file);
  // The fileurls route also tells the file's resource and expiry.
  const answer: CompletedUpload & FileObject = {
    ...fileObject(file),
    id: session.id,
    sha256,
    download_url: await sessionDownloadUrl(config, session),
  };
  return json(answer, 201, { etag: etag(file) });
}

/** A fresh download URL of the upload's file. */
function sessionDownloadUrl(config: Config, session: Session): Promise<string> {
  const { base, id, name, type, fexp } = session;
  return downloadUrl(config, base, { id, name, type, fexp });
}

function json(
  body: unknown,
  status: number,
  headers: Record<string, string> = {},
): Response {
  return Response.json(body, {
    status,
    headers: { "cache-control": "no-store", ...headers },
  });
}
