/**
 * A process that starts an upload into `fsStorage({ dir })` and never ends
 * it: it writes one chunk, prints `{"partial": "<folder name>"}` as one JSON
 * line once the bytes are on disk, and waits to be killed.
 *
 * Arguments: the storage folder.
 *
 * @module
 */

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fsStorage } from "../../src/hono/mod.ts";

const dir = process.argv.at(-1)!;
const storage = fsStorage({ dir });
// More than the storage gathers before it writes (512 KiB).
const chunk = new Uint8Array(600 * 1024).fill(7);
const body = new ReadableStream<Uint8Array>({
  start(controller) {
    controller.enqueue(chunk);
  },
});
storage.put("crashed", body, {
  name: "a.bin",
  size: 2 * chunk.byteLength,
  type: "application/octet-stream",
}).catch(() => {});

while (true) {
  const partial = (await readdir(dir).catch(() => [] as string[]))
    .find((name) => name.startsWith(".partial-"));
  const size = partial === undefined
    ? 0
    : await stat(join(dir, partial, "data")).then((s) => s.size, () => 0);
  if (partial !== undefined && size > 0) {
    process.stdout.write(JSON.stringify({ partial }) + "\n");
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
setInterval(() => {}, 1000);
