import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";

import { ask, hydrated, lastExchange, signUpOnHome, watchConsole } from "./support";

/**
 * A proxy in front of two instances with no stickiness at all: the question goes to the first instance, the
 * answer's event stream always to the second (so it is always read from the instance not running it), everything
 * else (pages, assets, server functions) round-robin. It records which instance served what.
 */
async function proxy(first: string, second: string) {
  const served: { path: string; upstream: number }[] = [];
  let next = 0;
  const server = http.createServer((request, response) => {
    const path = request.url ?? "/";
    const upstream = path.startsWith("/chat/stream") ? 0 : path.startsWith("/chat/runs/") ? 1 : next++ % 2;
    served.push({ path, upstream });
    const target = new URL(path, upstream === 0 ? first : second);
    const forwarded = http.request(target, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on("error", () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, served, close: () => new Promise((r) => server.close(r)) };
}

test("behind a proxy without sticky sessions, an answer streams from the other instance and survives a reload there", async ({ browser, baseURL }) => {
  const second = process.env.E2E_SECOND_URL;
  expect(second, "scripts/test starts a second instance and passes E2E_SECOND_URL").toBeTruthy();
  const front = await proxy(baseURL!, second!);
  const context = await browser.newContext({ baseURL: front.url });
  const page = await context.newPage();
  const console = watchConsole(page);

  await signUpOnHome(page, "scale-out");

  await ask(page, "30-day return of NOVA and LITH");
  const answer = lastExchange(page).getByTestId("answer");
  await expect(answer).not.toBeEmpty();
  await expect(answer).toHaveAttribute("aria-busy", "true");
  // Reload mid-answer: the page comes back from either instance, and the stream resumes from the second.
  await page.reload();
  await hydrated(page);
  const resumed = lastExchange(page).getByTestId("answer");
  await expect(resumed).toContainText("Returns over the last 30 days", { timeout: 30_000 });
  await expect(resumed).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });
  // The answer's words (its Markdown parts; tool steps, and the split into parts, render differently live and
  // stored, so whitespace is not compared).
  const text = async () =>
    (await lastExchange(page).getByTestId("answer").locator(".markdown").allInnerTexts()).join(" ").replace(/\s+/g, " ").trim();
  const streamed = await text();
  expect(streamed).toContain("The window runs from");

  // The stored answer (rendered from the log after another reload) is exactly what streamed: nothing missing or twice.
  await page.reload();
  await hydrated(page);
  await expect.poll(text).toBe(streamed);

  expect(front.served.some((s) => s.path.startsWith("/chat/stream") && s.upstream === 0), "the question ran on the first").toBe(true);
  expect(front.served.some((s) => s.path.startsWith("/chat/runs/") && s.path.includes("/events")), "its events came from the second").toBe(true);
  console.expectClean();
  await context.close();
  await front.close();
});
