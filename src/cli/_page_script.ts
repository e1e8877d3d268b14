/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The upload page's script, run in the browser. `deno task build:page`
 * bundles it with the client into `_page_assets.ts`; the page is in
 * `_page.ts`.
 *
 * @module
 */
import {
  ApiError,
  Client,
  ConnectionError,
  FileUrlsError,
  TimeoutError,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
} from "../../mod.ts";
import { formatBytes as size } from "./_progress.ts";

/** Where the API key is kept in `localStorage`. */
const KEY_ITEM = "fileurls.apiKey";
/**
 * Where the multipart uploads not finished yet are kept in `localStorage`,
 * by file: picked again after a reload or a failure, a file resumes.
 */
const RESUME_ITEM = "fileurls.uploads";
/** How long an unfinished upload is remembered, in ms: a week. */
const RESUME_FOR = 7 * 24 * 3600 * 1000;

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const app = byId<HTMLElement>("app");
const keyForm = byId<HTMLFormElement>("key-form");
const keyInput = byId<HTMLInputElement>("key");
const keySaved = byId<HTMLElement>("key-saved");
const forget = byId<HTMLButtonElement>("forget");
const drop = byId<HTMLElement>("drop");
const picker = byId<HTMLInputElement>("files");
const dropHint = byId<HTMLElement>("drop-hint");
const list = byId<HTMLUListElement>("uploads");

const baseUrl = new URL(app.dataset.api ?? "v1", document.baseURI).href;
const partSize = Number(app.dataset.partSize) || undefined;

function storedKey(): string | null {
  try {
    return localStorage.getItem(KEY_ITEM);
  } catch {
    return null;
  }
}

/** Shows the key form or the saved key, and opens the drop zone with a key. */
function showKey(): void {
  const key = storedKey();
  keyForm.hidden = key !== null;
  keySaved.hidden = key === null;
  picker.disabled = key === null;
  drop.setAttribute("aria-disabled", String(key === null));
  dropHint.textContent = key === null
    ? "or drop them here. Save the API key first."
    : "or drop them here.";
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (key === "") return;
  try {
    localStorage.setItem(KEY_ITEM, key);
  } catch {
    keyInput.setCustomValidity("This browser does not let the page keep it");
    keyInput.reportValidity();
    return;
  }
  keyInput.value = "";
  showKey();
  picker.focus();
});

forget.addEventListener("click", () => {
  localStorage.removeItem(KEY_ITEM);
  showKey();
  keyInput.focus();
});

/** An unfinished upload: its capability URL, and when it was kept. */
interface Unfinished {
  url: string;
  at: number;
}

function unfinished(): Record<string, Unfinished> {
  try {
    const kept = JSON.parse(localStorage.getItem(RESUME_ITEM) ?? "{}");
    return typeof kept === "object" && kept !== null ? kept : {};
  } catch {
    return {};
  }
}

/** Keeps (a URL) or forgets (`undefined`) the unfinished upload of `key`. */
function keepUnfinished(key: string, url: string | undefined): void {
  const kept = unfinished();
  const now = Date.now();
  for (const [other, { at }] of Object.entries(kept)) {
    if (!(now - at < RESUME_FOR)) delete kept[other];
  }
  if (url === undefined) delete kept[key];
  else kept[key] = { url, at: now };
  try {
    if (Object.keys(kept).length === 0) localStorage.removeItem(RESUME_ITEM);
    else localStorage.setItem(RESUME_ITEM, JSON.stringify(kept));
  } catch {
    // A browser that keeps nothing: the file starts over when picked again.
  }
}

/** A file, as the unfinished uploads are kept by. */
function fileKey(file: File): string {
  return JSON.stringify([baseUrl, file.name, file.size, file.lastModified]);
}

/** Uploads under way: while there are some, leaving the page asks first. */
let underWay = 0;
addEventListener("beforeunload", (event) => {
  if (underWay > 0) event.preventDefault();
});

/** What went wrong, in plain words. */
function explain(error: unknown): string {
  if (error instanceof ApiError) {
    const { status } = error;
    if (status === 401 || status === 403) {
      return "The server refused the API key. Forget it and paste the key the server printed.";
    }
    if (status === 413) return "The file is larger than this server takes.";
    if (status === 415) {
      return "The server does not take files of this type.";
    }
    if (status === 429) return "The server is busy. Try again in a moment.";
    if (status === 507) return "The server has no room left for this file.";
    if (status >= 500) {
      return "The server could not store the file. Try again later.";
    }
    return "The server refused the upload.";
  }
  if (error instanceof ConnectionError) {
    return "The connection to the server was lost. Check that it is running, then try again.";
  }
  if (error instanceof TimeoutError) {
    return "The upload stopped moving and was given up. Try again.";
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return "This file cannot be uploaded.";
  }
  return "The upload failed.";
}

/**
 * Whether a resume failed because the upload kept cannot be resumed: it
 * expired or was deleted (403, 404), or it is of other bytes or not an
 * upload's URL (the client's own `FileUrlsError`).
 */
function gone(error: unknown): boolean {
  if (error instanceof ApiError) {
    return error.status === 403 || error.status === 404 ||
      error.status === 410;
  }
  return error instanceof FileUrlsError &&
    !(error instanceof ConnectionError) && !(error instanceof TimeoutError);
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Uploads one file, shown as one item of the list. */
function upload(file: File): void {
  const item = element("li", "upload");
  const head = element("div", "head");
  const name = element("span", "name", file.name);
  head.append(name, element("span", "size", size(file.size)));
  const bar = element("progress");
  bar.max = Math.max(file.size, 1);
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const status = element("p", "status", "Starting…");
  status.setAttribute("aria-live", "polite");
  const detail = element("p", "hint");
  detail.hidden = true;
  const link = element("div", "link");
  link.hidden = true;
  const actions = element("div", "actions");
  const cancel = element("button", undefined, "Cancel");
  cancel.type = "button";
  cancel.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
  actions.append(cancel);
  item.append(head, bar, status, detail, link, actions);
  list.append(item);

  const controller = new AbortController();
  cancel.addEventListener("click", () => {
    cancel.disabled = true;
    status.textContent = "Canceling…";
    controller.abort(new DOMException("Canceled", "AbortError"));
  });

  const key = fileKey(file);
  const resume = file.size > (partSize ?? 5 * 1024 ** 2)
    ? unfinished()[key]?.url
    : undefined;
  let resuming = resume !== undefined;
  /** The upload's capability URL, once the API has made it. */
  let uploadUrl: string | undefined;
  let shown = -1;
  const onProgress = (progress: UploadProgress) => {
    const { loaded, total, retry } = progress;
    if (progress.uploadUrl !== undefined && uploadUrl === undefined) {
      uploadUrl = progress.uploadUrl;
      keepUnfinished(key, uploadUrl);
    }
    if (total === undefined || controller.signal.aborted) return;
    if (retry) {
      shown = -1;
      status.textContent = `Trying again${
        retry.delay >= 1000 ? ` in ${Math.round(retry.delay / 1000)} s` : ""
      } after a failure (${retry.reason})…`;
      return;
    }
    bar.max = Math.max(total, 1);
    bar.value = total === 0 ? 1 : loaded;
    const percent = total === 0 ? 100 : Math.floor(loaded / total * 100);
    if (percent === shown) return;
    shown = percent;
    status.textContent = `${
      resuming ? "Resuming" : "Uploading"
    }: ${percent}% (${size(loaded)} of ${size(total)})`;
  };

  const apiKey = storedKey() ?? undefined;
  const client = new Client({ baseUrl, apiKey });
  const options: UploadOptions = {
    signal: controller.signal,
    onProgress,
    ...(partSize ? { partSize } : {}),
  };
  const start = (): Promise<UploadResult> =>
    client.files.uploadFile(file, undefined, options);
  underWay++;
  const uploading = resume === undefined
    ? start()
    : client.files.uploadFile(file, undefined, { ...options, resume }).catch(
      (error: unknown) => {
        // The upload kept is gone (expired, or deleted) or was of other
        // bytes: the file starts over.
        if (uploadUrl === undefined && gone(error)) {
          keepUnfinished(key, undefined);
          resuming = false;
          return start();
        }
        throw error;
      },
    );
  uploading.finally(() => underWay--).then(
    (result) => {
      keepUnfinished(key, undefined);
      item.classList.add("done");
      bar.value = bar.max;
      status.textContent = `Uploaded ${size(result.size)}.`;
      const anchor = element("a", undefined, result.downloadUrl);
      anchor.href = result.downloadUrl;
      anchor.rel = "noreferrer";
      anchor.setAttribute("aria-label", `Download link of ${file.name}`);
      const copy = element("button", undefined, "Copy link");
      copy.type = "button";
      copy.setAttribute("aria-label", `Copy the download link of ${file.name}`);
      copy.addEventListener("click", () => copyLink(anchor, copy));
      link.append(anchor, copy);
      link.hidden = false;
      actions.hidden = true;
    },
    (error: unknown) => {
      actions.hidden = true;
      if (controller.signal.aborted) {
        keepUnfinished(key, undefined);
        item.classList.add("canceled");
        status.textContent = "Canceled. Nothing of it was kept.";
        return;
      }
      item.classList.add("failed");
      // The client tells the upload's URL with an error it can resume from;
      // one it cannot (a file over the server's limit) is deleted.
      const resumable = (error as { uploadUrl?: unknown }).uploadUrl !==
        undefined;
      if (!resumable) keepUnfinished(key, undefined);
      status.textContent = explain(error) +
        (resumable
          ? " Pick the file again to resume: the parts sent are kept."
          : "");
      detail.textContent = error instanceof Error
        ? error.message
        : String(error);
      detail.hidden = false;
    },
  );
}

/** Copies the link, or selects it for the person to copy. */
async function copyLink(anchor: HTMLAnchorElement, button: HTMLButtonElement) {
  try {
    await navigator.clipboard.writeText(anchor.href);
    button.textContent = "Copied";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(anchor);
    const selection = getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => button.textContent = "Copy link", 2000);
}

function uploadAll(files: FileList | null | undefined): void {
  if (!files || files.length === 0) return;
  if (storedKey() === null) {
    dropHint.textContent = "Save the API key first, then drop the files again.";
    keyInput.focus();
    return;
  }
  for (const file of files) upload(file);
}

picker.addEventListener("change", () => {
  uploadAll(picker.files);
  picker.value = "";
});

// A file dropped beside the zone would open in the tab, leaving the page.
for (const type of ["dragover", "drop"]) {
  document.addEventListener(type, (event) => event.preventDefault());
}
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  uploadAll(event.dataTransfer?.files);
});

showKey();
