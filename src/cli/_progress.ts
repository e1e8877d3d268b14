/**
 * The progress display of `fileurls upload` on a terminal: one live line per
 * file being uploaded (name, bytes done of the total, percentage, rate, time
 * left, and a note such as a retry), redrawn in place at most ten times a
 * second on standard error, and a line kept for each file once it is done.
 *
 * What a line says is a pure function of the file's state, the time and the
 * terminal's width ({@linkcode renderLine}, {@linkcode renderDone}); the
 * display only keeps the state and writes.
 *
 * @module
 */
import { columns, fitColumns, fitColumnsFromEnd } from "./_width.ts";

/** How far one file's upload has come, as the display knows it. */
export interface FileState {
  /** The name shown. */
  label: string;
  /** Bytes done. */
  loaded: number;
  /** The size, or `undefined` while a stream's is not known. */
  total: number | undefined;
  /** When the upload started, in milliseconds. */
  startedAt: number;
  /** Recent `[time, loaded]` pairs, oldest first, for the rate. */
  samples: [number, number][];
  /** What is happening besides sending, e.g. `retrying (connection reset)`. */
  note?: string;
}

/** How long a span of samples the rate is measured over, in milliseconds. */
const RATE_WINDOW = 5_000;

/**
 * A new file's state.
 *
 * @param label The name shown.
 * @param now The time, in milliseconds.
 * @returns Nothing done yet.
 */
export function startState(label: string, now: number): FileState {
  return { label, loaded: 0, total: undefined, startedAt: now, samples: [] };
}

/**
 * The state after an upload reported how far it has come. A `loaded` that
 * went back (a single upload starting over) starts the rate afresh.
 *
 * @param state The file's state; changed in place.
 * @param loaded Bytes done.
 * @param total The size, if known.
 * @param now The time, in milliseconds.
 */
export function advance(
  state: FileState,
  loaded: number,
  total: number | undefined,
  now: number,
): void {
  if (loaded < state.loaded) state.samples = [];
  if (loaded > state.loaded && state.note?.startsWith("retrying")) {
    state.note = undefined;
  }
  state.loaded = loaded;
  state.total = total;
  state.samples.push([now, loaded]);
  while (
    state.samples.length > 2 && now - state.samples[1][0] >= RATE_WINDOW
  ) {
    state.samples.shift();
  }
}

/**
 * Bytes per second over the last few seconds.
 *
 * @param state The file's state.
 * @param now The time, in milliseconds.
 * @returns The rate, or `undefined` until half a second of samples.
 */
export function rateOf(state: FileState, now: number): number | undefined {
  const first = state.samples[0];
  if (first === undefined) return undefined;
  const span = now - first[0];
  if (span < 500) return undefined;
  return (state.loaded - first[1]) / (span / 1000);
}

/**
 * A byte count for people: `512 B`, `3.4 KiB`, `12.0 MiB`, `1.25 GiB`.
 *
 * @param bytes The count.
 * @returns It, in binary units.
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value.toFixed(value < 10 && unit >= 3 ? 2 : 1)} ${units[unit]}`;
}

/**
 * A span of time for people: `4 s`, `2 min 5 s`, `1 h 3 min`, `3 d 2 h`.
 *
 * @param seconds The span.
 * @returns It, in the two largest units that matter.
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    return s % 60 === 0
      ? `${Math.floor(s / 60)} min`
      : `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  const m = Math.round(s / 60);
  if (m < 48 * 60) {
    return m % 60 === 0
      ? `${Math.floor(m / 60)} h`
      : `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  const h = Math.round(s / 3600);
  return h % 24 === 0
    ? `${Math.floor(h / 24)} d`
    : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * What a retry is told as: `retrying part 3 (connection reset)`, and with a
 * wait of a second or more (a `Retry-After`), its length:
 * `retrying part 27 in 30 s (status 409)`.
 *
 * @param retry The progress event's `retry`.
 * @returns The note.
 */
export function retryNote(
  retry: { part?: number; reason: string; delay: number },
): string {
  const part = retry.part === undefined ? "" : ` part ${retry.part}`;
  const wait = retry.delay >= 1000
    ? ` in ${formatDuration(retry.delay / 1000)}`
    : "";
  return `retrying${part}${wait} (${retry.reason})`;
}

/**
 * How long a link works, for people: `expires in 24 h` up to two days
 * ahead, else `expires on 2030-01-31 12:00 UTC`.
 *
 * @param expiresAt When it expires.
 * @param now The time, in milliseconds.
 * @returns The phrase.
 */
export function expiresText(expiresAt: Date, now: number): string {
  const seconds = (expiresAt.getTime() - now) / 1000;
  if (seconds <= 0) return "expired";
  if (seconds <= 48 * 3600) return `expires in ${formatDuration(seconds)}`;
  return `expires on ${
    expiresAt.toISOString().slice(0, 16).replace("T", " ")
  } UTC`;
}

/**
 * The live line of a file being uploaded, at most `width - 1` characters
 * (a line as wide as the terminal would wrap on some), the name shortened
 * first:
 *
 * `photo.png  3.0 MiB / 10.0 MiB  30%  1.5 MiB/s  4 s left`
 *
 * @param state The file's state.
 * @param now The time, in milliseconds.
 * @param width The terminal's width, in columns.
 * @returns The line, without a line end.
 */
export function renderLine(
  state: FileState,
  now: number,
  width: number,
): string {
  const { loaded, total } = state;
  const parts: string[] = [];
  if (total === undefined) {
    parts.push(formatBytes(loaded));
  } else {
    parts.push(`${formatBytes(loaded)} / ${formatBytes(total)}`);
    parts.push(`${total === 0 ? 100 : Math.floor(loaded / total * 100)}%`);
  }
  const rate = rateOf(state, now);
  if (rate !== undefined) {
    parts.push(`${formatBytes(Math.round(rate))}/s`);
    if (total !== undefined && rate > 0 && loaded < total) {
      parts.push(`${formatDuration((total - loaded) / rate)} left`);
    }
  }
  if (state.note) parts.push(state.note);
  return fit(state.label, parts, "  ", width);
}

/**
 * The line kept for a file once it is uploaded:
 *
 * `✓ photo.png  10.0 MiB in 6 s, link expires in 24 h`
 *
 * @param state The file's state.
 * @param size The file's size.
 * @param expiresAt When its download URL expires, if known.
 * @param now The time, in milliseconds.
 * @param width The terminal's width, in columns.
 * @returns The line, without a line end.
 */
export function renderDone(
  state: FileState,
  size: number,
  expiresAt: Date | undefined,
  now: number,
  width: number,
): string {
  const parts = [
    `${formatBytes(size)} in ${formatDuration((now - state.startedAt) / 1000)}`,
  ];
  if (expiresAt !== undefined) {
    parts.push(`link ${expiresText(expiresAt, now)}`);
  }
  return fit(`✓ ${state.label}`, parts, ", ", width);
}

/** Columns a label keeps before the parts after it are left out. */
const LABEL_ROOM = 12;

/**
 * `label  part1<sep>part2…` in at most `width - 1` columns (a wide character
 * takes two). Where it does not fit, the last parts are left out while the
 * label would get fewer than {@linkcode LABEL_ROOM} columns (never the
 * first part), then the label is shortened.
 */
function fit(
  label: string,
  parts: string[],
  separator: string,
  width: number,
): string {
  const room = Math.max(10, width - 1);
  const need = Math.min(columns(label), LABEL_ROOM);
  let count = parts.length;
  while (
    count > 1 &&
    columns(parts.slice(0, count).join(separator)) + 2 + need > room
  ) {
    count--;
  }
  const text = parts.slice(0, count).join(separator);
  const rest = text === "" ? "" : `  ${text}`;
  const labelRoom = room - columns(rest);
  let shown = label;
  if (columns(label) > labelRoom) {
    const keep = Math.max(labelRoom - 1, 4);
    const head = Math.ceil(keep / 2);
    shown = fitColumns(label, head) + "…" +
      fitColumnsFromEnd(label, keep - head);
  }
  return fitColumns(`${shown}${rest}`, room);
}

/** A stream the display writes to: a terminal's standard error. */
export interface Terminal {
  write(text: string): unknown;
  /** The width in columns, if known. */
  columns?: number;
}

/** Options of {@linkcode ProgressDisplay}. */
export interface ProgressDisplayOptions {
  /**
   * The clock, in milliseconds.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * The shortest time between two redraws, in milliseconds.
   *
   * @default {100}
   */
  interval?: number;
}

/**
 * Live lines on a terminal, one per file being uploaded, with lines kept
 * above them. Whatever else goes to the same terminal (the URLs on standard
 * output, errors) goes through {@linkcode ProgressDisplay.above}, so that
 * it is not drawn over.
 */
export class ProgressDisplay {
  #terminal: Terminal;
  #now: () => number;
  #interval: number;
  #files = new Map<number, FileState>();
  #drawn = 0;
  #lastDraw = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;

  /**
   * Makes a display.
   *
   * @param terminal Where to draw: a terminal's standard error.
   * @param options The clock and the redraw interval.
   */
  constructor(terminal: Terminal, options: ProgressDisplayOptions = {}) {
    this.#terminal = terminal;
    this.#now = options.now ?? Date.now;
    this.#interval = options.interval ?? 100;
  }

  /** The time, by the display's clock. */
  now(): number {
    return this.#now();
  }

  /**
   * Shows a file from now on.
   *
   * @param key The file's key.
   * @param label The name shown.
   * @returns Its state, to change and then {@linkcode ProgressDisplay.changed}.
   */
  add(key: number, label: string): FileState {
    const state = startState(label, this.#now());
    this.#files.set(key, state);
    this.#startTicking();
    this.changed();
    return state;
  }

  /** Redraws now, whatever the interval: for news worth showing at once. */
  redraw(): void {
    this.#draw();
  }

  /** Redraws soon: at most once per interval. */
  changed(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastDraw + this.#interval - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, wait);
  }

  /**
   * Stops showing a file, and keeps `line` above the live lines.
   *
   * @param key The file's key.
   * @param write Writes what goes above: the kept line, a URL, an error.
   */
  remove(key: number, write?: () => void): void {
    this.#files.delete(key);
    if (this.#files.size === 0) this.#stopTicking();
    this.above(write ?? (() => {}));
  }

  /**
   * Writes something above the live lines: they are erased, `write` runs,
   * and they are drawn again below.
   *
   * @param write Writes to this terminal or to another stream on the same
   * screen.
   */
  above(write: () => void): void {
    this.#erase();
    write();
    this.#draw();
  }

  /** The terminal's width in columns: 80 where it does not say. */
  width(): number {
    const columns = this.#terminal.columns;
    return columns !== undefined && columns >= 20 ? columns : 80;
  }

  /** Stops redrawing and erases the live lines. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopTicking();
    this.#erase();
  }

  #erase(): void {
    if (this.#drawn > 0) this.#terminal.write(`\x1b[${this.#drawn}A\x1b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#now();
    this.#lastDraw = now;
    const width = this.width();
    const lines = [...this.#files.values()].map((state) =>
      renderLine(state, now, width)
    );
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : "";
    text += lines.map((line) => `\r\x1b[2K${line}\n`).join("");
    text += "\x1b[J";
    this.#terminal.write(text);
    this.#drawn = lines.length;
  }

  // Redraws every second even when no byte moved, so that the rate falls.
  #startTicking(): void {
    this.#tick ??= setInterval(() => this.changed(), 1000);
  }

  #stopTicking(): void {
    clearInterval(this.#tick);
    this.#tick = undefined;
  }
}
