/**
 * The size a web app pays for an upload client: each entry point bundled for
 * browsers with esbuild (everything it imports included, minified), then
 * gzipped. fileurls' client (`mod.ts`, media-type inference included) next
 * to the npm packages of other upload clients, measured in the same run.
 *
 * ```sh
 * deno run -A bench/size.ts   # or: bun bench/size.ts
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What each client is imported as in a browser app. */
const OTHERS = [
  "@vercel/blob",
  "@fal-ai/client",
  "tus-js-client",
  "uploadthing/client",
  "replicate",
];

interface Measure {
  name: string;
  version: string;
  minified: number;
  gzipped: number;
  metafile: esbuild.Metafile;
}

function versionOf(specifier: string): string {
  const name = specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");
  const file = join(ROOT, "node_modules", name, "package.json");
  return JSON.parse(readFileSync(file, "utf8")).version;
}

async function measure(
  name: string,
  version: string,
  entry: { file: string } | { source: string },
): Promise<Measure> {
  const result = await esbuild.build({
    ...("file" in entry ? { entryPoints: [entry.file] } : {
      stdin: { contents: entry.source, resolveDir: ROOT, loader: "js" },
    }),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const code = result.outputFiles[0].contents;
  return {
    name,
    version,
    minified: code.byteLength,
    gzipped: gzipSync(code, { level: 9 }).byteLength,
    metafile: result.metafile,
  };
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

const own = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
const results: Measure[] = [
  await measure("fileurls (mod.ts)", own.version, {
    file: join(ROOT, "mod.ts"),
  }),
];
for (const specifier of OTHERS) {
  results.push(
    await measure(specifier, versionOf(specifier), {
      source: `export * from ${JSON.stringify(specifier)};`,
    }),
  );
}
await esbuild.stop();

const rows = results.map((r) => [
  r.name,
  r.version,
  kb(r.minified),
  kb(r.gzipped),
]);
const header = ["client", "version", "min", "min+gzip"];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((row) => row[i].length))
);
const line = (cells: string[]) =>
  `| ${
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))
      .join(" | ")
  } |`;
console.log(line(header));
console.log(
  `|${
    widths.map((w, i) => i < 2 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")
      .join("|")
  }|`,
);
for (const row of rows) console.log(line(row));

// Where fileurls' bytes come from: minified bytes per input file.
const [ours] = results;
const output = Object.values(ours.metafile.outputs)[0];
const parts = Object.entries(output.inputs)
  .map(([file, { bytesInOutput }]) => [file, bytesInOutput] as const)
  .sort((a, b) => b[1] - a[1]);
console.log(`\nfileurls (mod.ts), minified bytes by input:`);
for (const [file, bytes] of parts) {
  console.log(
    `  ${String(bytes).padStart(6)}  ${relative(ROOT, join(ROOT, file))}`,
  );
}
const smallest = Math.min(...results.slice(1).map((r) => r.gzipped));
console.log(
  `\nfileurls: ${
    kb(ours.gzipped)
  } min+gzip; target: under 7 KB and under the smallest other (${
    kb(smallest)
  })`,
);
process.exitCode = 0;
