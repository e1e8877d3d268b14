/**
 * A TCP proxy on loopback that drops (or stalls) one connection in the
 * middle of a request body: once it has passed `after` bytes of the body of
 * the first request whose request line matches `pattern`, it closes both
 * sides (or passes nothing more on that connection, or waits for the
 * server's answer and closes both sides instead of passing it on). Every
 * other byte passes through unchanged.
 *
 * @module
 */
import { connect, createServer, type Socket } from "node:net";

/** A running proxy. */
export interface CutProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Whether the cut happened. */
  cut(): boolean;
  /** The request lines that passed, e.g. `PUT /v1/files/uploads/…`. */
  lines(): string[];
  /** Stops the proxy and drops every connection. */
  close(): Promise<void>;
}

/**
 * Starts the proxy in front of `target`.
 *
 * @param target The server's port on 127.0.0.1.
 * @param pattern Picks the request to cut, by its request line.
 * @param after Body bytes to let through before the cut.
 * @param mode `"cut"` closes the connection; `"stall"` keeps it open and
 * passes nothing more, as a network that went silent; `"lose-answer"` lets
 * the request through and closes the connection when the answer comes, as a
 * network that failed just after the server did its work.
 * @returns The running proxy.
 */
export function startCutProxy(
  target: number,
  pattern: RegExp,
  after: number,
  mode: "cut" | "stall" | "lose-answer" = "cut",
): Promise<CutProxy> {
  let done = false;
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    let losing = false;
    if (mode === "lose-answer") {
      upstream.on("data", (chunk: Buffer) => {
        if (losing) drop();
        else client.write(chunk);
      });
    } else {
      upstream.pipe(client);
    }
    let watching = false;
    let cutting = false;
    let passed = 0;
    let head = "";
    client.on("data", (chunk: Buffer) => {
      if (cutting) return;
      for (
        const [line] of chunk.toString("latin1").matchAll(
          /(?:GET|PUT|POST|DELETE) \/\S* HTTP\/1\.1/g,
        )
      ) {
        lines.push(line.slice(0, -" HTTP/1.1".length));
      }
      if (
        done || (!watching && !pattern.test(head + chunk.toString("latin1")))
      ) {
        // Keep a little of the stream, for a request line split in two.
        head = chunk.subarray(-512).toString("latin1");
        upstream.write(chunk);
        return;
      }
      if (!watching) {
        const text = chunk.toString("latin1");
        const start = text.search(pattern);
        const bodyStart = text.indexOf("\r\n\r\n", Math.max(0, start));
        watching = true;
        if (bodyStart === -1) {
          upstream.write(chunk);
          return;
        }
        upstream.write(chunk.subarray(0, bodyStart + 4));
        chunk = chunk.subarray(bodyStart + 4);
      }
      if (mode === "lose-answer") {
        upstream.write(chunk);
        passed += chunk.length;
        if (passed >= after) {
          done = true;
          losing = true;
        }
        return;
      }
      const room = after - passed;
      upstream.write(chunk.subarray(0, Math.max(0, room)));
      passed += chunk.length;
      if (passed >= after) {
        done = true;
        cutting = true;
        // Let the bytes already written reach the server, then cut.
        if (mode === "cut") setTimeout(drop, 20);
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        cut: () => done,
        lines: () => [...lines],
        close: () =>
          new Promise<void>((closed) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => closed());
          }),
      });
    });
  });
}
