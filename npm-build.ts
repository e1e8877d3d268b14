/**
 * Builds the npm package `fileurls` into `npm/` from the JSR sources, then
 * runs the test suite against the packed tarball on Node, dnt-style.
 *
 * ```sh
 * deno run -A npm-build.ts            # or: bun npm-build.ts
 * deno run -A npm-build.ts --no-test  # build, lint and pack only
 * deno run -A npm-build.ts --types-only  # only tsc's declarations (deno task check)
 * deno run -A npm-build.ts --junit-dir .tmp/reports  # JUnit per Node version
 * deno run -A npm-build.ts --ignore cli/cli_test.ts  # leave a test out
 * ```
 *
 * Steps: bundle each `deno.json` export to ESM with esbuild (dependencies
 * external, shared code split into chunks), emit `.d.ts` with `tsc`, write
 * `npm/package.json` from `deno.json`, copy README.md and LICENSE, check the
 * package with publint and attw, pack it, install the tarball into a scratch
 * project, transpile every `*_test.ts` under `tests/` with the public entry
 * points rewritten to the package's name, and run them with `node --test`
 * under the system Node (the first `node` on PATH, which must be Node 20) and
 * the Node 22 from `node_modules`. The workerd and
 * Chromium suites (`tests/runtimes/`) are left out: they do not run on Node
 * against the package, and `.ci/test` runs them on their own.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = dirname(fileURLToPath(import.meta.url));
const OUT = join(ROOT, "npm");
const SCRATCH = join(ROOT, ".tmp", "npm-test");
const BIN = join(ROOT, "node_modules", ".bin");
const NAME = "fileurls";
/**
 * The oldest Node taken: 20.16 has `process.getBuiltinModule`, through which
 * the runtime-neutral core reaches `node:fs`, `node:http` and `node:crypto`
 * without importing them (file paths, parts and checksums need them).
 */
const NODE_ENGINES = ">=20.16";
/** Dependencies that only some entry points need: optional peers. */
const PEERS = new Set(["hono"]);

const args = process.argv.slice(2);
const runTests = !args.includes("--no-test");
/** Only the declarations: `tsc` is stricter than `deno check` in places. */
const typesOnly = args.includes("--types-only");
const junitDir = valueOf("--junit-dir");
/**
 * Test files to leave out besides the runtime suites, e.g.
 * `--ignore storage/s3_test.ts,cli_test.ts`.
 */
const ignored: string[] = args.includes("--ignore")
  ? args[args.indexOf("--ignore") + 1].split(",").filter((name) => name)
  : [];

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

const deno: DenoJson = JSON.parse(
  readFileSync(join(ROOT, "deno.json"), "utf8"),
);
/** `"."` → `"mod"`, `"./hono"` → `"hono"`, `"./s3"` → `"s3"`. */
function outName(key: string): string {
  return key === "." ? "mod" : key.slice(2).replaceAll("/", "_");
}

/** `"./mod.ts"` → `"./types/mod.d.ts"`. */
function typesPath(source: string): string {
  return "./" + join("types", source.replace(/\.ts$/, ".d.ts"));
}

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : resolve(args[i + 1]);
}

function step(title: string): void {
  console.log(`\n== ${title}`);
}

function run(
  command: string,
  argv: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): number {
  const result = spawnSync(command, argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: "inherit",
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(command: string, argv: string[], cwd?: string): void {
  const status = run(command, argv, { cwd });
  if (status !== 0) {
    throw new Error(
      `Cannot build the npm package: ${command} ${
        argv.join(" ")
      } exited with ${status}`,
    );
  }
}

/**
 * The first `node` on PATH outside `node_modules/.bin`: the machine's own
 * Node, or `undefined` when there is none.
 */
function systemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || resolve(dir) === BIN) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** What `node --version` says, e.g. `v20.19.0`, or why it says nothing. */
function nodeVersion(node: string): string {
  const result = spawnSync(node, ["--version"], { encoding: "utf8" });
  if (result.error) return `unknown (${result.error.message})`;
  return result.stdout.trim() || `unknown (exit ${result.status})`;
}

/** npm package ranges from the import map, e.g. `"npm:mime@^4"` → `^4`. */
function dependencyRanges(): Map<string, string> {
  const ranges = new Map<string, string>();
  for (const [key, target] of Object.entries(deno.imports)) {
    if (key.endsWith("/")) continue;
    const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target);
    if (!match) {
      throw new Error(
        `Cannot build the npm package: import map entry "${key}" is not an npm: specifier: ${target}`,
      );
    }
    ranges.set(match[1], match[2]);
  }
  return ranges;
}

/** The package name of a bare specifier: `"hono/cors"` → `"hono"`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

async function bundle(): Promise<Set<string>> {
  step("bundle with esbuild");
  const entryPoints: Record<string, string> = {};
  for (const [key, source] of Object.entries(deno.exports)) {
    const file = join(ROOT, source);
    if (!existsSync(file)) {
      throw new Error(
        `Cannot build the npm package: deno.json export "${key}" points to ${source}, which does not exist`,
      );
    }
    entryPoints[outName(key)] = file;
  }
  const result = await esbuild.build({
    entryPoints,
    outdir: join(OUT, "esm"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    packages: "external",
    chunkNames: "_chunk-[hash]",
    metafile: true,
    logLevel: "warning",
  });
  const externals = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (external && !path.startsWith("node:")) externals.add(packageOf(path));
    }
  }
  const cli = deno.exports["./cli"] ? join(OUT, "esm", "cli.js") : undefined;
  if (cli) {
    writeFileSync(cli, "#!/usr/bin/env node\n" + readFileSync(cli, "utf8"));
  }
  for (const file of Object.keys(result.metafile.outputs).sort()) {
    console.log(`  ${file}`);
  }
  return externals;
}

function declarations(): void {
  step("emit declarations with tsc");
  const node = "Bun" in globalThis
    ? process.execPath
    : systemNode() ?? join(BIN, "node");
  must(node, [
    join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    "--declaration",
    "--emitDeclarationOnly",
    "--allowImportingTsExtensions",
    "--rewriteRelativeImportExtensions",
    "--strict",
    "--skipLibCheck",
    "--target",
    "es2022",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--lib",
    "es2022,dom,dom.iterable",
    "--types",
    "node",
    "--rootDir",
    ROOT,
    "--outDir",
    join(OUT, "types"),
    ...Object.values(deno.exports).map((source) => join(ROOT, source)),
  ]);
  // tsc keeps relative `.ts` specifiers in declarations; the package ships
  // `.d.ts` next to `.js` names, so point them at `.js`.
  for (const file of walk(join(OUT, "types"))) {
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(
      /((?:from\s+|import\()["']\.{1,2}\/[^"']*)\.ts(["'])/g,
      "$1.js$2",
    );
    if (/["']\.{1,2}\/[^"']*\.ts["']/.test(fixed)) {
      throw new Error(
        `Cannot build the npm package: ${
          relative(ROOT, file)
        } still names a .ts file`,
      );
    }
    writeFileSync(file, fixed);
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function manifest(externals: Set<string>): void {
  step("write npm/package.json");
  const ranges = dependencyRanges();
  const dev = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  for (const name of externals) {
    if (ranges.has(name)) continue;
    // A package the sources import but deno.json does not map (Deno then
    // resolves it from package.json): take package.json's range, and say so.
    const range = dev.dependencies?.[name] ?? dev.devDependencies?.[name];
    if (range === undefined) {
      throw new Error(
        `Cannot build the npm package: the bundles import "${name}", which is neither in deno.json imports nor in package.json`,
      );
    }
    console.warn(
      `  warning: "${name}" is not in deno.json imports; using package.json's ${range}`,
    );
    ranges.set(name, range);
  }
  const dependencies: Record<string, string> = {};
  const peerDependencies: Record<string, string> = {};
  const peerDependenciesMeta: Record<string, { optional: true }> = {};
  for (const [name, range] of [...ranges].sort()) {
    if (PEERS.has(name)) {
      peerDependencies[name] = range;
      peerDependenciesMeta[name] = { optional: true };
    } else {
      dependencies[name] = range;
    }
  }
  // ES modules only; `default` lets `require()` load them where Node can
  // (20.19, 22.12 and later), and elsewhere fail with ERR_REQUIRE_ESM rather
  // than with "No exports main defined".
  const exports: Record<
    string,
    { types: string; import: string; default: string }
  > = {};
  for (const [key, source] of Object.entries(deno.exports)) {
    const file = `./esm/${outName(key)}.js`;
    exports[key] = { types: typesPath(source), import: file, default: file };
  }
  const pkg = {
    name: NAME,
    version: deno.version,
    description:
      "Upload files through signed upload and download URLs from Deno, Bun, Node, edge workers and browsers, and serve that API with a Hono route",
    license: deno.license,
    type: "module",
    exports,
    ...(deno.exports["./cli"] ? { bin: { [NAME]: "./esm/cli.js" } } : {}),
    files: ["esm/", "types/", "README.md", "LICENSE"],
    sideEffects: false,
    engines: { node: NODE_ENGINES },
    dependencies,
    peerDependencies,
    peerDependenciesMeta,
    keywords: ["upload", "signed-url", "presigned-url", "s3", "hono", "fetch"],
  };
  writeFileSync(join(OUT, "package.json"), JSON.stringify(pkg, null, 2) + "\n");

  // The package mirrors deno.json key by key, and every file it names exists.
  const written = JSON.parse(readFileSync(join(OUT, "package.json"), "utf8"));
  const want = Object.keys(deno.exports).join(", ");
  const got = Object.keys(written.exports).join(", ");
  if (want !== got) {
    throw new Error(
      `Cannot build the npm package: exports differ from deno.json: ${got} instead of ${want}`,
    );
  }
  for (const [key, target] of Object.entries(written.exports)) {
    for (const path of Object.values(target as Record<string, string>)) {
      if (!existsSync(join(OUT, path))) {
        throw new Error(
          `Cannot build the npm package: export "${key}" names ${path}, which was not built`,
        );
      }
    }
  }
  for (const file of ["README.md", "LICENSE"]) {
    if (existsSync(join(ROOT, file))) {
      copyFileSync(join(ROOT, file), join(OUT, file));
    } else if (file === "LICENSE") {
      throw new Error("Cannot build the npm package: LICENSE is missing");
    } else {
      console.warn(`  warning: ${file} is missing`);
    }
  }
}

function lint(): void {
  step("publint and attw");
  must(join(BIN, "publint"), ["--strict", OUT]);
  must(join(BIN, "attw"), ["--pack", OUT, "--profile", "esm-only"]);
}

function pack(): string {
  step("npm pack");
  const dir = join(ROOT, ".tmp", "npm-pack");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  must("npm", ["pack", "--silent", "--pack-destination", dir], OUT);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("Cannot build the npm package: no tarball");
  console.log(`  ${relative(ROOT, join(dir, tarball))}`);
  return join(dir, tarball);
}

/** Public entry points, rewritten to the package's own name. */
const PUBLIC: Record<string, string> = {};
for (const [key, source] of Object.entries(deno.exports)) {
  PUBLIC[join(ROOT, source)] = key === "." ? NAME : `${NAME}/${key.slice(2)}`;
}

const TESTS = join(ROOT, "tests");

/**
 * Runtime suites that cannot run on Node against the package, left out by
 * default: `.ci/test` runs them on their own (workerd by miniflare, Chromium
 * by playwright-core: `runtimes/browser*_test.ts`). Paths under `tests/`.
 */
const OWN_SUITES = /^runtimes\/(workerd|browser)[^/]*_test\.ts$/;

/**
 * Whether a test file under `tests/` is left out: one of
 * {@linkcode OWN_SUITES}, or named by `--ignore` with its path under `tests/`
 * (`storage/s3_test.ts`, `tests/storage/s3_test.ts`) or its file name alone
 * (`s3_test.ts`).
 */
function isIgnored(path: string): boolean {
  if (OWN_SUITES.test(path)) return true;
  return ignored.some((name) => {
    const wanted = name.replace(/^(\.\/)?tests\//, "");
    return wanted === path ||
      (!wanted.includes("/") && wanted === path.split("/").at(-1));
  });
}

/** Test files and their helpers: `_*.ts` and `*_test.ts`, in any folder. */
function isTestSource(path: string): boolean {
  return /(^|\/)(_[^/]*|[^/]*_test)\.ts$/.test(path);
}

/** Where the transpiled copy of `tests/<path>` goes. */
function scratchPath(path: string): string {
  return join(SCRATCH, path.replace(/\.ts$/, ".mjs"));
}

/** A relative URL from the folder `from` to the file `to`, e.g. `../_x.mjs`. */
function relativeUrl(from: string, to: string): string {
  const path = relative(from, to).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

/**
 * Installs the tarball into `.tmp/npm-test/` and transpiles the tests there,
 * in the folders they have under `tests/`. Dev-only packages the tests use
 * (s3rver, @hono/node-server) resolve from the repository's `node_modules`,
 * one folder up the tree.
 *
 * @returns The test files to run.
 */
async function prepareTests(tarball: string): Promise<string[]> {
  step("install the tarball and transpile the tests");
  rmSync(SCRATCH, { recursive: true, force: true });
  mkdirSync(SCRATCH, { recursive: true });
  writeFileSync(
    join(SCRATCH, "package.json"),
    JSON.stringify({
      name: "fileurls-npm-test",
      private: true,
      type: "module",
    }),
  );
  must("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--no-package-lock",
    tarball,
  ], SCRATCH);

  const files = [...walk(TESTS)]
    .map((file) => relative(TESTS, file).split(sep).join("/"))
    .sort();
  const left = files.filter((file) => isTestSource(file) && isIgnored(file));
  if (left.length > 0) console.log(`  left out: ${left.join(", ")}`);
  const runnable: string[] = [];
  for (const file of files) {
    if (!isTestSource(file)) {
      // Data the tests read, and helpers that run as they are (`.mjs`).
      mkdirSync(dirname(join(SCRATCH, file)), { recursive: true });
      copyFileSync(join(TESTS, file), join(SCRATCH, file));
      continue;
    }
    if (isIgnored(file)) continue;
    const source = join(TESTS, file);
    const outfile = scratchPath(file);
    const internal: string[] = [];
    await esbuild.build({
      entryPoints: [source],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
      plugins: [{
        name: "public-entry-points",
        setup(build) {
          build.onResolve({ filter: /.*/ }, (a) => {
            if (a.kind === "entry-point") return undefined;
            if (!a.path.startsWith(".")) return { external: true };
            const path = resolve(a.resolveDir, a.path);
            if (PUBLIC[path]) return { path: PUBLIC[path], external: true };
            if (!path.startsWith(TESTS + sep)) {
              internal.push(relative(ROOT, path));
              return { external: true };
            }
            return undefined;
          });
          // A helper bundled into a test keeps its own import.meta.url: the
          // place of its transpiled copy, so that the paths it builds from
          // it (other helpers, the repository) resolve as they do in tests/.
          build.onLoad({ filter: /\.ts$/ }, (a) => {
            if (a.path === source || !a.path.startsWith(TESTS + sep)) {
              return undefined;
            }
            const text = readFileSync(a.path, "utf8");
            if (!text.includes("import.meta.url")) return undefined;
            const own = relativeUrl(
              dirname(outfile),
              scratchPath(relative(TESTS, a.path)),
            );
            return {
              contents: text.replaceAll(
                "import.meta.url",
                `new URL(${JSON.stringify(own)}, import.meta.url).href`,
              ),
              loader: "ts",
            };
          });
        },
      }],
    });
    // Helpers started as processes are named in strings: point them at the
    // transpiled files.
    writeFileSync(
      outfile,
      readFileSync(outfile, "utf8").replace(
        /(["'])(\.{1,2}\/(?:[\w.-]+\/)*_\w+)\.ts\1/g,
        "$1$2.mjs$1",
      ),
    );
    if (internal.length > 0) {
      console.log(
        `  not run on Node: ${file} imports ${
          [...new Set(internal)].join(", ")
        }, which the package does not export`,
      );
      rmSync(outfile);
    } else if (file.endsWith("_test.ts")) {
      runnable.push(outfile);
    }
  }
  return runnable;
}

function nodeTests(files: string[], tarball: string): boolean {
  let ok = true;
  const suites: [string, number, string | undefined][] = [
    ["node20", 20, systemNode()],
    ["node22", 22, join(BIN, "node")],
  ];
  for (const [label, major, node] of suites) {
    step(`node --test on ${label} (${node ?? "no node"})`);
    // The suite is named after its Node: it fails rather than run another.
    if (node === undefined) {
      console.error(
        `  Cannot test on Node ${major}: there is no node on PATH (outside node_modules/.bin); install Node ${major}`,
      );
      ok = false;
      continue;
    }
    const version = nodeVersion(node);
    if (!version.startsWith(`v${major}.`)) {
      console.error(
        `  Cannot test on Node ${major}: ${node} is Node ${version}; put a Node ${major} first on PATH`,
      );
      ok = false;
      continue;
    }
    console.log(`  ${version}`);
    const reporters = [
      "--test-reporter=dot",
      "--test-reporter-destination=stdout",
    ];
    if (junitDir) {
      reporters.push(
        "--test-reporter=junit",
        `--test-reporter-destination=${join(junitDir, `${label}.xml`)}`,
      );
    }
    if (junitDir) mkdirSync(junitDir, { recursive: true });
    const status = run(
      node,
      ["--test", "--test-concurrency=1", ...reporters, ...files],
      { cwd: SCRATCH, env: { FILEURLS_NPM_TARBALL: tarball } },
    );
    if (status !== 0) ok = false;
  }
  return ok;
}

async function main(): Promise<number> {
  const started = Date.now();
  step(`clean ${relative(ROOT, OUT)}/`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  try {
    if (typesOnly) {
      declarations();
      return 0;
    }
    const externals = await bundle();
    declarations();
    manifest(externals);
    lint();
    const tarball = pack();
    if (!runTests) return 0;
    const files = await prepareTests(tarball);
    const ok = nodeTests(files, tarball);
    console.log(
      `\nnpm build ${ok ? "passed" : "failed"} in ${
        ((Date.now() - started) / 1000).toFixed(0)
      } s`,
    );
    return ok ? 0 : 1;
  } finally {
    await esbuild.stop();
  }
}

process.exitCode = await main();
