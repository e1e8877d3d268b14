/**
 * Chromium for the browser tests: the Debian package driven by
 * `playwright-core`, launched headless with a fresh profile folder, and the
 * client bundled for browsers with esbuild.
 *
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where `apt-get install chromium` puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** A running Chromium with one page. */
export interface Browser {
  page: Page;
  close(): Promise<void>;
}

/**
 * Launches Chromium headless with a fresh profile.
 *
 * @returns Its first page and `close()`, which also removes the profile.
 */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "fileurls-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
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
