/**
 * The command line as a process of the current runtime: `fileurls serve`
 * waited for until it prints its URL and key, `fileurls upload` run to the
 * end. Under Node the built package's CLI runs (the npm build maps
 * `src/cli/main.ts` to `fileurls/cli`).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The command that runs the CLI under the current runtime. */
export function cliCommand(): string[] {
  if ("Deno" in globalThis) {
    const source = fileURLToPath(
      new URL("../../src/cli/main.ts", import.meta.url),
    );
    return [process.execPath, "run", "-A", "--quiet", source];
  }
  if (process.versions.bun) {
    const source = fileURLToPath(
      new URL("../../src/cli/main.ts", import.meta.url),
    );
    return [process.execPath, source];
  }
  const built = fileURLToPath(import.meta.resolve("fileurls/cli"));
  return [process.execPath, built];
}

/** This process's environment without any fileurls or AWS settings. */
export function cleanEnv(
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(FILEURLS_|AWS_)/.test(key)) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** What a finished CLI process printed, and its exit code. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to the end. */
export function run(
  args: string[],
  options: {
    env?: Record<string, string>;
    input?: Uint8Array;
    /** The working folder (default: the repository). */
    cwd?: string;
  } = {},
): Promise<Ran> {
  const [command, ...prefix] = cliCommand();
  const child = spawn(command, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text) => stdout += text);
  child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
  child.stdin!.end(options.input);
  return new Promise((done, failed) => {
    child.once("error", failed);
    child.once("close", (code) => done({ code, stdout, stderr }));
  });
}

/** A running `fileurls serve`. */
export interface Serving {
  child: ChildProcess;
  /** The printed base URL, `http://127.0.0.1:<port>/v1`. */
  url: string;
  port: number;
  apiKey: string;
  stdout: string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): Promise<number | null>;
}

/** Servers still running, to kill when the tests end. */
export const running: Set<ChildProcess> = new Set();

/**
 * Starts `fileurls serve` and waits for its URL and API key; `wrapper` runs
 * it through another command, e.g. `["prlimit", "--nofile=128:128"]`.
 */
export function serve(
  args: string[],
  env: Record<string, string> = {},
  wrapper: string[] = [],
  /** The working folder (default: the repository). */
  cwd: string = ROOT,
): Promise<Serving> {
  const [command, ...prefix] = [...wrapper, ...cliCommand()];
  const child = spawn(command, [...prefix, "serve", ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code) => {
      running.delete(child);
      done(code);
    })
  );
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text) => stderr += text);
  return new Promise((ready, failed) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      failed(new Error(`Cannot start fileurls serve: no URL within 20 s`));
    }, 20_000);
    exited.then((code) => {
      clearTimeout(timer);
      failed(
        new Error(`fileurls serve exited with ${code}: ${stderr}${stdout}`),
      );
    });
    child.stdout!.setEncoding("utf8").on("data", (text) => {
      stdout += text;
      const url = /^fileurls serving (\S+)$/m.exec(stdout)?.[1];
      const apiKey = /^API key: (\S+)$/m.exec(stdout)?.[1];
      if (url === undefined || apiKey === undefined) return;
      clearTimeout(timer);
      ready({
        child,
        url,
        port: Number(new URL(url).port),
        apiKey,
        stdout,
        stderr: () => stderr,
        stop(signal = "SIGTERM") {
          // Not child.kill(): under Deno it reports the signal it sent as
          // the cause of death even when the child handled it and exited 0.
          process.kill(child.pid!, signal);
          return exited;
        },
      });
    });
  });
}

/**
 * `POST {url}/files/urls` with the server's API key, for a 5-byte
 * `text/plain` "a.txt" unless `body` says otherwise.
 *
 * @param server The server's base URL and API key.
 * @param body Fields over the defaults.
 * @param headers Headers over the defaults.
 * @param signal Gives up waiting for the answer.
 * @returns The answer.
 */
export function postUrls(
  server: { url: string; apiKey: string },
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${server.url}/files/urls`, {
    method: "POST",
    signal,
    headers: {
      authorization: `Bearer ${server.apiKey}`,
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify({
      name: "a.txt",
      size: 5,
      mime_type: "text/plain",
      resource: "prediction",
      ...body,
    }),
  });
}
