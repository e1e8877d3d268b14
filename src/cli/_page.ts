/**
 * The upload page `fileurls serve` answers at `GET /`: paste the API key
 * once, drop or pick files, watch each one's progress, cancel it, copy its
 * download link. No framework: the client bundled for browsers with the
 * page's own script ({@linkcode PAGE_JS}, built into a module by
 * `deno task build:page`), and a strict Content Security Policy.
 *
 * @module
 */
import { Hono } from "hono";
import { PAGE_JS } from "./_page_assets.ts";

/** Options of {@linkcode uploadPage}. */
export interface UploadPageOptions {
  /**
   * The files API's base URL, as the browser reaches it: absolute, or
   * relative to the page (`"v1"` is `/v1` for the page at `/`). An absolute
   * URL's origin is allowed in `connect-src`.
   *
   * @default {"v1"}
   */
  apiUrl?: string;
  /**
   * Other origins the page sends to: where the storage's upload URLs point,
   * such as an S3 endpoint (`https://bucket.s3.eu-west-1.amazonaws.com`).
   *
   * @default {[]}
   */
  connectOrigins?: string[];
  /**
   * The part size the page's uploads ask for: larger files go in parts of
   * this size, and progress advances per part the API acknowledged.
   *
   * @default {undefined} the client's own (5 MiB)
   */
  partSize?: number;
}

/** The page's styles, served as `page.css`. */
const PAGE_CSS = `:root {
  color-scheme: light dark;
  --accent: #2456c7;
  --border: #8a8f98;
  --muted: #5c6370;
  --error: #b3261e;
  --ok: #1e7a34;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --accent: #8fb1ff;
    --muted: #a7adb8;
    --error: #ffb4ab;
    --ok: #7fd694;
  }
}
body { margin: 0; }
main { max-width: 44rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
input[type="password"] {
  flex: 1 1 16rem; font: inherit; padding: 0.4rem 0.5rem;
  border: 1px solid var(--border); border-radius: 0.35rem;
}
button, .pick {
  font: inherit; padding: 0.35rem 0.8rem; border-radius: 0.35rem;
  border: 1px solid var(--accent); background: transparent; color: var(--accent);
  cursor: pointer;
}
button.primary, .pick { background: var(--accent); color: Canvas; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#key-saved p { margin: 0; }
.drop {
  border: 2px dashed var(--border); border-radius: 0.6rem; padding: 1.5rem 1rem;
  text-align: center;
}
.drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, transparent); }
.drop[aria-disabled="true"] { opacity: 0.55; }
.drop input { position: absolute; width: 1px; height: 1px; opacity: 0; }
.drop input:focus-visible + .pick { outline: 3px solid var(--accent); outline-offset: 2px; }
#uploads { list-style: none; padding: 0; margin: 1rem 0 0; }
.upload {
  border: 1px solid var(--border); border-radius: 0.5rem; padding: 0.6rem 0.8rem;
  margin-bottom: 0.6rem; display: grid; gap: 0.3rem;
}
.upload .head { display: flex; justify-content: space-between; gap: 0.5rem; }
.upload .name { font-weight: 600; overflow-wrap: anywhere; }
.upload .size { color: var(--muted); white-space: nowrap; }
.upload progress { width: 100%; height: 0.8rem; }
.upload p { margin: 0; }
.upload .status { font-size: 0.9rem; }
.upload.failed .status { color: var(--error); }
.upload.done .status { color: var(--ok); }
.upload .link { display: flex; gap: 0.5rem; align-items: center; }
.upload .link a { overflow-wrap: anywhere; font-size: 0.85rem; flex: 1; }
.upload .actions { display: flex; gap: 0.5rem; }
[hidden] { display: none !important; }
`;

/** The page's icon, served as `favicon.svg`: an arrow going up. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#2456c7"/>
<path d="M16 7l-7 8h5v9h4v-9h5z" fill="#fff"/>
</svg>
`;

/** Escapes text for an HTML attribute value in double quotes. */
function attribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(
    /</g,
    "&lt;",
  );
}

function pageHtml(options: UploadPageOptions): string {
  const partSize = options.partSize === undefined
    ? ""
    : ` data-part-size="${options.partSize}"`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload files · fileurls</title>
<link rel="stylesheet" href="page.css">
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<script type="module" src="page.js"></script>
</head>
<body>
<main id="app" data-api="${attribute(options.apiUrl ?? "v1")}"${partSize}>
<h1>Upload files</h1>
<section aria-labelledby="key-heading">
<h2 id="key-heading">Access</h2>
<form id="key-form">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="key-hint">
<button type="submit" class="primary">Save key</button>
</form>
<div id="key-saved" hidden>
<p>The API key is saved in this browser. <button type="button" id="forget">Forget the key</button></p>
</div>
<p class="hint" id="key-hint">The key <code>fileurls serve</code> printed. It is kept in this browser until you forget it, and sent only to this server.</p>
</section>
<section aria-labelledby="files-heading">
<h2 id="files-heading">Files</h2>
<div id="drop" class="drop" aria-disabled="true">
<input id="files" type="file" multiple disabled aria-describedby="drop-hint">
<label for="files" class="pick">Choose files</label>
<p class="hint" id="drop-hint">or drop them here. Save the API key first.</p>
</div>
<ul id="uploads" aria-label="Uploads"></ul>
</section>
<noscript><p>This page needs JavaScript to upload files.</p></noscript>
</main>
</body>
</html>
`;
}

function origin(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:"
      ? parsed.origin
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The page's Content Security Policy: nothing but its own script and style,
 * requests to its own origin (and to `apiUrl`'s and `connectOrigins`), no
 * framing, no forms posted anywhere, no `<base>`.
 */
function policy(options: UploadPageOptions): string {
  const connect = new Set(["'self'"]);
  for (const url of [options.apiUrl ?? "", ...options.connectOrigins ?? []]) {
    const o = origin(url);
    if (o !== undefined) connect.add(o);
  }
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${[...connect].join(" ")}`,
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The upload page as a Hono app: `GET /` (the page), `GET /page.js` (the
 * client and the page's script, one module), `GET /page.css` and
 * `GET /favicon.svg`, each with
 * a strict Content Security Policy, `X-Content-Type-Options: nosniff`,
 * `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`. Mount it next
 * to the files API, which it reaches at `apiUrl` (`v1` beside the page).
 *
 * @param options Where the API is, other origins to send to, the part size.
 * @returns The app; mount it with `app.route("/", uploadPage())`.
 * @throws {RangeError} If `partSize` is not a positive whole number.
 *
 * @example Next to the files API
 * ```ts ignore
 * import { Hono } from "hono";
 * import { filesRoute, memoryStorage } from "../hono/mod.ts";
 * import { uploadPage } from "./_page.ts";
 *
 * const app = new Hono()
 *   .route("/v1", filesRoute({ storage: memoryStorage(), secret, apiKeys }))
 *   .route("/", uploadPage());
 * ```
 */
export function uploadPage(options: UploadPageOptions = {}): Hono {
  const { partSize } = options;
  if (
    partSize !== undefined && (!Number.isSafeInteger(partSize) || partSize < 1)
  ) {
    throw new RangeError(
      `Cannot serve the upload page: partSize must be a positive whole number, got ${partSize}`,
    );
  }
  const headers = {
    "content-security-policy": policy(options),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-cache",
  };
  const html = pageHtml(options);
  const app = new Hono();
  app.get("/", (c) =>
    c.body(html, 200, {
      ...headers,
      "content-type": "text/html; charset=utf-8",
    }));
  app.get("/page.js", (c) =>
    c.body(PAGE_JS, 200, {
      ...headers,
      "content-type": "text/javascript; charset=utf-8",
    }));
  app.get("/page.css", (c) =>
    c.body(PAGE_CSS, 200, {
      ...headers,
      "content-type": "text/css; charset=utf-8",
    }));
  app.get("/favicon.svg", (c) =>
    c.body(FAVICON, 200, {
      ...headers,
      "content-type": "image/svg+xml",
    }));
  return app;
}
