// A local stand-in for the Anthropic Messages API (no test may reach the internet): it speaks the streaming wire
// protocol, event for event, and answers every request with the XSS corpus (tests/fixtures/xss-corpus.md) as the
// model's text, so the end-to-end suite sees hostile model output through the production client.
//   node fake-anthropic.mjs <port>
import { readFileSync } from "node:fs";
import http from "node:http";

// The cases, one after another as separate blocks (an HTML block runs until a blank line).
const corpus = readFileSync(new URL("../tests/fixtures/xss-corpus.md", import.meta.url), "utf8")
  .split("\n===\n")
  .join("\n\n");
const port = Number(process.argv[2] ?? 9915);

const frame = (event, data) => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;

const server = http.createServer((request, response) => {
  if (request.method !== "POST" || !request.url?.startsWith("/v1/messages")) {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "not found" } }));
    return;
  }
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    response.write(
      frame("message_start", {
        message: {
          id: "msg_e2e", type: "message", role: "assistant", model: "claude-haiku-4-5-20251001", content: [],
          stop_reason: null, stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1 },
        },
      }),
    );
    response.write(frame("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    // Pieces of uneven size, so tags and entities are split across deltas as a real model splits them.
    for (let at = 0, size = 7; at < corpus.length; at += size, size = (size % 23) + 5) {
      response.write(frame("content_block_delta", { index: 0, delta: { type: "text_delta", text: corpus.slice(at, at + size) } }));
    }
    response.write(frame("content_block_stop", { index: 0 }));
    response.write(frame("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 400 } }));
    response.end(frame("message_stop", {}));
  });
});
server.listen(port, "127.0.0.1", () => console.log(`fake Anthropic on http://127.0.0.1:${port}`));
