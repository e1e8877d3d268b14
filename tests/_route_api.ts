/**
 * The project's own route behind the raw recorder: every request arrives
 * on a real socket, is recorded exactly as it came (request line, header
 * lines, body), and is then answered by `filesRoute` over a memory storage.
 * Tests of the client's multipart uploads read the wire here and talk to
 * the real protocol.
 *
 * @module
 */
import { Hono } from "hono";
import {
  filesRoute,
  type FilesRouteOptions,
  memoryStorage,
  type Storage,
} from "../src/hono/mod.ts";
import {
  type ApiRequests,
  apiRequests,
  type RecordedRequest,
  type RecordedResponse,
  type Recorder,
  startRecorder,
} from "./_recorder.ts";
import { API_KEY, SECRET } from "./_route.ts";

/** A running route behind the recorder. */
export interface RouteApi extends Recorder, ApiRequests {
  /** The API key it accepts. */
  apiKey: string;
  /** The Hono app, to download with `app.request()`. */
  app: Hono;
  /** Where it stores. */
  storage: Storage;
  /** `PUT` of parts. */
  parts(): RecordedRequest[];
  /** `PUT` of single uploads. */
  singles(): RecordedRequest[];
}

/**
 * Starts the route at `/v1` behind a recorder.
 *
 * @param options Route options to add (`minPartSize` is 1 unless given).
 * @param intercept Answers a request instead of the route, when it returns
 * something (a dropped connection, a 503).
 * @returns The running API.
 */
export async function startRouteApi(
  options: Partial<FilesRouteOptions> = {},
  intercept?: (
    request: RecordedRequest,
    index: number,
  ) => RecordedResponse | undefined,
): Promise<RouteApi> {
  const storage = (options.storage as Storage | undefined) ?? memoryStorage();
  const app = new Hono().route(
    "/v1",
    filesRoute({
      secret: SECRET,
      apiKeys: [API_KEY],
      minPartSize: 1,
      ...options,
      storage,
    }),
  );
  let count = 0;
  const recorder = await startRecorder(async (request) => {
    const answer = intercept?.(request, count++);
    if (answer) return answer;
    const headers = new Headers();
    for (const [name, value] of request.rawHeaders) {
      if (!/^(host|connection|transfer-encoding)$/i.test(name)) {
        headers.append(name, value);
      }
    }
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    // The route makes its URLs from the host the client asked for, which is
    // a proxy's when one stands in between.
    const origin = request.headers.host
      ? `http://${request.headers.host}`
      : recorder.url;
    const res = await app.request(`${origin}${request.target}`, {
      method: request.method,
      headers,
      body: hasBody ? request.body as Uint8Array<ArrayBuffer> : undefined,
    });
    const out: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (name !== "content-length") out[name] = value;
    });
    return {
      status: res.status,
      headers: out,
      body: new Uint8Array(await res.arrayBuffer()),
    };
  });
  const put = (r: RecordedRequest) => r.method === "PUT";
  return {
    ...recorder,
    get requests() {
      return recorder.requests;
    },
    ...apiRequests(recorder),
    apiKey: API_KEY,
    app,
    storage,
    parts: () =>
      recorder.requests.filter((r) =>
        put(r) && /\/parts\/\d+\?/.test(r.target)
      ),
    singles: () =>
      recorder.requests.filter((r) =>
        put(r) && !/\/files\/uploads\//.test(r.target)
      ),
  };
}

/**
 * The part number of a recorded part `PUT`.
 *
 * @param request The request.
 * @returns Its number.
 */
export function partNumber(request: RecordedRequest): number {
  return Number(/\/parts\/(\d+)\?/.exec(request.target)![1]);
}
