/**
 * Starts `tests/_route_main.ts` as a separate process of the current runtime
 * (Deno, Bun or Node), so route instances share nothing but what the
 * environment gives them.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Served } from "./_serve.ts";

/**
 * Starts one route instance.
 *
 * @param env Variables added to this process's environment.
 * @returns The instance's origin (the route is at `/v1`) and `close()`.
 */
export function startInstance(env: Record<string, string>): Promise<Served> {
  const script = fileURLToPath(new URL("./_route_main.ts", import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url));
  const args = "Deno" in globalThis
    ? ["run", "-A", "--quiet", script]
    : [script];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  return new Promise<Served>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error("Cannot start a route instance: no answer within 20 s"));
    }, 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(`Cannot start a route instance: it exited with ${code}`),
      );
    });
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      const newline = output.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      const { url } = JSON.parse(output.slice(0, newline));
      resolve({
        url,
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
