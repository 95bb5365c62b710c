// A local stand-in for the Anthropic Messages API (no test may reach the internet): it speaks the streaming wire
// protocol, event for event. It answers with the XSS corpus (tests/fixtures/xss-corpus.md) as the model's text, so
// the end-to-end suite sees hostile model output through the production client — except a question mentioning
// "look-ahead", which gets a run_sql call whose query decides with the next bar, then a short answer, and one
// mentioning "refuse", which the API refuses as a real one refuses an oversized prompt (400, invalid_request_error).
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
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    const last = body.messages?.at(-1);
    const answered = Array.isArray(last?.content) && last.content.some((b) => b.type === "tool_result");
    const asked = JSON.stringify(body.messages?.[0]?.content ?? "");
    if (asked.includes("refuse")) {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(JSON.stringify({
        type: "error",
        error: { type: "invalid_request_error", message: "prompt is too long: 250000 tokens > 200000 maximum" },
      }));
      return;
    }
    const lookAhead = asked.includes("look-ahead") && !answered;
    const text = asked.includes("look-ahead") ? "That query used the next bar to choose days." : corpus;
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    response.write(
      frame("message_start", {
        message: {
          id: "msg_e2e", type: "message", role: "assistant", model: "claude-haiku-4-5-20251001", content: [],
          stop_reason: null, stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1 },
        },
      }),
    );
    if (lookAhead) {
      const sql =
        "SELECT symbol, date FROM (SELECT symbol, date, close, lead(close) OVER (PARTITION BY symbol ORDER BY date) " +
        "AS next_close FROM daily_bars) WHERE next_close > close LIMIT 5";
      response.write(frame("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_e2e", name: "run_sql", input: {} } }));
      response.write(frame("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify({ sql }) } }));
      response.write(frame("content_block_stop", { index: 0 }));
      response.write(frame("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 40 } }));
      response.end(frame("message_stop", {}));
      return;
    }
    response.write(frame("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    // Pieces of uneven size, so tags and entities are split across deltas as a real model splits them.
    for (let at = 0, size = 7; at < text.length; at += size, size = (size % 23) + 5) {
      response.write(frame("content_block_delta", { index: 0, delta: { type: "text_delta", text: text.slice(at, at + size) } }));
    }
    response.write(frame("content_block_stop", { index: 0 }));
    response.write(frame("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 400 } }));
    response.end(frame("message_stop", {}));
  });
});
server.listen(port, "127.0.0.1", () => console.log(`fake Anthropic on http://127.0.0.1:${port}`));
