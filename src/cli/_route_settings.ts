/**
 * The settings of `fileurls serve` that go to `filesRoute` as they are:
 * `--cors`, `--allowed-types`, `--resources`, `--upload-ttl`,
 * `--download-ttl`, `--lifetime` and `--max-lifetime`, each also from its
 * environment variable.
 *
 * @module
 */

import { isMediaType } from "../_media_type.ts";
import type { FilesRouteOptions } from "../hono/options.ts";
import { formatDuration } from "./_progress.ts";
import { parseDuration } from "./_units.ts";

/** The flags, as `parseArgs` gives them. */
export interface RouteFlags {
  cors?: string;
  "allowed-types"?: string;
  resources?: string;
  "upload-ttl"?: string;
  "download-ttl"?: string;
  lifetime?: string;
  "max-lifetime"?: string;
}

/** What the flags and environment set of `filesRoute`'s options. */
export type RouteSettings = Pick<
  FilesRouteOptions,
  | "cors"
  | "allowedTypes"
  | "resources"
  | "uploadTtl"
  | "downloadTtl"
  | "lifetime"
  | "maxLifetime"
>;

/**
 * Reads the route's settings from the flags, else from the environment (an
 * empty variable counts as unset).
 *
 * @param flags The parsed flags.
 * @param env The environment.
 * @returns The options to give `filesRoute`; unset ones are left out.
 * @throws {TypeError} For a bad value, naming the flag or variable it came
 * from, e.g. `--upload-ttl must be a whole number of seconds, at least 1,
 * got "1h"`.
 */
export function routeSettings(
  flags: RouteFlags,
  env: Record<string, string | undefined>,
): RouteSettings {
  const settings: RouteSettings = {};
  const cors = setting(flags, env, "cors", "FILEURLS_CORS");
  if (cors !== undefined) settings.cors = origins(cors);
  const types = setting(flags, env, "allowed-types", "FILEURLS_ALLOWED_TYPES");
  if (types !== undefined) settings.allowedTypes = mediaTypes(types);
  const resources = setting(flags, env, "resources", "FILEURLS_RESOURCES");
  if (resources !== undefined) settings.resources = names(resources);
  const upload = setting(flags, env, "upload-ttl", "FILEURLS_UPLOAD_TTL");
  if (upload !== undefined) settings.uploadTtl = ttl(upload);
  const download = setting(flags, env, "download-ttl", "FILEURLS_DOWNLOAD_TTL");
  if (download !== undefined) settings.downloadTtl = ttl(download);
  const lifetime = setting(flags, env, "lifetime", "FILEURLS_LIFETIME");
  if (lifetime !== undefined) settings.lifetime = duration(lifetime);
  const most = setting(flags, env, "max-lifetime", "FILEURLS_MAX_LIFETIME");
  if (most !== undefined) settings.maxLifetime = duration(most);
  if (
    settings.lifetime !== undefined && settings.maxLifetime !== undefined &&
    settings.lifetime > settings.maxLifetime
  ) {
    throw new TypeError(
      `${lifetime!.source} (${lifetime!.text}) must not be longer than ${
        most!.source
      } (${most!.text})`,
    );
  }
  return settings;
}

/** A value and where it came from, for messages. */
interface Setting {
  text: string;
  source: string;
}

function setting(
  flags: RouteFlags,
  env: Record<string, string | undefined>,
  flag: keyof RouteFlags,
  variable: string,
): Setting | undefined {
  const given = flags[flag];
  if (given !== undefined) return { text: given, source: `--${flag}` };
  const text = env[variable];
  return text ? { text, source: variable } : undefined;
}

/** The comma-separated items, trimmed, without empty ones. */
function items({ text }: Setting): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) =>
    item !== ""
  );
}

function bad(setting: Setting, expected: string, got = setting.text): never {
  throw new TypeError(
    `${setting.source} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function origins(setting: Setting): "*" | string[] {
  const expected =
    '"*" or origins separated by commas, such as https://app.example.com';
  if (setting.text.trim() === "*") return "*";
  const list = items(setting);
  if (list.length === 0) bad(setting, expected);
  return list.map((origin) => {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin || !/^https?:/.test(origin)) {
      bad(setting, expected, origin);
    }
    return origin;
  });
}

function mediaTypes(setting: Setting): string[] {
  const expected =
    'media types or "type/*" separated by commas, such as image/*,application/pdf';
  const list = items(setting);
  if (list.length === 0) bad(setting, expected);
  for (const type of list) {
    if (type.includes(";") || !isMediaType(type.replace(/\/\*$/, "/x"))) {
      bad(setting, expected, type);
    }
  }
  return list;
}

function names(setting: Setting): string[] {
  const list = items(setting);
  if (list.length === 0) {
    bad(setting, "names separated by commas, such as prediction,avatar");
  }
  return list;
}

function ttl(setting: Setting): number {
  const seconds = Number(setting.text);
  if (
    !/^[0-9]+$/.test(setting.text) || !Number.isSafeInteger(seconds) ||
    seconds < 1
  ) {
    bad(setting, "a whole number of seconds, at least 1");
  }
  return seconds;
}

function duration(setting: Setting): number {
  return parseDuration(setting.text) ??
    bad(setting, "a duration such as 3600, 90m, 12h or 30d");
}

/**
 * The settings given, one line each, for the start banner.
 *
 * @param settings What {@linkcode routeSettings} read.
 * @returns E.g. `["CORS: any origin", "Upload URLs work for 600 s"]`.
 */
export function describeSettings(settings: RouteSettings): string[] {
  const lines: string[] = [];
  const { cors, allowedTypes, resources, uploadTtl, downloadTtl } = settings;
  const { lifetime, maxLifetime } = settings;
  if (cors !== undefined) {
    lines.push(`CORS: ${cors === "*" ? "any origin" : cors.join(", ")}`);
  }
  if (allowedTypes !== undefined) {
    lines.push(`Allowed types: ${allowedTypes.join(", ")}`);
  }
  if (resources !== undefined) lines.push(`Resources: ${resources.join(", ")}`);
  if (uploadTtl !== undefined) {
    lines.push(`Upload URLs work for ${uploadTtl} s`);
  }
  if (downloadTtl !== undefined) {
    lines.push(`Download URLs work for ${downloadTtl} s`);
  }
  if (lifetime !== undefined) {
    lines.push(`Files are kept for ${formatDuration(lifetime)}`);
  }
  if (maxLifetime !== undefined) {
    lines.push(
      `Files may ask to be kept for ${formatDuration(maxLifetime)} at most`,
    );
  }
  return lines;
}
