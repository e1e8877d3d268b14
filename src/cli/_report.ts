/**
 * How `fileurls upload` tells what happens to each file: on a terminal, a
 * live progress line per file on standard error; elsewhere, errors only.
 *
 * @module
 */

import process from "node:process";
import type { UploadProgress, UploadResult } from "../client/types.ts";
import {
  advance,
  type FileState,
  ProgressDisplay,
  renderDone,
  retryNote,
} from "./_progress.ts";
import { printError } from "./_output.ts";

/** Where what happens to one file is told: the terminal's display, or not. */
export interface Report {
  /** A file starts. */
  start(key: number, label: string): void;
  /** It came this far. */
  progress(key: number, progress: UploadProgress): void;
  /** Something worth saying while it goes on, e.g. a retry. */
  note(key: number, note: string): void;
  /** It is uploaded: `write` prints its line on standard output. */
  done(
    key: number,
    result: UploadResult,
    expiresAt: Date | undefined,
    write: () => void,
  ): void;
  /** It failed: `message` goes to standard error. */
  failed(key: number | undefined, message: string): void;
  /** Writes to standard output. */
  print(write: () => void): void;
  close(): void;
}

/** Errors only, on standard error. */
export const plainReport: Report = {
  start() {},
  progress() {},
  note() {},
  done: (_key, _result, _expires, write) => write(),
  failed: (_key, message) => printError(message),
  print: (write) => write(),
  close() {},
};

/**
 * On a terminal: a live line per file on standard error, and each finished
 * file's line kept above them.
 *
 * @returns The report.
 */
export function terminalReport(): Report {
  const stderr = process.stderr as { columns?: number };
  const display = new ProgressDisplay({
    write: (text) => process.stderr.write(text),
    get columns() {
      return stderr.columns;
    },
  });
  const states = new Map<number, FileState>();
  return {
    start(key, label) {
      states.set(key, display.add(key, label));
    },
    progress(key, { loaded, total, retry }) {
      const state = states.get(key);
      if (state === undefined) return;
      // The size, once known, is shown at once: an upload may be over
      // before the next redraw.
      const sized = state.total === undefined && total !== undefined;
      advance(state, loaded, total, display.now());
      if (retry !== undefined) state.note = retryNote(retry);
      if (sized) display.redraw();
      else display.changed();
    },
    note(key, note) {
      const state = states.get(key);
      if (state === undefined) return;
      state.note = note;
      display.changed();
    },
    done(key, result, expiresAt, write) {
      const state = states.get(key)!;
      states.delete(key);
      display.remove(key, () => {
        const line = renderDone(
          state,
          result.size,
          expiresAt,
          display.now(),
          display.width(),
        );
        process.stderr.write(`${line}\n`);
        write();
      });
    },
    failed(key, message) {
      if (key !== undefined) states.delete(key);
      const write = () => printError(message);
      if (key === undefined) display.above(write);
      else display.remove(key, write);
    },
    print: (write) => display.above(write),
    close: () => display.close(),
  };
}
