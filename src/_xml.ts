/**
 * Just enough XML for S3's answers, which are flat, namespace-free in
 * practice, and never nest an element in one of the same name: the root's
 * name, the inner text of elements by name, and escaping for the one body
 * `s3Storage` sends. The client reads a bucket's error answers with it. No
 * DTDs, CDATA or comments inside values.
 *
 * @module
 */

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};
const ESCAPES: Record<string, string> = Object.fromEntries(
  Object.entries(ENTITIES).map(([name, char]) => [char, `&${name};`]),
);

/**
 * The name of a document's root element.
 *
 * @param xml The document.
 * @returns E.g. `"Error"`, or `undefined` if the text is no XML.
 */
export function xmlRoot(xml: string): string | undefined {
  const match =
    /^\s*(?:<\?[\s\S]*?\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.:-]*)/
      .exec(xml);
  return match?.[1];
}

/**
 * The inner XML of every element named `tag`, in document order.
 *
 * @param xml The document or a fragment of it.
 * @param tag The element name, e.g. `"Part"`.
 * @returns The inner XML of each, `""` for an empty element.
 */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(
    `<${tag}(?:\\s[^>]*?)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`,
    "g",
  );
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? "");
}

/**
 * The text of the first element named `tag`, with entities decoded.
 *
 * @param xml The document or a fragment of it.
 * @param tag The element name, e.g. `"UploadId"`.
 * @returns The text, or `undefined` if there is no such element.
 */
export function xmlText(xml: string, tag: string): string | undefined {
  const inner = xmlElements(xml, tag)[0];
  return inner === undefined ? undefined : decodeEntities(inner);
}

/**
 * Escapes text for an XML element.
 *
 * @param text The text.
 * @returns The text with `&`, `<`, `>`, `"` and `'` escaped.
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]);
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|([a-z]+));/g,
    (entity, hex?: string, decimal?: string, name?: string) => {
      if (name !== undefined) return ENTITIES[name] ?? entity;
      const code = parseInt(hex ?? decimal!, hex === undefined ? 10 : 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    },
  );
}
