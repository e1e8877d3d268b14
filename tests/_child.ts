/**
 * Starts a helper process that announces itself with one JSON line on
 * standard output and stops when its standard input closes.
 *
 * @module
 */

import { spawn, type SpawnOptions } from "node:child_process";

/** A running helper process. */
export interface Child<T> {
  /** The JSON line the process printed first. */
  info: T;
  /** Closes its standard input and waits for it to exit (killed after 3 s). */
  close(): Promise<void>;
}

/**
 * Starts `command` and waits for its first line of output.
 *
 * @param what Names the process in errors, e.g. `"s3rver"`.
 * @param command The executable.
 * @param args Its arguments.
 * @param options `cwd` and `env`; standard input and output are piped.
 * @param timeout Milliseconds to wait for the first line.
 */
export function startChild<T>(
  what: string,
  command: string,
  args: string[],
  options: Pick<SpawnOptions, "cwd" | "env"> = {},
  timeout = 20_000,
): Promise<Child<T>> {
  const child = spawn(command, args, {
    ...options,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  return new Promise<Child<T>>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(
        new Error(`Cannot start ${what}: no answer within ${timeout} ms`),
      );
    }, timeout);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start ${what}`, { cause: error }));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start ${what}: it exited with ${code}`));
    });
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      const newline = output.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      resolve({
        info: JSON.parse(output.slice(0, newline)),
        async close() {
          child.stdin!.end();
          const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
