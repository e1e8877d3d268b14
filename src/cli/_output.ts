/**
 * What the commands share: output, error messages, and the usage error.
 *
 * @module
 */

import process from "node:process";

/** What went wrong with the command line: exit code 2, with the usage. */
export class UsageError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong, e.g. `no FILE given`.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Writes to standard output.
 *
 * @param text The text, with its own line ends.
 */
export function print(text: string): void {
  process.stdout.write(text);
}

/**
 * Writes to standard error.
 *
 * @param text The text, with its own line ends.
 */
export function printError(text: string): void {
  process.stderr.write(text);
}

/**
 * The message of an error, without a stack.
 *
 * @param error Anything thrown.
 * @returns Its message.
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `code` of a Node-style error, e.g. `"ENOENT"`.
 *
 * @param error Anything thrown.
 * @returns The code, if any.
 */
export function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/**
 * Tells whether `parseArgs` threw this (an unknown option, a missing value).
 *
 * @param error Anything thrown.
 * @returns `true` for a `parseArgs` error.
 */
export function isParseArgsError(error: unknown): boolean {
  return codeOf(error)?.startsWith("ERR_PARSE_ARGS_") ?? false;
}

/**
 * Waits until everything written to standard output and error is out.
 *
 * @returns When both are flushed.
 */
export function flushed(): Promise<void> {
  return Promise.all(
    [process.stdout, process.stderr].map((stream) =>
      new Promise<void>((done) => {
        stream.write("", () => done());
      })
    ),
  ).then(() => {});
}
