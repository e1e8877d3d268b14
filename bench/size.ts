/**
 * The size a web app pays for an upload client: each entry point bundled for
 * browsers with esbuild (everything it imports included, minified), then
 * gzipped. fileurls' client (`mod.ts`, media-type inference included) next
 * to the npm packages of other upload clients, measured in the same run.
 *
 * Where fileurls' own bundle is over its target, the script tells which
 * modules weigh most: minified bytes per input (esbuild's metafile) and
 * each module's code gzipped alone; and, measured in the same run, the
 * client without the media-type table and the client of a commit
 * (`git archive`; `--base REV`, default `HEAD`), when there is one.
 *
 * ```sh
 * deno run -A bench/size.ts   # or: bun bench/size.ts
 * deno run -A bench/size.ts --base fb24230   # next to an older commit
 * ```
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The target for fileurls' client, min+gzip. */
const TARGET = 7 * 1024;

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

/** Replaces the media-type table (`src/_media_types.ts`) with an empty one. */
const NO_TYPES: esbuild.Plugin = {
  name: "no-types",
  setup(build) {
    build.onResolve({ filter: /(^|\/)_media_types\.ts$/ }, () => ({
      path: "_media_types.ts",
      namespace: "no-types",
    }));
    build.onLoad(
      { filter: /.*/, namespace: "no-types" },
      () => ({ contents: 'export const MEDIA_TYPES = "";', loader: "js" }),
    );
  },
};

async function measure(
  name: string,
  version: string,
  entry: { file: string } | { source: string },
  plugins: esbuild.Plugin[] = [],
): Promise<Measure> {
  const result = await esbuild.build({
    plugins,
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

/**
 * Each module's code gzipped alone: the bundle with syntax and names
 * minified, cut at esbuild's `// path` comments, each piece then minified
 * and gzipped by itself. The pieces add up to more than the whole, which
 * gzip compresses across modules, but they rank the modules.
 */
async function gzippedByModule(file: string): Promise<Map<string, number>> {
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minifySyntax: true,
    minifyIdentifiers: true,
    write: false,
    logLevel: "error",
  });
  const sizes = new Map<string, number>();
  // The bundle's final `export { … }` names what other pieces declare.
  const text = result.outputFiles[0].text.replace(
    /^export\s*\{[^}]*\};?\s*$/m,
    "",
  );
  const pieces = text.split(/^\/\/ (\S+)\n/m);
  for (let i = 1; i < pieces.length; i += 2) {
    const code = (await esbuild.transform(pieces[i + 1], {
      minifyWhitespace: true,
      loader: "js",
      format: "esm",
    })).code;
    sizes.set(pieces[i], gzipSync(code, { level: 9 }).byteLength);
  }
  return sizes;
}

/** The client as of a commit (`--base REV`, default `HEAD`), if this is a git checkout. */
async function atCommit(version: string): Promise<Measure | undefined> {
  const args = process.argv.slice(2);
  const index = args.indexOf("--base");
  const base = index === -1 ? "HEAD" : args[index + 1];
  const dir = join(ROOT, ".tmp", "size-head");
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync("git", ["archive", base, "mod.ts", "src"], {
      cwd: ROOT,
      maxBuffer: 1 << 28,
    });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    const commit = execFileSync("git", ["rev-parse", "--short", base], {
      cwd: ROOT,
    }).toString().trim();
    const label = commit.startsWith(base) ? commit : `${commit} (${base})`;
    return await measure(`fileurls at ${label}`, version, {
      file: join(dir, "mod.ts"),
    });
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

const withoutTypes = await measure(
  "fileurls (mod.ts) without the media-type table",
  own.version,
  { file: join(ROOT, "mod.ts") },
  [NO_TYPES],
);
const head = await atCommit(own.version);
const byModule = await gzippedByModule(join(ROOT, "mod.ts"));
await esbuild.stop();

const rows = [
  ...results.slice(0, 1),
  withoutTypes,
  ...(head ? [head] : []),
  ...results.slice(1),
].map((r) => [
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
console.log(
  `\nfileurls (mod.ts) by input: minified bytes, and gzipped alone:`,
);
for (const [file, bytes] of parts) {
  const gzipped = byModule.get(file);
  console.log(
    `  ${String(bytes).padStart(6)}  ${
      (gzipped === undefined ? "" : String(gzipped)).padStart(6)
    }  ${relative(ROOT, join(ROOT, file))}`,
  );
}
const smallest = Math.min(...results.slice(1).map((r) => r.gzipped));
const over = ours.gzipped - TARGET;
console.log(
  `\nfileurls: ${kb(ours.gzipped)} min+gzip; target: under ${kb(TARGET)} (${
    over < 0 ? `met, ${kb(-over)} to spare` : `missed by ${kb(over)}`
  }) and under the smallest other (${kb(smallest)}: ${
    ours.gzipped < smallest ? "met" : "missed"
  })`,
);
process.exitCode = 0;
