/**
 * Reading an answer's body with a limit: whatever a server sends, the client
 * keeps at most {@linkcode JSON_LIMIT} bytes of a successful answer and
 * {@linkcode ERROR_LIMIT} of an error's, and cancels the rest of the stream,
 * which closes the connection instead of reading on.
 *
 * @module
 */
import { FileUrlsError } from "./errors.ts";

/** The most of a successful JSON answer the client reads: 1 MiB. */
export const JSON_LIMIT: number = 1024 ** 2;
/** The most of an error answer the client keeps for its message: 64 KiB. */
export const ERROR_LIMIT: number = 64 * 1024;

/**
 * Reads an answer's body as UTF-8 text, up to `limit` bytes, and cancels
 * the stream there if the body goes on.
 *
 * @param response The answer.
 * @param limit The most bytes to read.
 * @returns The text of at most `limit` bytes, and whether it is the whole
 * body.
 */
export async function readText(
  response: Response,
  limit: number,
): Promise<{ text: string; whole: boolean }> {
  if (response.body === null) return { text: "", whole: true };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let left = limit;
  while (true) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), whole: true };
    if (value.byteLength > left) {
      text += decoder.decode(value.subarray(0, left));
      await reader.cancel().catch(() => {});
      return { text, whole: false };
    }
    text += decoder.decode(value, { stream: true });
    left -= value.byteLength;
  }
}

/**
 * Reads a successful answer as JSON, refusing one longer than
 * {@linkcode JSON_LIMIT}.
 *
 * @param response The answer.
 * @param action What is being done, for the message, e.g.
 * `Cannot upload "a.png"`.
 * @returns The parsed JSON, or `undefined` if the body is not JSON.
 * @throws {FileUrlsError} If the body is longer than 1 MiB; the rest of it
 * is not read.
 */
export async function readJson(
  response: Response,
  action: string,
): Promise<unknown> {
  const { text, whole } = await readText(response, JSON_LIMIT);
  if (!whole) {
    throw new FileUrlsError(
      `${action}: the API's answer is longer than ${
        JSON_LIMIT / 1024 ** 2
      } MiB`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
