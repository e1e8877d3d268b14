/**
 * A raw HTTP/1.1 server on loopback that records every request exactly as it
 * arrived on the socket: request line, header lines in order and case, and the
 * body bytes (de-chunked if the client sent `Transfer-Encoding: chunked`).
 *
 * Built on `node:net` so that no HTTP library can add, drop or normalize a
 * header before the test sees it. Runs on Deno, Bun and Node.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Buffer } from "node:buffer";

/** One request as it arrived. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  /** Header lines as sent: `[name, value]` pairs in order, case kept. */
  rawHeaders: [string, string][];
  /** Headers by lower-case name (values of repeated names joined by ", "). */
  headers: Record<string, string>;
  /** Whether the body came chunked. */
  chunked: boolean;
  /** The body bytes. */
  body: Uint8Array;
}

/** What the handler answers with. */
export interface RecordedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Close the socket without answering (a dropped connection). */
  destroy?: boolean;
  /** Wait this many milliseconds before answering. */
  delay?: number;
}

/** A running recorder. */
export interface Recorder {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Handler = (
  request: RecordedRequest,
) => RecordedResponse | Promise<RecordedResponse>;

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  401: "Unauthorized",
  408: "Request Timeout",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/**
 * Starts a recorder on 127.0.0.1 with a free port.
 *
 * @param handler Answers each request after its body has arrived.
 */
export function startRecorder(handler: Handler): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    serveConnection(socket, handler, requests);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("Cannot start the recorder: no port"));
        return;
      }
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function serveConnection(
  socket: Socket,
  handler: Handler,
  requests: RecordedRequest[],
): void {
  let buffer = Buffer.alloc(0);
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let needed = 0;
  let busy = false;
  let closed = false;
  socket.on("close", () => closed = true);

  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (!closed) {
        if (pending.length > 0) {
          buffer = Buffer.concat([buffer, ...pending]);
          pending = [];
          pendingLength = 0;
        }
        const parsed = parseRequest(buffer);
        if (typeof parsed === "number") {
          needed = parsed;
          break;
        }
        needed = 0;
        buffer = buffer.subarray(parsed.consumed);
        requests.push(parsed.request);
        const answer = await handler(parsed.request);
        if (answer.delay) await new Promise((r) => setTimeout(r, answer.delay));
        if (closed) break;
        if (answer.destroy) {
          socket.destroy();
          break;
        }
        const status = answer.status ?? 200;
        const body = typeof answer.body === "string"
          ? Buffer.from(answer.body)
          : Buffer.from(answer.body ?? new Uint8Array());
        const lines = [
          `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}`,
          `Content-Length: ${body.length}`,
        ];
        for (const [name, value] of Object.entries(answer.headers ?? {})) {
          lines.push(`${name}: ${value}`);
        }
        socket.write(lines.join("\r\n") + "\r\n\r\n");
        socket.write(body);
      }
    } finally {
      busy = false;
    }
  };

  socket.on("data", (chunk: Buffer) => {
    // Parse again only once enough has arrived, so that a large body is not
    // copied once per packet.
    pending.push(chunk);
    pendingLength += chunk.length;
    if (buffer.length + pendingLength >= needed) void pump();
  });
}

function parseRequest(
  buffer: Buffer,
): { request: RecordedRequest; consumed: number } | number {
  // A number says how many bytes must have arrived before trying again.
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd === -1) return buffer.length + 1;
  const lines = buffer.subarray(0, headEnd).toString("latin1").split("\r\n");
  const [method, target] = lines[0].split(" ");
  const rawHeaders: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  let offset = headEnd + 4;
  const chunked = /chunked/i.test(headers["transfer-encoding"] ?? "");
  if (chunked) {
    const parts: Buffer[] = [];
    while (true) {
      const sizeEnd = buffer.indexOf("\r\n", offset);
      if (sizeEnd === -1) return buffer.length + 1;
      const size = parseInt(
        buffer.subarray(offset, sizeEnd).toString("latin1"),
        16,
      );
      const dataStart = sizeEnd + 2;
      if (buffer.length < dataStart + size + 2) return dataStart + size + 2;
      if (size === 0) {
        // The last chunk: an empty line, or trailers and then an empty line.
        if (buffer.subarray(dataStart, dataStart + 2).toString() === "\r\n") {
          offset = dataStart + 2;
        } else {
          const end = buffer.indexOf("\r\n\r\n", dataStart);
          if (end === -1) return buffer.length + 1;
          offset = end + 4;
        }
        break;
      }
      parts.push(buffer.subarray(dataStart, dataStart + size));
      offset = dataStart + size + 2;
    }
    return {
      request: {
        method,
        target,
        rawHeaders,
        headers,
        chunked,
        body: new Uint8Array(Buffer.concat(parts)),
      },
      consumed: offset,
    };
  }
  const length = Number(headers["content-length"] ?? 0);
  if (buffer.length < offset + length) return offset + length;
  return {
    request: {
      method,
      target,
      rawHeaders,
      headers,
      chunked,
      body: new Uint8Array(buffer.subarray(offset, offset + length)),
    },
    consumed: offset + length,
  };
}

/** The requests a recorder standing for the files API at `/v1` saw, by endpoint. */
export interface ApiRequests {
  /** `${url}/v1`. */
  baseUrl: string;
  /** Requests to `POST /v1/files/urls`. */
  creates(): RecordedRequest[];
  /** Requests to `POST /v1/files/uploads`. */
  starts(): RecordedRequest[];
}

/**
 * Views of the requests `recorder` saw, for a files API at `/v1`.
 *
 * @param recorder The recorder.
 * @returns The base URL and the requests by endpoint.
 */
export function apiRequests(recorder: Recorder): ApiRequests {
  const posts = (target: string) =>
    recorder.requests.filter((r) => r.method === "POST" && r.target === target);
  return {
    baseUrl: `${recorder.url}/v1`,
    creates: () => posts("/v1/files/urls"),
    starts: () => posts("/v1/files/uploads"),
  };
}
