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
  TimeoutError,
  type UploadOptions,
  type UploadProgress,
} from "../../mod.ts";

/** Where the API key is kept in `localStorage`. */
const KEY_ITEM = "fileurls.apiKey";

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

/** `1.2 MB`: bytes in decimal units. */
function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

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

  let shown = -1;
  const onProgress = ({ loaded, total, retry }: UploadProgress) => {
    if (total === undefined || controller.signal.aborted) return;
    if (retry) {
      shown = -1;
      status.textContent = `Trying again after a failure (${retry.reason})…`;
      return;
    }
    bar.max = Math.max(total, 1);
    bar.value = total === 0 ? 1 : loaded;
    const percent = total === 0 ? 100 : Math.floor(loaded / total * 100);
    if (percent === shown) return;
    shown = percent;
    status.textContent = `Uploading: ${percent}% (${size(loaded)} of ${
      size(total)
    })`;
  };

  const apiKey = storedKey() ?? undefined;
  const client = new Client({ baseUrl, apiKey });
  const options: UploadOptions = {
    signal: controller.signal,
    onProgress,
    ...(partSize ? { partSize } : {}),
  };
  client.files.uploadFile(file, undefined, options).then(
    (result) => {
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
        item.classList.add("canceled");
        status.textContent = "Canceled. Nothing of it was kept.";
        return;
      }
      item.classList.add("failed");
      status.textContent = explain(error);
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
