/**
 * Starts `tests/_route_main.ts` as a separate process of the current runtime
 * (Deno, Bun or Node), so route instances share nothing but what the
 * environment gives them.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";
import { startChild } from "./_child.ts";
import type { Served } from "./_serve.ts";

/**
 * Starts one route instance.
 *
 * @param env Variables added to this process's environment.
 * @returns The instance's origin (the route is at `/v1`) and `close()`.
 */
export async function startInstance(
  env: Record<string, string>,
): Promise<Served> {
  const script = fileURLToPath(new URL("./_route_main.ts", import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url));
  const args = "Deno" in globalThis
    ? ["run", "-A", "--quiet", script]
    : [script];
  const child = await startChild<{ url: string }>(
    "a route instance",
    process.execPath,
    args,
    { cwd: root, env: { ...process.env, ...env } },
  );
  return { url: child.info.url, close: child.close };
}
