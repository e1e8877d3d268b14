/**
 * Sends an HTTP/1.1 request over a plain socket with exactly the given head
 * and body bytes, which `fetch` will not do (it fixes `Content-Length` and
 * `Transfer-Encoding` itself).
 *
 * @module
 */

import { connect } from "node:net";

/** What came back. */
export interface RawResponse {
  /** The status code. */
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as text (a chunked body is left encoded). */
  body: string;
}

/**
 * Sends one request and reads the answer until the server closes.
 *
 * @param url The target; its path and query go on the request line.
 * @param method The method, e.g. `"PUT"`.
 * @param headers Header lines to send as they are (`Host` and
 *   `Connection: close` are added).
 * @param body The exact bytes after the head.
 * @returns The parsed answer.
 */
export function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
): Promise<RawResponse> {
  const target = new URL(url);
  const lines = [
    `${method} ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "Connection: close",
    "",
    "",
  ];
  const head = new TextEncoder().encode(lines.join("\r\n"));
  const bytes = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    const chunks: Uint8Array[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const text = new TextDecoder().decode(concat(chunks));
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) {
        reject(
          new Error(`Cannot read the answer: no complete head in "${text}"`),
        );
        return;
      }
      const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
      const answer: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        answer[line.slice(0, colon).trim().toLowerCase()] = line.slice(
          colon + 1,
        )
          .trim();
      }
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers: answer,
        body: text.slice(end + 4),
      });
    };
    socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    socket.on("end", finish);
    socket.on("error", (error) => {
      // A server may answer and reset before reading the whole body.
      if (chunks.length > 0) finish();
      else reject(error);
    });
    socket.write(concat([head, bytes]));
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
