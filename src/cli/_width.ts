/**
 * How many columns text takes on a terminal: East Asian wide and fullwidth
 * characters and emoji take two, combining marks and zero-width characters
 * none, everything else one. Enough to align `fileurls ls` and keep the
 * progress lines within the terminal's width, whatever the file names.
 *
 * @module
 */

/** Code point ranges that take two columns, first and last, in order. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e], // CJK radicals, punctuation
  [0x3041, 0x33ff], // Kana, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60], // Fullwidth forms
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], // Tangut
  [0x1b000, 0x1b2ff], // Kana supplement
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f64f], // Emoji
  [0x1f680, 0x1f6ff],
  [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x3fffd], // CJK extensions B and on
];

/** Characters that take no column: combining marks, zero-width ones. */
const ZERO = /^[\p{Mn}\p{Me}\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f]$/u;

/**
 * The columns one character takes.
 *
 * @param char One code point.
 * @returns 0, 1 or 2.
 */
export function charColumns(char: string): number {
  const code = char.codePointAt(0)!;
  if (code < 0x300) return 1;
  if (ZERO.test(char)) return 0;
  let low = 0;
  let high = WIDE.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [first, last] = WIDE[middle];
    if (code < first) high = middle - 1;
    else if (code > last) low = middle + 1;
    else return 2;
  }
  return 1;
}

/**
 * The columns a text takes.
 *
 * @param text The text, with no control characters.
 * @returns The sum of its characters' columns.
 */
export function columns(text: string): number {
  let total = 0;
  for (const char of text) total += charColumns(char);
  return total;
}

/**
 * The longest start of a text that fits in some columns.
 *
 * @param text The text.
 * @param room The columns there are.
 * @returns The text, cut after its last character that fits.
 */
export function fitColumns(text: string, room: number): string {
  let used = 0;
  let end = 0;
  for (const char of text) {
    used += charColumns(char);
    if (used > room) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * The longest end of a text that fits in some columns.
 *
 * @param text The text.
 * @param room The columns there are.
 * @returns The text, from its first character that fits (a mark without
 * its character left out).
 */
export function fitColumnsFromEnd(text: string, room: number): string {
  const chars = [...text];
  let used = 0;
  let start = chars.length;
  while (start > 0) {
    used += charColumns(chars[start - 1]);
    if (used > room) break;
    start--;
  }
  // A mark whose character did not fit goes with it.
  while (start < chars.length && charColumns(chars[start]) === 0) start++;
  return chars.slice(start).join("");
}
