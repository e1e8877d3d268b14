// Counts passed, failed and skipped tests in JUnit reports, one suite per
// report, and prints one line per suite and a total line. Leaf tests only: Deno lists a
// test and its steps as separate cases ("parent > child"), so a case that is
// the parent of another is not counted.
// Usage: node .ci/summarize.mjs NAME REPORT [NAME REPORT ...]
import { existsSync, readFileSync } from "node:fs";

const args = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let broken = false;
for (let i = 0; i < args.length; i += 2) {
  const [name, path] = [args[i], args[i + 1]];
  if (!existsSync(path)) {
    console.log(`${name}: no report (the suite did not run to the end)`);
    broken = true;
    continue;
  }
  const xml = readFileSync(path, "utf8");
  const cases = [...xml.matchAll(
    /<testcase\b[^>]*\bname="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g,
  )].map((m) => ({
    name: m[1],
    failed: /<(failure|error)\b/.test(m[3] ?? ""),
    skipped: /<skipped\b/.test(m[3] ?? ""),
  }));
  const names = new Set(cases.map((c) => c.name));
  const parents = new Set();
  for (const n of names) {
    const parts = n.split(" &gt; ");
    for (let k = 1; k < parts.length; k++) {
      parents.add(parts.slice(0, k).join(" &gt; "));
    }
  }
  const all = cases.filter((c) => !parents.has(c.name));
  const leaves = all.filter((c) => !c.skipped);
  const skips = all.length - leaves.length;
  const bad = leaves.filter((c) => c.failed).length;
  // A crash outside any test (a failing hook, an uncaught error) shows as a
  // failure on a non-leaf case: count it too.
  const extra = cases.filter((c) => parents.has(c.name) && c.failed).length;
  const good = leaves.length - bad;
  const skipNote = skips > 0 ? `, ${skips} skipped` : "";
  console.log(`${name}: ${good} passed, ${bad + extra} failed${skipNote}`);
  passed += good;
  failed += bad + extra;
  skipped += skips;
}
console.log(
  `${passed} passed, ${failed} failed${
    skipped > 0 ? `, ${skipped} skipped` : ""
  }`,
);
process.exit(failed > 0 || broken ? 1 : 0);
