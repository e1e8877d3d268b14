/**
 * A stand-in for the files API built on the raw recorder: `POST /files/urls`
 * answers with upload and download URLs on the same server, `PUT` stores
 * nothing but is recorded byte for byte. Tests of the client read exactly
 * what went over the wire.
 */
import { Client, type ClientOptions } from "../mod.ts";
import {
  type ApiRequests,
  apiRequests,
  type RecordedRequest,
  type RecordedResponse,
  type Recorder,
  startRecorder,
} from "./_recorder.ts";

/**
 * A running stand-in API. `starts()` lists requests to
 * `POST /v1/files/uploads`, which it does not offer.
 */
export interface FakeApi extends Recorder, ApiRequests {
  /** Requests to upload URLs. */
  uploads(): RecordedRequest[];
}

/**
 * Starts the stand-in API.
 *
 * @param override Answers a request instead of the default, when it returns
 * something.
 */
export async function startApi(
  override?: (
    request: RecordedRequest,
    index: number,
  ) => RecordedResponse | undefined,
): Promise<FakeApi> {
  let count = 0;
  const recorder: Recorder = await startRecorder((request) => {
    const index = count++;
    const answer = override?.(request, index);
    if (answer) return answer;
    if (request.method === "POST" && request.target === "/v1/files/urls") {
      const id = index;
      return {
        status: 201,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          upload_url: `${recorder.url}/upload/${id}?sig=x`,
          download_url: `${recorder.url}/download/${id}?sig=y`,
          expires_at: "2030-01-01T00:00:00.000Z",
        }),
      };
    }
    if (request.method === "PUT" && request.target.startsWith("/upload/")) {
      return { status: 201, body: "{}" };
    }
    return {
      status: 404,
      body: '{"error":{"type":"not_found","message":"No"}}',
    };
  });
  return {
    ...recorder,
    get requests() {
      return recorder.requests;
    },
    ...apiRequests(recorder),
    uploads: () => recorder.requests.filter((r) => r.method === "PUT"),
  };
}

/**
 * A client of the stand-in API, with the API key `key-1`.
 *
 * @param api The stand-in API.
 * @param options Options to add or override.
 * @returns The client.
 */
export function apiClient(api: FakeApi, options: ClientOptions = {}): Client {
  return new Client({ baseUrl: api.baseUrl, apiKey: "key-1", ...options });
}
