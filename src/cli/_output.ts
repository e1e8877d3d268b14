/**
 * What the commands share: output, error messages, and the usage error.
 *
 * @module
 */

import process from "node:process";

/** What went wrong with the command line: exit code 2, and a pointer to `--help`. */
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

/** Whether {@linkcode print} listens for standard output's errors yet. */
let watching = false;

/**
 * Ends the command quietly when standard output's reader has gone
 * (`fileurls ls | head -1`: it has what it wanted), else throws.
 */
function closedOutput(error: unknown): void {
  if (
    codeOf(error) !== "EPIPE" && !/EPIPE|Broken pipe/.test(messageOf(error))
  ) {
    throw error;
  }
  process.exit(0);
}

/**
 * Writes to standard output. If its reader has gone, the command ends there
 * with exit code 0, as it would in a pipe to `head`.
 *
 * @param text The text, with its own line ends.
 */
export function print(text: string): void {
  if (!watching) {
    watching = true;
    process.stdout.on("error", closedOutput);
  }
  try {
    process.stdout.write(text);
  } catch (error) {
    closedOutput(error);
  }
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

/**
 * The known word nearest to a mistyped one, if it is within two edits
 * (Levenshtein distance), e.g. `upload` for `uplaod`.
 *
 * @param word What was typed.
 * @param known The words it may have meant.
 * @returns The nearest, or `undefined` when none is that near.
 */
export function suggest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i][j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(
        rows[i - 1][j] + 1,
        rows[i][j - 1] + 1,
        rows[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}
