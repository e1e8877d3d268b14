/**
 * A client as slow or silent as an attacker: a raw socket that writes what it
 * is told when it is told, and reports when the server closed it and what the
 * server sent.
 *
 * @module
 */

import { connect, type Socket } from "node:net";

/** How a connection ended. */
export interface Closed {
  /** Milliseconds from connecting to the server closing it. */
  ms: number;
  /** Everything the server sent, as text. */
  received: string;
}

/** An open raw connection. */
export interface SlowConnection {
  socket: Socket;
  /** Writes bytes now, unless the connection is closed. */
  write(data: string | Uint8Array): void;
  /** Writes `data` one piece of `size` bytes every `everyMs`, until closed. */
  drip(data: string | Uint8Array, everyMs: number, size?: number): void;
  /** Resolves when the server closes the connection. */
  closed: Promise<Closed>;
  /**
   * Resolves when the server closes the connection; rejects, closing it,
   * if the server has not within `ms`.
   */
  closedWithin(ms: number): Promise<Closed>;
  /** Closes it from this side. */
  destroy(): void;
}

/**
 * Opens a raw TCP connection on loopback.
 *
 * @param port The server's port.
 * @returns The connection, once connected.
 */
export function openSlow(port: number): Promise<SlowConnection> {
  return new Promise((ready, failed) => {
    const socket = connect(port, "127.0.0.1");
    const start = Date.now();
    const chunks: Uint8Array[] = [];
    let timer: ReturnType<typeof setInterval> | undefined;
    const closed = new Promise<Closed>((done) => {
      socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(timer);
        done({
          ms: Date.now() - start,
          received: Buffer.concat(chunks).toString("latin1"),
        });
      });
    });
    const bytes = (data: string | Uint8Array) =>
      typeof data === "string" ? Buffer.from(data, "latin1") : data;
    socket.once("error", failed);
    socket.once("connect", () => {
      socket.off("error", failed);
      ready({
        socket,
        write(data) {
          if (!socket.destroyed) socket.write(bytes(data));
        },
        drip(data, everyMs, size = 1) {
          const all = bytes(data);
          let at = 0;
          timer = setInterval(() => {
            if (socket.destroyed || at >= all.byteLength) {
              clearInterval(timer);
              return;
            }
            socket.write(all.subarray(at, at + size));
            at += size;
          }, everyMs);
        },
        closed,
        closedWithin(ms) {
          let late: ReturnType<typeof setTimeout> | undefined;
          return Promise.race([
            closed,
            new Promise<never>((_, fail) => {
              late = setTimeout(() => {
                socket.destroy();
                fail(new Error(`The server kept the connection over ${ms} ms`));
              }, ms);
            }),
          ]).finally(() => clearTimeout(late));
        },
        destroy() {
          clearInterval(timer);
          socket.destroy();
        },
      });
    });
  });
}

/**
 * The head of a `PUT` of `size` bytes to `url`, for a body sent apart.
 *
 * @param url The upload URL.
 * @param size The `Content-Length`.
 * @param type The `Content-Type`.
 * @returns The request line and headers, ending in an empty line.
 */
export function putHead(
  url: string,
  size: number,
  type = "application/octet-stream",
): string {
  const target = new URL(url);
  return `PUT ${target.pathname}${target.search} HTTP/1.1\r\n` +
    `Host: ${target.host}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${size}\r\n\r\n`;
}

/** The first line of an HTTP answer, e.g. `HTTP/1.1 408 Request Timeout`. */
export function statusLine(received: string): string {
  return received.split("\r\n", 1)[0];
}
