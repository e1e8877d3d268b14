/**
 * An HTTP/1.1 request over a plain socket whose body the test sends when it
 * likes: part of it, then silence, more later, or a half-close. `fetch`
 * cannot stall a body on purpose.
 *
 * @module
 */

import { connect, type Socket } from "node:net";
import type { RawResponse } from "../_raw_http.ts";

/** A request being sent. */
export interface OpenRequest {
  /** Sends more of the body. */
  send(bytes: Uint8Array | string): void;
  /** Ends the client's side of the connection (a half-close). */
  end(): void;
  /**
   * The answer, once its head and its `Content-Length` bytes arrived, or
   * `undefined` if the server closed the connection without one.
   */
  response: Promise<RawResponse | undefined>;
  /** Closes the connection. */
  close(): void;
}

/**
 * Sends a request's head and the first bytes of its body, and keeps the
 * connection open.
 *
 * @param url The target; its path and query go on the request line.
 * @param method The method, e.g. `"PUT"`.
 * @param headers Header lines to send as they are (`Host` is added).
 * @param first The first bytes of the body.
 * @returns The open request.
 */
export function openRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  first: Uint8Array | string = "",
): OpenRequest {
  const target = new URL(url);
  const head = [
    `${method} ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  const socket: Socket = connect(Number(target.port), target.hostname);
  socket.on("error", () => {});
  const response = new Promise<RawResponse | undefined>((resolve) => {
    let text = "";
    const parse = (): RawResponse | undefined => {
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) return undefined;
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const answer: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        answer[line.slice(0, colon).trim().toLowerCase()] = line
          .slice(colon + 1).trim();
      }
      const body = text.slice(end + 4);
      const length = Number(answer["content-length"] ?? NaN);
      if (!(new TextEncoder().encode(body).byteLength >= length)) {
        return undefined;
      }
      return {
        status: Number(statusLine.split(" ")[1]),
        headers: answer,
        body,
      };
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const answer = parse();
      if (answer !== undefined) resolve(answer);
    });
    socket.on("close", () => resolve(parse()));
  });
  socket.write(head);
  if (first.length > 0) socket.write(first);
  return {
    send: (bytes) => void socket.write(bytes),
    end: () => void socket.end(),
    response,
    close: () => void socket.destroy(),
  };
}
