/// <reference lib="dom" />
/**
 * The upload page in Chromium, served next to the files API as
 * `fileurls serve` mounts it (`/v1` the route over a folder, `/` the page):
 * a person saves the API key, picks two files, watches them go (the larger
 * in parts, its progress advancing per part), copies a link, cancels an
 * upload, and sees a refused key in plain words; under a strict CSP that
 * the page never violates.
 *
 * `FILEURLS_PAGE_SCREENSHOT=docs/upload-page.png` also writes a screenshot
 * of the page mid-upload (`deno task screenshot:page`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { filesRoute, fsStorage } from "../../src/hono/mod.ts";
import { uploadPage } from "../../src/cli/_page.ts";
import {
  type Browser,
  browserRequired,
  findChromium,
  GET_CHROMIUM,
  launchChromium,
} from "./_browser.ts";
import { serveApp, type Served } from "../_serve.ts";
import { bytes, sha256 } from "../_data.ts";

const API_KEY = "page-api-key";
const SECRET = "page-secret-0123456789abcdef-0123456789";
/** The part size the page asks for, and the route's smallest. */
const PART = 64 * 1024;

/** Part `PUT`s past `after` wait until `release()`. */
interface Hold {
  after: number;
  seen: number;
  held: number;
  /** Once released, the parts held are refused (503), not stored. */
  refuse?: boolean;
  release(): void;
  open: Promise<void>;
}

function hold(after: number): Hold {
  let release!: () => void;
  const open = new Promise<void>((done) => release = done);
  return { after, seen: 0, held: 0, release, open };
}

/** One item of the page's list of uploads, as the page shows it. */
interface Shown {
  name: string;
  status: string;
  value: number;
  max: number;
  href?: string;
}

async function shown(browser: Browser): Promise<Shown[]> {
  return await browser.page.$$eval("#uploads li", (items) =>
    items.map((li) => {
      const bar = li.querySelector("progress")!;
      return {
        name: li.querySelector(".name")!.textContent!,
        status: li.querySelector(".status")!.textContent!,
        value: bar.value,
        max: bar.max,
        href: li.querySelector("a")?.href,
      };
    }));
}

/** Waits until the item named `name` shows a status matching `pattern`. */
async function waitForStatus(
  browser: Browser,
  name: string,
  pattern: RegExp,
): Promise<void> {
  await browser.page.waitForFunction(
    ({ name, source }) =>
      [...document.querySelectorAll("#uploads li")].some((li) =>
        li.querySelector(".name")?.textContent === name &&
        new RegExp(source).test(li.querySelector(".status")!.textContent!)
      ),
    { name, source: pattern.source },
    { timeout: 20_000 },
  );
}

/** Checks that a download link serves exactly `data`. */
async function assertServes(href: string, data: Uint8Array): Promise<void> {
  const res = await fetch(href);
  assert.equal(res.status, 200);
  assert.equal(
    await sha256(new Uint8Array(await res.arrayBuffer())),
    await sha256(data),
  );
}

/** What the page keeps in `localStorage` to resume uploads, if anything. */
async function keptUploads(browser: Browser): Promise<string | null> {
  return await browser.page.evaluate(() =>
    localStorage.getItem("fileurls.uploads")
  );
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) =>
    relative(dir, join(e.parentPath, e.name))
  ).sort();
}

const chromium = findChromium();
const skip = chromium.path === undefined && !browserRequired()
  ? `${chromium.why}; ${GET_CHROMIUM}`
  : false;
if (skip) console.warn(`Skipping the Chromium tests: ${skip}`);

describe("the upload page in Chromium", { skip }, () => {
  let browser: Browser;
  let served: Served;
  let dir: string;
  /** Files the page is given by path. */
  let sources: string;
  let gate: Hold | undefined;
  /** `METHOD path` of every request to the API. */
  const requests: string[] = [];
  /** How many part `PUT`s have come so far. */
  const partPuts = () =>
    requests.filter((r) => /^PUT \/v1\/files\/uploads\/.*\/parts\//.test(r))
      .length;
  /** Part `PUT`s the route has not answered yet. */
  let partsInFlight = 0;
  /**
   * While set, part `PUT`s of this number are refused with a 400, once
   * parts 1 and 2 are stored (so that the failure cannot stop them first).
   */
  let refusePart: number | undefined;
  /** Part numbers stored, by path of their upload. */
  const storedParts = new Map<string, Set<number>>();
  /** CSP violations the page reported, and its console's errors. */
  const violations: string[] = [];
  const errors: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fileurls-page-"));
    sources = await mkdtemp(join(tmpdir(), "fileurls-page-sources-"));
    const app = new Hono();
    app.use("/v1/*", async (c, next) => {
      const path = new URL(c.req.url).pathname;
      requests.push(`${c.req.method} ${path}`);
      const part = c.req.method === "PUT" && /\/parts\/\d+$/.test(path);
      if (part) partsInFlight++;
      try {
        if (part && path.endsWith(`/parts/${refusePart}`)) {
          const upload = path.replace(/\/parts\/\d+$/, "");
          for (let i = 0; i < 500; i++) {
            const stored = storedParts.get(upload);
            if (stored?.has(1) && stored.has(2)) break;
            await new Promise((done) => setTimeout(done, 20));
          }
          return c.json({
            error: { type: "invalid_request", message: "refused here" },
          }, 400);
        }
        if (part && gate) {
          const current = gate;
          if (++current.seen > current.after) {
            current.held++;
            await current.open;
            if (current.refuse) {
              return c.json({
                error: { type: "unavailable", message: "held, then refused" },
              }, 503);
            }
          }
        }
        await next();
        if (part && c.res.ok) {
          const upload = path.replace(/\/parts\/\d+$/, "");
          const stored = storedParts.get(upload) ?? new Set<number>();
          stored.add(Number(path.split("/").pop()));
          storedParts.set(upload, stored);
        }
      } finally {
        if (part) partsInFlight--;
      }
    });
    // As `fileurls serve` mounts them.
    app.route(
      "/v1",
      filesRoute({
        storage: fsStorage({ dir }),
        secret: SECRET,
        apiKeys: [API_KEY],
        partSize: PART,
        minPartSize: PART,
      }),
    );
    app.route("/", uploadPage({ partSize: PART }));
    served = await serveApp(app);
    browser = await launchChromium(chromium);
    const { page } = browser;
    await page.setViewportSize({ width: 760, height: 620 });
    await page.context().grantPermissions(
      ["clipboard-read", "clipboard-write"],
      { origin: served.url },
    );
    await page.addInitScript(() => {
      const seen: string[] = [];
      (globalThis as { cspViolations?: string[] }).cspViolations = seen;
      document.addEventListener("securitypolicyviolation", (event) => {
        seen.push(`${event.violatedDirective}: ${event.blockedURI}`);
      });
    });
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
  });

  after(async () => {
    gate?.release();
    await browser?.close();
    await served?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (sources) await rm(sources, { recursive: true, force: true });
  });

  /** Reads the CSP violations the page saw so far into `violations`. */
  async function collectViolations(): Promise<void> {
    violations.push(
      ...await browser.page.evaluate(() =>
        (globalThis as { cspViolations?: string[] }).cspViolations!.splice(0)
      ),
    );
  }

  test("answers the page with a strict CSP, and asks for the API key before any file", async () => {
    const { page } = browser;
    const response = await page.goto(`${served.url}/`);
    assert.equal(response?.status(), 200);
    const headers = response!.headers();
    const csp = headers["content-security-policy"];
    assert.match(csp, /(^|; )default-src 'none'(;|$)/);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.equal(headers["x-content-type-options"], "nosniff");
    assert.equal(headers["x-frame-options"], "DENY");
    assert.equal(headers["referrer-policy"], "no-referrer");
    // The script ran: the file input waits for a key.
    await page.waitForFunction(() =>
      document.getElementById("drop")?.getAttribute("aria-disabled") === "true"
    );
    assert.equal(await page.isDisabled("#files"), true);

    await page.getByLabel("API key").fill(API_KEY);
    await page.getByLabel("API key").press("Enter");
    assert.equal(await page.isEnabled("#files"), true);
    assert.equal(
      await page.evaluate(() => localStorage.getItem("fileurls.apiKey")),
      API_KEY,
    );
    // The key stays across a reload.
    await page.reload();
    await page.waitForFunction(() =>
      !(document.getElementById("files") as HTMLInputElement).disabled
    );
    assert.equal(await page.isVisible("#key-form"), false);
    assert.equal(await page.isVisible("text=Forget the key"), true);
  });

  test("uploads two picked files, the larger in parts with progress per acknowledged part, and the links serve the same bytes", async () => {
    const { page } = browser;
    const small = bytes(10_000, 3);
    const large = bytes(PART * 4 + 123, 4);
    // Every value each progress bar takes.
    await page.evaluate(() => {
      const values: Record<string, number[]> = {};
      (globalThis as { progressValues?: unknown }).progressValues = values;
      new MutationObserver((records) => {
        for (const record of records) {
          const bar = record.target as HTMLProgressElement;
          const name = bar.closest("li")!.querySelector(".name")!.textContent!;
          (values[name] ??= []).push(bar.value);
        }
      }).observe(document.getElementById("uploads")!, {
        subtree: true,
        attributes: true,
        attributeFilter: ["value"],
      });
    });
    // Two parts go; the other three wait, for a look at the page mid-upload.
    gate = hold(2);
    await page.setInputFiles("#files", [
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(small) },
      {
        name: "video.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(large),
      },
    ]);
    await waitForStatus(browser, "notes.txt", /^Uploaded/);
    await waitForStatus(browser, "video.bin", /^Uploading: 49%/);
    const screenshot = process.env.FILEURLS_PAGE_SCREENSHOT;
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    gate.release();
    await waitForStatus(browser, "video.bin", /^Uploaded/);

    const items = await shown(browser);
    assert.deepEqual(items.map((i) => [i.name, i.value, i.max]), [
      ["notes.txt", small.length, small.length],
      ["video.bin", large.length, large.length],
    ]);
    const values = await page.evaluate(() =>
      (globalThis as { progressValues?: Record<string, number[]> })
        .progressValues!
    );
    const between = [...new Set(values["video.bin"])].filter((v) =>
      v > 0 && v < large.length
    ).sort((a, b) => a - b);
    // One value per part acknowledged before the last: 1 to 4 parts' bytes,
    // whichever parts they were.
    assert.equal(between.length, 4, String(between));
    for (const value of between) {
      assert.ok(value % PART === 0 || value % PART === 123, String(between));
    }
    assert.equal(values["video.bin"].at(-1), large.length);
    assert.equal(
      requests.filter((r) => /^PUT \/v1\/files\/uploads\/.*\/parts\//.test(r))
        .length,
      5,
    );

    for (
      const [item, data] of [[items[0], small], [items[1], large]] as const
    ) {
      assert.ok(item.href?.startsWith(`${served.url}/v1/files/`), item.href);
      const res = await fetch(item.href!);
      assert.equal(res.status, 200);
      assert.equal(
        await sha256(new Uint8Array(await res.arrayBuffer())),
        await sha256(data),
        item.name,
      );
    }
    // Each link is shown, and copied by its button.
    assert.equal(
      await page.getByRole("link", { name: "Download link of notes.txt" })
        .textContent(),
      items[0].href,
    );
    await page.getByRole("button", {
      name: "Copy the download link of video.bin",
    }).click();
    assert.equal(
      await page.evaluate(() => navigator.clipboard.readText()),
      items[1].href,
    );
  });

  test("cancels an upload in parts: the client deletes it at the API, and nothing stays stored", async () => {
    const { page } = browser;
    const before = await filesUnder(dir);
    const deletes = requests.filter((r) => r.startsWith("DELETE ")).length;
    gate = hold(0);
    await page.setInputFiles("#files", [
      {
        name: "big.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(bytes(PART * 5, 6)),
      },
    ]);
    await page.waitForFunction(() =>
      /^Uploading: 0%/.test(
        document.querySelector("#uploads li:last-child .status")?.textContent ??
          "",
      )
    );
    while (gate.held < 1) await new Promise((done) => setTimeout(done, 20));
    await page.getByRole("button", { name: "Cancel the upload of big.bin" })
      .click();
    await waitForStatus(browser, "big.bin", /^Canceled/);
    gate.release();
    assert.equal(
      requests.filter((r) => r.startsWith("DELETE /v1/files/uploads/")).length,
      deletes + 1,
    );
    const [item] = (await shown(browser)).filter((i) => i.name === "big.bin");
    assert.equal(item.href, undefined);
    assert.equal(
      await page.isVisible(
        "role=button[name='Cancel the upload of big.bin']",
      ),
      false,
    );
    // The held parts end too; then the folder holds what it held before.
    for (let i = 0; i < 100; i++) {
      if ((await filesUnder(dir)).join() === before.join()) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    assert.deepEqual(await filesUnder(dir), before);
  });

  test("picked again after a reload, a file sent in parts resumes: only the parts the server lacks go", async () => {
    const data = bytes(PART * 5 + 7, 8);
    const path = join(sources, "film.bin");
    await writeFile(path, data);
    // Two parts of six go (40 % but 7 bytes); the others wait, and the page
    // is reloaded.
    gate = hold(2);
    try {
      await resumeAfterReload(data, path);
    } finally {
      gate?.release();
      gate = undefined;
    }
  });

  async function resumeAfterReload(
    data: Uint8Array,
    path: string,
  ): Promise<void> {
    const { page } = browser;
    await page.setInputFiles("#files", path);
    await waitForStatus(browser, "film.bin", /^Uploading: 39%/);
    const kept = JSON.parse(await keptUploads(browser) ?? "{}");
    assert.equal(Object.keys(kept).length, 1, JSON.stringify(kept));
    const { url } = Object.values(kept)[0] as { url: string };
    assert.ok(url.startsWith(`${served.url}/v1/files/uploads/`), url);
    // Leaving the page while it uploads asks first.
    assert.equal(
      await page.evaluate(() => {
        const event = new Event("beforeunload", { cancelable: true });
        dispatchEvent(event);
        return event.defaultPrevented;
      }),
      true,
    );
    page.once("dialog", (dialog) => dialog.accept());
    await page.reload();
    // The parts held when the page went are not stored: a server may have
    // their bodies whole, the page no longer.
    gate!.refuse = true;
    gate!.release();
    while (partsInFlight > 0) await new Promise((done) => setTimeout(done, 20));
    const status = await (await fetch(url)).json();
    const stored = status.parts.length;
    assert.equal(stored, 2, JSON.stringify(status));
    const before = partPuts();

    // Picked again: it says it resumes, and sends the rest only.
    gate = hold(0);
    await page.setInputFiles("#files", path);
    await waitForStatus(browser, "film.bin", /^Resuming: /);
    gate.release();
    await waitForStatus(browser, "film.bin", /^Uploaded/);
    assert.equal(partPuts() - before, 6 - stored);
    const [item] = await shown(browser);
    await assertServes(item.href!, data);
    // Done: nothing is kept to resume.
    assert.equal(await keptUploads(browser), null);
  }

  test("a file whose upload failed midway says it can resume, and does when picked again", async () => {
    const { page } = browser;
    const data = bytes(PART * 4, 10);
    const path = join(sources, "failed.bin");
    await writeFile(path, data);
    const before = partPuts();
    const logged = errors.length;
    refusePart = 3;
    try {
      await page.setInputFiles("#files", path);
      await waitForStatus(
        browser,
        "failed.bin",
        /^The server refused the upload\. Pick the file again to resume: the parts sent are kept\.$/,
      );
    } finally {
      refusePart = undefined;
    }
    // The refused part's 400, as the browser logs it.
    assert.deepEqual(errors.splice(logged), [
      "Failed to load resource: the server responded with a status of 400 (Bad Request)",
    ]);
    const kept = Object.entries(JSON.parse(await keptUploads(browser) ?? "{}"))
      .filter(([key]) => JSON.parse(key)[1] === "failed.bin")
      .map(([, value]) => value);
    assert.equal(kept.length, 1);
    // Parts 1 and 2 were stored before part 3 was refused (4 too, unless the
    // failure stopped it first); picked again, only the others go.
    while (partsInFlight > 0) await new Promise((done) => setTimeout(done, 20));
    const { url } = kept[0] as { url: string };
    const { parts } = await (await fetch(url)).json();
    const stored = parts.map((p: { number: number }) => p.number);
    assert.ok([1, 2].every((n) => stored.includes(n)), String(stored));
    assert.ok(!stored.includes(3), String(stored));
    const first = partPuts() - before;
    await page.setInputFiles("#files", path);
    await waitForStatus(browser, "failed.bin", /^Uploaded/);
    assert.equal(partPuts() - before - first, 4 - stored.length);
    const item = (await shown(browser)).filter((i) => i.name === "failed.bin")
      .at(-1)!;
    await assertServes(item.href!, data);
    assert.equal(await keptUploads(browser), null);
  });

  test("starts over when the upload kept to resume is gone", async () => {
    const { page } = browser;
    const data = bytes(PART * 3, 9);
    const path = join(sources, "gone.bin");
    await writeFile(path, data);
    const { mtimeMs } = await stat(path);
    // An upload the page once kept, which the server no longer has.
    await page.evaluate(
      ({ key, url }) =>
        localStorage.setItem(
          "fileurls.uploads",
          JSON.stringify({ [key]: { url, at: Date.now() } }),
        ),
      {
        key: JSON.stringify([
          `${served.url}/v1`,
          "gone.bin",
          data.length,
          Math.trunc(mtimeMs),
        ]),
        url: `${served.url}/v1/files/uploads/${"A".repeat(22)}?sig=x`,
      },
    );
    const logged = errors.length;
    // It says it uploads, not that it resumes, while its parts wait.
    gate = hold(0);
    try {
      await page.setInputFiles("#files", path);
      await waitForStatus(browser, "gone.bin", /^Uploading: 0%/);
    } finally {
      gate.release();
      gate = undefined;
    }
    await waitForStatus(browser, "gone.bin", /^Uploaded/);
    // The browser logs the kept upload's answer itself.
    assert.deepEqual(errors.splice(logged), [
      "Failed to load resource: the server responded with a status of 403 (Forbidden)",
    ]);
    const item = (await shown(browser)).find((i) => i.name === "gone.bin")!;
    await assertServes(item.href!, data);
    assert.equal(await keptUploads(browser), null);
  });

  test("says in plain words that the server refused the key, and a forgotten key is asked for again", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Forget the key" }).click();
    assert.equal(
      await page.evaluate(() => localStorage.getItem("fileurls.apiKey")),
      null,
    );
    assert.equal(await page.isDisabled("#files"), true);
    await page.getByLabel("API key").fill("not-the-key");
    await page.getByRole("button", { name: "Save key" }).click();
    const before = await filesUnder(dir);
    await page.setInputFiles("#files", [
      {
        name: "refused.txt",
        mimeType: "text/plain",
        buffer: Buffer.from(bytes(100)),
      },
    ]);
    await waitForStatus(
      browser,
      "refused.txt",
      /^The server refused the API key/,
    );
    const detail = await page.locator("#uploads li:last-child .hint")
      .textContent();
    assert.match(detail!, /^Cannot upload "refused\.txt".*401/);
    assert.deepEqual(await filesUnder(dir), before);
  });

  test("reported no CSP violation and no error in the console", async () => {
    await collectViolations();
    assert.deepEqual(violations, []);
    // The refused key's 401 is the only error the browser logs itself.
    assert.deepEqual(
      errors.filter((e) => !/status of 401/.test(e)),
      [],
    );
  });
});
