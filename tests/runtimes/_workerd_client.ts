/**
 * A worker that uploads with the client, for the workerd tests.
 *
 * `POST /upload?base=URL&kind=KIND&name=NAME[&part_size=N]` with the file's
 * bytes as the body uploads them, as a KIND of {@linkcode FileContent}, to the
 * API at `base` (in parts of N bytes if it is larger) and answers
 * `{"url", "progress"}`, or `{"error": {"name",
 * "message"}}` with status 500. KIND is `blob`, `file`, `bytes`, `buffer`,
 * `stream`, `iterable` or `path` (the body is then the path).
 *
 * @module
 */
import { Client, type FileContent, type UploadProgress } from "../../mod.ts";

/** The API key the test routes accept. */
const API_KEY = "workerd-api-key";

function content(kind: string, bytes: Uint8Array, name: string): FileContent {
  switch (kind) {
    case "blob":
      return new Blob([bytes as BlobPart]);
    case "file":
      return new File([bytes as BlobPart], name);
    case "bytes":
      return bytes;
    case "buffer":
      return bytes.slice().buffer;
    case "stream":
      return new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 1000) {
            controller.enqueue(bytes.slice(i, i + 1000));
          }
          controller.close();
        },
      });
    case "iterable":
      return (async function* () {
        for (let i = 0; i < bytes.length; i += 777) {
          yield bytes.slice(i, i + 777);
        }
      })();
    case "path":
      return new TextDecoder().decode(bytes);
  }
  throw new TypeError(`Unknown kind: ${kind}`);
}

async function upload(request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const kind = query.get("kind") ?? "";
  const name = query.get("name") ?? "";
  const partSize = query.get("part_size");
  const bytes = new Uint8Array(await request.arrayBuffer());
  const progress: UploadProgress[] = [];
  try {
    const client = new Client({
      baseUrl: query.get("base") ?? "",
      apiKey: API_KEY,
      maxRetries: 0,
    });
    const url = await client.files.upload(
      content(kind, bytes, name),
      "prediction",
      {
        ...(kind === "file" || kind === "path" ? {} : { name }),
        ...(partSize === null ? {} : { partSize: Number(partSize) }),
        onProgress: (p) => progress.push(p),
      },
    );
    return Response.json({ url, progress });
  } catch (error) {
    const { name, message } = error as Error;
    return Response.json({ error: { name, message } }, { status: 500 });
  }
}

// workerd loads a module worker from its default export.
export default { fetch: upload };
