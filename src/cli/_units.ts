/**
 * Sizes and durations as the commands take them on the command line.
 *
 * @module
 */

import { UsageError } from "./_output.ts";

/**
 * Reads a number of seconds, at least `min`, as milliseconds.
 *
 * @param text The value given, e.g. `"30"` or `"0.5"`.
 * @param option The option, for the message, e.g. `"--timeout"`.
 * @param min The least number of seconds.
 * @returns Milliseconds.
 * @throws {UsageError} For anything else.
 */
export function seconds(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(value >= min)) {
    throw new UsageError(
      `${option} must be a number of seconds, at least ${min}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return value * 1000;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/**
 * Reads a size: bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB`,
 * `KiB`, `MiB`, `GiB`, `TiB`, any case).
 *
 * @param text The size, e.g. `"5GiB"`.
 * @returns Bytes, or `undefined` unless a positive safe integer.
 */
export function parseSize(text: string): number | undefined {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[match?.[2].toLowerCase() ?? "?"];
  if (match === null || unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = {
  "": 1,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/**
 * Reads a duration: seconds, or one or more numbers with a unit (`s`, `m`
 * or `min`, `h`, `d`, `w`, any case), as in `90`, `15m`, `1h30m`, `7d`.
 *
 * @param text The duration, e.g. `"1h"`.
 * @returns Whole seconds, or `undefined` unless a positive safe integer.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (/^[0-9]+(\.[0-9]+)?$/.test(trimmed)) return wholeSeconds(+trimmed);
  if (!/^([0-9]+(\.[0-9]+)?\s*[a-z]+\s*)+$/.test(trimmed)) return undefined;
  let seconds = 0;
  for (const [, number, unit] of trimmed.matchAll(/([0-9.]+)\s*([a-z]+)/g)) {
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) return undefined;
    seconds += Number(number) * scale;
  }
  return wholeSeconds(seconds);
}

function wholeSeconds(seconds: number): number | undefined {
  const whole = Math.round(seconds);
  return Number.isSafeInteger(whole) && whole > 0 ? whole : undefined;
}
