/**
 * Chromium for the browser tests: found where it usually lives, driven by
 * `playwright-core`, launched headless with a fresh profile folder; and the
 * client bundled for browsers with esbuild.
 *
 * @module
 */
import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Linux packages put Chromium or Chrome, in the order tried. */
const SYSTEM_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/** How to get a browser, for the messages that say none was found. */
export const GET_CHROMIUM =
  "install one with `apt-get install chromium`, or set CHROMIUM=/path/to/chrome";

/** Where the browser is, or why there is none. */
export type ChromiumSearch = { path: string } | {
  path?: undefined;
  why: string;
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where playwright keeps the browsers it downloads. */
function playwrightCache(): string {
  return process.env.PLAYWRIGHT_BROWSERS_PATH ||
    join(homedir(), ".cache", "ms-playwright");
}

/** Chromium builds in playwright's cache, newest first. */
function playwrightChromiums(): string[] {
  const cache = playwrightCache();
  let entries: string[];
  try {
    entries = readdirSync(cache);
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^chromium-\d+$/.test(name))
    .sort((a, b) => Number(b.slice(9)) - Number(a.slice(9)))
    .flatMap((name) => [
      join(cache, name, "chrome-linux", "chrome"),
      join(cache, name, "chrome-linux64", "chrome"),
    ]);
}

/**
 * Finds a Chromium to run: the one `CHROMIUM` names if it is set, else the
 * first of `/usr/bin/chromium`, `/usr/bin/chromium-browser`,
 * `/usr/bin/google-chrome`, `/usr/bin/google-chrome-stable`, else the newest
 * in playwright's cache (`~/.cache/ms-playwright/chromium-*`).
 *
 * @returns Its path, or why there is none.
 */
export function findChromium(): ChromiumSearch {
  const named = process.env.CHROMIUM;
  if (named) {
    return isExecutable(named)
      ? { path: named }
      : { why: `CHROMIUM=${named} is not an executable file` };
  }
  const path = [...SYSTEM_PATHS, ...playwrightChromiums()].find(isExecutable);
  return path === undefined
    ? {
      why: `no Chromium found: CHROMIUM is not set, and none is at ${
        SYSTEM_PATHS.join(", ")
      } or in ${join(playwrightCache(), "chromium-*")}`,
    }
    : { path };
}

/**
 * Whether the browser tests must run rather than be skipped for want of a
 * browser: under CI (`CI` set, as CI services do) or when
 * `FILEURLS_REQUIRE_BROWSER=1` (as `.ci/run` sets).
 */
export function browserRequired(): boolean {
  const on = (value: string | undefined) =>
    value !== undefined && !["", "0", "false"].includes(value.toLowerCase());
  return on(process.env.FILEURLS_REQUIRE_BROWSER) || on(process.env.CI);
}

/** A running Chromium with one page. */
/**
 * A host name that Chromium resolves to 127.0.0.1: pages served from it
 * over `http:` are not secure contexts, and have no `crypto.subtle`.
 */
export const INSECURE_HOST = "fileurls.test";

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

/**
 * Launches Chromium headless with a fresh profile.
 *
 * @param search Where the browser is, from {@linkcode findChromium}.
 * @returns Its first page and `close()`, which also removes the profile.
 * @throws {Error} When there is no browser.
 */
export async function launchChromium(search: ChromiumSearch): Promise<Browser> {
  if (search.path === undefined) {
    const required = browserRequired()
      ? " (CI or FILEURLS_REQUIRE_BROWSER asks for the browser tests)"
      : "";
    throw new Error(
      `Cannot launch Chromium${required}: ${search.why}; ${GET_CHROMIUM}`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), "fileurls-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: search.path,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // A name for loopback that is not "localhost": a page served from
        // it over http: is no secure context, as one from another machine.
        `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
      ],
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? await context.newPage();
  return {
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Bundles the client entry point (`mod.ts`) into one ES module for browsers,
 * as a web app's bundler would.
 *
 * @returns The module's source.
 */
export async function bundleClient(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL("../../mod.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  return result.outputFiles[0].text;
}
