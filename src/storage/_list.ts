/**
 * What the storages' `list()` share: checking its options, and picking the
 * few smallest keys out of many without holding them all.
 *
 * @module
 */

import type { ListOptions } from "./mod.ts";
import { checkKey } from "./_common.ts";

/**
 * Checks the options of a storage's `list()`.
 *
 * @param options The options.
 * @throws {RangeError} If `limit` is not a positive safe integer.
 * @throws {TypeError} If `cursor` is given and is not a storage key.
 */
export function checkListOptions(options: ListOptions): void {
  const limit = options?.limit;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `Cannot list the files: limit must be a positive integer, got ${limit}`,
    );
  }
  if (options.cursor !== undefined) {
    checkKey(options.cursor, "list the files after");
  }
  if (options.resource !== undefined && typeof options.resource !== "string") {
    throw new TypeError(
      `Cannot list the files: resource must be a string, got ${typeof options
        .resource}`,
    );
  }
}

/**
 * Keeps the `size` smallest strings of those it is offered, in a max-heap:
 * memory stays at `size` strings however many are offered, and each offer
 * costs `O(log size)`. Strings compare by UTF-16 code units, which for
 * storage keys (ASCII) is byte order.
 */
export class SmallestKeys {
  #size: number;
  #heap: string[] = [];
  #dropped = false;

  /**
   * Makes an empty selection.
   *
   * @param size How many strings to keep, at least 1.
   */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Whether a string was offered and not kept (or kept, then pushed out):
   * then more strings follow the largest kept one.
   */
  get dropped(): boolean {
    return this.#dropped;
  }

  /**
   * Offers a string: it is kept if fewer than `size` are, or if it is
   * smaller than the largest kept, which is then dropped.
   *
   * @param key The string.
   */
  offer(key: string): void {
    const heap = this.#heap;
    if (heap.length < this.#size) {
      heap.push(key);
      this.#up(heap.length - 1);
      return;
    }
    this.#dropped = true;
    if (key >= heap[0]) return;
    heap[0] = key;
    this.#down(0);
  }

  /**
   * The kept strings, ascending.
   *
   * @returns A new array.
   */
  sorted(): string[] {
    return [...this.#heap].sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  }

  #up(index: number): void {
    const heap = this.#heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent] >= heap[index]) return;
      [heap[parent], heap[index]] = [heap[index], heap[parent]];
      index = parent;
    }
  }

  #down(index: number): void {
    const heap = this.#heap;
    while (true) {
      const left = 2 * index + 1;
      const right = left + 1;
      let largest = index;
      if (left < heap.length && heap[left] > heap[largest]) largest = left;
      if (right < heap.length && heap[right] > heap[largest]) largest = right;
      if (largest === index) return;
      [heap[largest], heap[index]] = [heap[index], heap[largest]];
      index = largest;
    }
  }
}
