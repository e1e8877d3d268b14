/**
 * The URLs at which a server listening on a host can be reached: for a
 * wildcard (`0.0.0.0`, `::`), this machine's own addresses, which other
 * machines can use, instead of the wildcard, which they cannot.
 *
 * @module
 */

import { networkInterfaces } from "node:os";

/** An address of this machine, as `os.networkInterfaces()` lists one. */
export interface InterfaceAddress {
  address: string;
  family: string | number;
  internal: boolean;
}

/** Where a server can be reached. */
export interface Reachable {
  /** The URLs, the best for other machines first. */
  urls: string[];
  /** How many of `urls`, from the start, other machines can use. */
  shared: number;
}

/**
 * Tells whether a host is a wildcard, listening on every address.
 *
 * @param hostname The host as given, e.g. `"0.0.0.0"`.
 * @returns `true` for `0.0.0.0`, `::` and other spellings of them.
 */
export function isWildcard(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return /^0+\.0+\.0+\.0+$/.test(host) || /^[0:]+$/.test(host) &&
      host.includes("::") ||
    /^(0+:){7}0+$/.test(host);
}

/**
 * The URLs at which a server listening on `hostname` is reached: the host
 * itself, or for a wildcard this machine's external addresses (IPv4 only
 * for `0.0.0.0`; IPv4 and IPv6, link-local left out, for `::`, which takes
 * both) and then its loopback address.
 *
 * @param hostname The host listened on.
 * @param urlOf Makes a URL from a host as a URL writes it (IPv6 in brackets).
 * @param addresses This machine's addresses.
 * @returns The URLs, and how many of them other machines can use.
 */
export function reachable(
  hostname: string,
  urlOf: (host: string) => string,
  addresses: InterfaceAddress[] = localAddresses(),
): Reachable {
  if (!isWildcard(hostname)) {
    return { urls: [urlOf(inUrl(hostname))], shared: 0 };
  }
  const ipv6 = hostname.includes(":");
  const seen = new Set<string>();
  const external: string[] = [];
  for (const family of ipv6 ? [4, 6] : [4]) {
    for (const entry of addresses) {
      const address = entry.address.replace(/%.*$/, "");
      if (
        entry.internal || familyOf(entry) !== family || seen.has(address) ||
        (family === 6 && /^fe[89ab]/i.test(address))
      ) {
        continue;
      }
      seen.add(address);
      external.push(urlOf(inUrl(address)));
    }
  }
  return {
    urls: [...external, urlOf(ipv6 ? "[::1]" : "127.0.0.1")],
    shared: external.length,
  };
}

function familyOf(entry: InterfaceAddress): number {
  // Node before 18.4 said "IPv4"; later ones say 4.
  return entry.family === 6 || entry.family === "IPv6" ? 6 : 4;
}

function inUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function localAddresses(): InterfaceAddress[] {
  try {
    return Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  } catch {
    // A sandbox that hides the interfaces.
    return [];
  }
}

/**
 * The ports that the Fetch standard blocks ("bad ports"): browsers, and
 * `fetch()` on Node and Deno, refuse to connect to them.
 */
const BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1,
  7,
  9,
  11,
  13,
  15,
  17,
  19,
  20,
  21,
  22,
  23,
  25,
  37,
  42,
  43,
  53,
  69,
  77,
  79,
  87,
  95,
  101,
  102,
  103,
  104,
  109,
  110,
  111,
  113,
  115,
  117,
  119,
  123,
  135,
  137,
  139,
  143,
  161,
  179,
  389,
  427,
  465,
  512,
  513,
  514,
  515,
  526,
  530,
  531,
  532,
  540,
  548,
  554,
  556,
  563,
  587,
  601,
  636,
  989,
  990,
  993,
  995,
  1719,
  1720,
  1723,
  2049,
  3659,
  4045,
  4190,
  5060,
  5061,
  6000,
  6566,
  6665,
  6666,
  6667,
  6668,
  6669,
  6679,
  6697,
  10080,
]);

/**
 * Tells whether browsers and `fetch()` refuse a port.
 *
 * @param port The port.
 * @returns `true` for a bad port of the Fetch standard, e.g. 6000.
 */
export function isBlockedPort(port: number): boolean {
  return BLOCKED_PORTS.has(port);
}
