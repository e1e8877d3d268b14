// A sink for the upload benchmark: answers POST /v1/files/urls like the API
// and counts the bytes of every PUT, refusing chunked bodies and checking the
// count against Content-Length. Prints its port, then serves until killed.
import { createServer } from "node:http";

let next = 0;
const server = createServer((req, res) => {
  if (req.method === "POST") {
    req.resume();
    req.on("end", () => {
      const origin = `http://127.0.0.1:${server.address().port}`;
      const id = next++;
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({
        upload_url: `${origin}/upload/${id}`,
        download_url: `${origin}/download/${id}`,
      }));
    });
    return;
  }
  if (req.method !== "PUT") {
    res.writeHead(404).end();
    return;
  }
  const declared = req.headers["content-length"];
  if (declared === undefined || req.headers["transfer-encoding"]) {
    res.writeHead(411).end("length required");
    req.destroy();
    return;
  }
  let received = 0;
  req.on("data", (chunk) => received += chunk.length);
  req.on("end", () => {
    const ok = received === Number(declared);
    res.writeHead(ok ? 201 : 400, { "content-type": "application/json" });
    res.end(JSON.stringify({ received }));
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
