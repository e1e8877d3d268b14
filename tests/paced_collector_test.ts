/** `pacedCollector()`: how often a server's garbage collections may come. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pacedCollector } from "../src/_runtime.ts";

/** A collection that takes `ms` of busy time, counted. */
function slowCollection(ms: number) {
  const calls: number[] = [];
  return {
    calls,
    collect() {
      const start = performance.now();
      while (performance.now() - start < ms) {
        // Busy, as a collection is.
      }
      calls.push(start);
    },
  };
}

describe("pacedCollector()", () => {
  test("collects once every so many bytes", async () => {
    // 1 ms a collection, half the time: the next may come 2 ms later.
    const gc = slowCollection(1);
    const count = pacedCollector(100, 0.5, gc.collect);
    count(60);
    assert.equal(gc.calls.length, 0);
    count(40);
    assert.equal(gc.calls.length, 1);
    await new Promise((done) => setTimeout(done, 10));
    count(99);
    assert.equal(gc.calls.length, 1);
    count(1);
    assert.equal(gc.calls.length, 2);
  });

  test("takes at most its share of the time: a slow collection puts off the next", async () => {
    // 20 ms a collection, a quarter of the time: the next no sooner than
    // 80 ms after one ends, however many bytes come.
    const gc = slowCollection(20);
    const count = pacedCollector(10, 0.25, gc.collect);
    count(10);
    assert.equal(gc.calls.length, 1);
    for (let i = 0; i < 5; i++) count(1_000);
    assert.equal(gc.calls.length, 1, "too soon");
    await new Promise((done) => setTimeout(done, 100));
    count(10);
    assert.equal(gc.calls.length, 2, "in time again");
  });
});
