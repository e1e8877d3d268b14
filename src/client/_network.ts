/**
 * What a request that got no answer is told as: the reason in words every
 * runtime agrees on, and a hint where a browser may have refused it.
 *
 * @module
 */

/**
 * Why a request got no answer, in a few words the runtimes agree on:
 * `connection refused`, `host not found`, `connection reset`, `TLS: …`, or
 * the innermost message of the error and its causes.
 *
 * @param error What `fetch` rejected with.
 * @returns The reason.
 */
export function networkReason(error: unknown): string {
  const chain: { code?: unknown; message?: unknown }[] = [];
  for (
    let e = error as { cause?: unknown } | undefined, i = 0;
    e !== undefined && e !== null && i < 6;
    e = e.cause as { cause?: unknown } | undefined, i++
  ) {
    chain.push(e as { code?: unknown; message?: unknown });
  }
  const text = chain.map((e) => `${e.code ?? ""} ${e.message ?? ""}`).join(
    " ",
  );
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(text)) {
    return "connection refused";
  }
  if (
    /ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|name resolution|DNS/i
      .test(text)
  ) {
    return "host not found";
  }
  // Then how Node's fetch and Deno's tell of an answer whose connection
  // closed midway, and Deno's of one closed before any answer.
  if (
    /ECONNRESET|ConnectionReset|connection reset|EPIPE|Broken pipe|other side closed|error reading a body|connection closed before message completed/i
      .test(text)
  ) {
    return "connection reset";
  }
  const innermost = chain.map((e) => e.message).filter((m) =>
    typeof m === "string" && m !== ""
  ).pop() as string | undefined;
  // Deno's (rustls) say "received corrupt message" or "InvalidCertificate",
  // after the URL and "client error (Connect)": keep only the last clause.
  // Node's (OpenSSL) say "…:error:0A00010B:SSL routines:<function>:<reason>:
  // <file>:<line>:": keep the reason.
  if (/CERT|TLS|SSL|certificate|corrupt message/i.test(text)) {
    const openssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(
      innermost ?? "",
    );
    const clause = openssl?.[1] ?? innermost?.split(": ").pop()?.trim();
    return `TLS: ${clause || "handshake failed"}`;
  }
  // A URL in it loses its query, which may hold a signature.
  return (innermost || String(error)).replace(
    /(\bhttps?:\/\/[^\s?#()]*)[?#][^\s()]*/g,
    "$1",
  );
}

/**
 * In a page or worker of another origin, a refused CORS request fails as
 * any network error does ("Failed to fetch"): the message says it may be
 * that.
 *
 * @param url The URL that could not be reached.
 * @returns ` (or its CORS settings do not allow requests from ORIGIN)`, or
 * `""` outside a page or worker, or for its own origin.
 */
export function corsHint(url: string): string {
  const origin = (globalThis as { location?: { origin?: unknown } }).location
    ?.origin;
  if (typeof origin !== "string" || !/^https?:/.test(origin)) return "";
  let target: string;
  try {
    target = new URL(url).origin;
  } catch {
    return "";
  }
  return target === origin
    ? ""
    : ` (or its CORS settings do not allow requests from ${origin})`;
}
