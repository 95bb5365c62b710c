import { type Browser, expect, test, type Page } from "@playwright/test";

import { ask, hydrated, lastExchange, signUpOnHome, watchConsole } from "./support";

/**
 * The instance at E2E_XSS_URL talks to a fake Anthropic server (end2end/fake-anthropic.mjs) that answers every
 * question with the XSS corpus (tests/fixtures/xss-corpus.md): raw HTML, event handlers, images, `javascript:` and
 * `data:` links, entity and mXSS tricks. Streamed live and rendered again from the log after a reload, none of it
 * may run, load or link anywhere unsafe.
 */
async function expectInert(page: Page) {
  const answer = lastExchange(page).getByTestId("answer");
  // Every payload sets window.__xss; none may have run.
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss ?? null)).toBeNull();
  // The only elements the server adds are its checked-number buttons: a class, an index and a number as text.
  const marks = await answer.locator(".markdown button").evaluateAll((nodes) =>
    nodes.map((n) => [[...n.attributes].map((a) => `${a.name}=${a.value}`).join(" "), n.textContent ?? ""]),
  );
  for (const [attributes, text] of marks) {
    expect(attributes).toMatch(/^type=button class=num (checked|unverified) data-check=\d+$/);
    expect(text).toMatch(/^[-+−$€£₽]*\d[\d.,\s]*(%|[KMB]|\s?\p{L}+\.?)?$/u);
  }
  // No element the Markdown policy does not allow.
  const tags = await answer
    .locator(".markdown *:not(button.num)")
    .evaluateAll((nodes) => [...new Set(nodes.map((n) => n.tagName.toLowerCase()))]);
  const allowed = ["p", "a", "strong", "em", "del", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "ol", "ul", "li", "br", "hr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"];
  expect(tags.filter((t) => !allowed.includes(t)), `elements in the answer: ${tags.join(", ")}`).toEqual([]);
  // No attribute but href/rel on links and start on lists; every link is http(s) or mailto and carries the rel.
  const attributes = await answer.locator(".markdown *:not(button.num)").evaluateAll((nodes) =>
    nodes.flatMap((n) => [...n.attributes].map((a) => `${n.tagName.toLowerCase()}[${a.name}]`)),
  );
  expect([...new Set(attributes)].filter((a) => !["a[href]", "a[rel]", "ol[start]"].includes(a))).toEqual([]);
  const links = await answer.locator(".markdown a").evaluateAll((nodes) => nodes.map((n) => [n.getAttribute("href"), n.getAttribute("rel")]));
  expect(links.length, "the corpus's safe links render as links").toBeGreaterThanOrEqual(4);
  for (const [href, rel] of links) {
    expect(href).toMatch(/^(https:\/\/example\.com\/?|mailto:desk@example\.com)/);
    expect(rel).toBe("noopener noreferrer nofollow");
  }
  // The hostile text is still there to read, as text.
  await expect(answer).toContainText("<script>window.__xss = 'script'</script>");
  await expect(answer).toContainText("<img src=x onerror=\"window.__xss='img'\">");
  await expect(answer.locator(".markdown strong").first()).toHaveText("NOVA");
}

/** A page, watched for console errors, on the instance whose model is the fake Anthropic server. */
async function onFakeModelInstance(browser: Browser) {
  const url = process.env.E2E_XSS_URL;
  expect(url, "scripts/test starts an instance on a fake Anthropic server and passes E2E_XSS_URL").toBeTruthy();
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  return { url: url!, context, page, console: watchConsole(page) };
}

test("hostile model output renders as inert text, streamed and reloaded", async ({ browser }) => {
  const { url, context, page, console } = await onFakeModelInstance(browser);
  const offsite: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) offsite.push(request.url());
  });
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });

  await signUpOnHome(page, "xss");
  await ask(page, "Say something dangerous");
  const answer = lastExchange(page).getByTestId("answer");
  await expect(answer).toContainText("third", { timeout: 30_000 });
  await expect(answer).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });
  await expectInert(page);

  // From the log, rendered by the server and hydrated.
  await page.reload();
  await hydrated(page);
  await expect(lastExchange(page).getByTestId("answer")).toContainText("third");
  await expectInert(page);
  // Hovering and clicking what used to be handlers does nothing either.
  await lastExchange(page).getByTestId("answer").getByText("hover", { exact: false }).first().hover();
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss ?? null)).toBeNull();

  expect(offsite, "requests off the site").toEqual([]);
  expect(dialogs, "dialogs opened").toEqual([]);
  console.expectClean();
  await context.close();
});

test("a run the model provider refuses says why, in the reader's language, live and from the log", async ({ browser }) => {
  const { context, page, console } = await onFakeModelInstance(browser);
  await signUpOnHome(page, "refused");
  await ask(page, "Please refuse this one");
  const failed = lastExchange(page).getByRole("alert");
  const detail = "(400): prompt is too long: 250000 tokens > 200000 maximum";
  await expect(failed).toHaveText(`The model provider refused the request ${detail}`, { timeout: 30_000 });

  // The reason is kept with the exchange as data: the same conversation in Russian words it in Russian.
  await page.getByTestId("locale-switch").click();
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await hydrated(page);
  await expect(lastExchange(page).getByRole("alert")).toHaveText(`Поставщик модели отклонил запрос ${detail}`);
  await page.reload();
  await hydrated(page);
  await expect(lastExchange(page).getByRole("alert")).toHaveText(`Поставщик модели отклонил запрос ${detail}`);
  console.expectClean();
  await context.close();
});

test("a query that decides with the next bar runs, and its step says so, live and from the log", async ({ browser }) => {
  const { context, page, console } = await onFakeModelInstance(browser);
  await signUpOnHome(page, "lookahead");
  await ask(page, "Which days came before a rise? (look-ahead demo)");
  const exchange = lastExchange(page);
  await expect(exchange.getByTestId("answer")).toContainText("used the next bar", { timeout: 30_000 });
  await expect(exchange.getByTestId("answer")).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });
  const warning = exchange.getByTestId("tool-step").getByTestId("lookahead-warning");
  await expect(warning).toHaveCount(1);
  await expect(warning).toContainText("Look-ahead: a filter or condition uses a later bar's value");
  // The query still ran: its rows are there.
  await expect(exchange.getByTestId("tool-step")).toContainText("5 rows");

  await page.reload();
  await hydrated(page);
  const step = lastExchange(page).getByTestId("tool-step");
  await expect(step.getByTestId("lookahead-warning")).toContainText("later bar's value");

  // Edit the step's SQL to decide with the previous bar instead and run it in place: the guard finds nothing now,
  // and the table is the edited query's.
  await step.locator("summary").first().click();
  await step.getByTestId("edit-sql").locator("summary").click();
  await step.getByRole("textbox", { name: "Edit SQL" }).fill(
    "SELECT symbol, date, close FROM (SELECT symbol, date, close, lag(close) OVER (PARTITION BY symbol ORDER BY date) " +
      "AS prev_close FROM daily_bars) WHERE close > prev_close ORDER BY date, symbol LIMIT 4",
  );
  await step.getByRole("button", { name: "Run edited SQL" }).click();
  await expect(step.getByTestId("edited-note")).toHaveText("The table shows your edited SQL.");
  await expect(step.locator("table tbody tr")).toHaveCount(4);
  await expect(step.getByTestId("lookahead-warning")).toHaveCount(0);
  // The edited result is charted: a bar per row of the edited query, its close over the date.
  const builder = step.getByTestId("chart-builder");
  await builder.locator("summary").click();
  await builder.getByLabel("Kind").selectOption("bar");
  await builder.getByLabel("X axis").selectOption("date");
  await expect(builder.getByRole("checkbox", { name: "close" })).toBeChecked();
  await builder.getByRole("button", { name: "Draw chart" }).click();
  const drawn = step.getByRole("img", { name: /^Bar chart: Your chart, 4 points$/ });
  await expect(drawn).toBeVisible();
  await expect(drawn.locator("rect.bar")).toHaveCount(4);
  console.expectClean();
  // The edit is kept with the answer: after a reload the step shows the user's SQL and its table.
  await page.reload();
  await hydrated(page);
  const kept = lastExchange(page).getByTestId("tool-step");
  await expect(kept.getByTestId("edited-note")).toHaveText("The table shows your edited SQL.");
  await kept.locator("summary").first().click();
  await expect(kept.locator("pre.sql")).toContainText("lag(close)");
  await kept.getByTestId("edit-sql").locator("summary").click();
  await expect(kept.getByRole("textbox", { name: "Edit SQL" })).toHaveValue(/lag\(close\)/);
  console.expectClean();
  // The guard still applies to what the user writes: refused with a 400 (which the browser logs, and nothing else).
  await kept.getByRole("textbox", { name: "Edit SQL" }).fill("DELETE FROM daily_bars");
  await kept.getByRole("button", { name: "Run edited SQL" }).click();
  await expect(kept.getByRole("alert")).toContainText("read-only");
  expect(console.problems).toEqual(["error: Failed to load resource: the server responded with a status of 400 (Bad Request)"]);
  await context.close();
});
