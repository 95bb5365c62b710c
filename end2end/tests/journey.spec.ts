import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import {
  address,
  askAndWait,
  ask,
  createAccount,
  hydrated,
  lastExchange,
  shots,
  signInDialog,
  signInThroughOutbox,
  watchConsole,
} from "./support";

test("the whole journey: a newcomer signs in through the outbox, asks, stars, reloads mid-stream, searches history, edits saved, uses the conversation tools and signs out", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const email = address("journey");
  const console = watchConsole(page);
  await page.goto("/");
  await expect(signInDialog(page)).toBeVisible();
  await page.screenshot({ path: `${shots}/login.png` });

  // The newcomer asks for a link; the form says the mail is in the local outbox and links there.
  await hydrated(page);
  await signInThroughOutbox(page, email);
  await expect(page).toHaveURL(/\/$/);
  await expect(signInDialog(page)).toBeHidden();

  // Ask: the answer streams in, with a tool step and a chart.
  const first = await askAndWait(page, "chart NOVA", "Here is NOVA");
  await expect(first.getByTestId("tool-step").first()).toBeVisible();
  await expect(first.locator("figure.chart svg")).toBeVisible();
  await expect(first.getByTestId("answer-meta")).toContainText("offline-demo");
  // The new conversation's URL came through the router.
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const conversationUrl = page.url();
  await page.screenshot({ path: `${shots}/chat.png`, fullPage: true });

  // Copy the answer and a step's SQL.
  await first.getByRole("button", { name: "Copy answer" }).click();
  await expect(first.getByRole("button", { name: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain("Here is **NOVA**");
  const step = first.getByTestId("tool-step").filter({ hasText: "Query" }).first();
  await step.locator("summary").first().click();
  await step.getByRole("button", { name: "Copy SQL" }).click();
  const sql = await page.evaluate(() => navigator.clipboard.readText());
  expect(sql).toMatch(/SELECT/i);
  await expect(step.locator("pre.sql")).toContainText(sql.trim().slice(0, 20));

  // Download the step's whole result as CSV: every row, quoted correctly, with a header.
  const rows = Number((await step.locator("summary").first().textContent())?.match(/(\d+) rows?/)?.[1]);
  const [csvDownload] = await Promise.all([page.waitForEvent("download"), step.getByRole("button", { name: "Download CSV" }).click()]);
  const csv = await readFile((await csvDownload.path())!, "utf8");
  const lines = csv.trim().split("\n");
  expect(lines.length).toBe(rows + 1);
  expect(lines[0]).toMatch(/^[a-z_]+(,[a-z_]+)+$/);

  // Star it with a note.
  await first.getByRole("button", { name: "Save this answer" }).click();
  await first.getByPlaceholder("Add a note (optional)").fill("Watch the 90-day range");
  await first.getByRole("button", { name: "Save", exact: true }).click();
  await expect(first.getByRole("button", { name: "Saved — edit note" })).toBeVisible();
  await expect(first.getByTestId("star-note")).toHaveText("Watch the 90-day range");

  // A second question; reload in the middle of its stream: the answer completes after the reload.
  await ask(page, "30-day return of NOVA and LITH");
  const second = lastExchange(page);
  await expect(second.getByTestId("answer")).not.toBeEmpty();
  await expect(second.getByTestId("answer")).toHaveAttribute("aria-busy", "true");
  await page.reload();
  const resumed = lastExchange(page);
  await expect(resumed.getByTestId("answer")).toContainText("Returns over the last 30 days", { timeout: 30_000 });
  await expect(resumed.getByTestId("answer")).toContainText("LITH");
  await expect(resumed.getByRole("button", { name: "Save this answer" })).toBeVisible();
  await expect(page.getByTestId("exchange").first().getByText("in context")).toBeVisible();
  await resumed.getByRole("button", { name: "Save this answer" }).click();
  await resumed.getByRole("button", { name: "Save", exact: true }).click();
  await expect(resumed.getByRole("button", { name: "Saved — edit note" })).toBeVisible();

  // Rename the conversation from the sidebar.
  const conversation = page.getByTestId("conversation").first();
  await conversation.getByRole("button", { name: /Options for/ }).click();
  await conversation.getByLabel("Title").fill("NOVA research");
  await conversation.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByTestId("conversation").first()).toContainText("NOVA research");

  // Export it as Markdown and as JSON.
  const menu = page.getByTestId("conversation").first();
  await menu.getByRole("button", { name: /Options for/ }).click();
  const [md] = await Promise.all([page.waitForEvent("download"), menu.getByRole("menuitem", { name: "Export as Markdown" }).click()]);
  expect(md.suggestedFilename()).toBe("nova-research.md");
  const markdown = await readFile((await md.path())!, "utf8");
  expect(markdown).toContain("# NOVA research");
  expect(markdown).toContain("## 1. chart NOVA");
  expect(markdown).toContain("## 2. 30-day return of NOVA and LITH");
  expect(markdown).toMatch(/```sql\nSELECT/);
  const [json] = await Promise.all([page.waitForEvent("download"), menu.getByRole("menuitem", { name: "Export as JSON" }).click()]);
  const exported = JSON.parse(await readFile((await json.path())!, "utf8"));
  expect(exported.title).toBe("NOVA research");
  expect(exported.exchanges).toHaveLength(2);
  expect(exported.exchanges[0].steps[0].input.sql).toMatch(/SELECT/i);

  // History: found by search, the search in the URL.
  await page.getByRole("link", { name: "History" }).click();
  await page.getByLabel("Search your questions and answers").fill("chart");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/history\?q=chart$/);
  await expect(page.getByTestId("history-item")).toHaveCount(1);
  await expect(page.getByTestId("history-item")).toContainText("chart NOVA");
  const group = page.getByTestId("history-conversation");
  await expect(group.getByRole("heading", { level: 2 })).toHaveText("NOVA research");
  await page.screenshot({ path: `${shots}/history.png`, fullPage: true });
  await group.getByRole("link", { name: "Open conversation" }).click();
  await expect(page).toHaveURL(conversationUrl);
  await expect(page.getByTestId("exchange")).toHaveCount(2);

  // Saved: the note, edited; then one removed.
  await page.getByRole("link", { name: "Saved" }).click();
  await expect(page.getByTestId("saved-item")).toHaveCount(2);
  const saved = page.getByTestId("saved-item").filter({ hasText: "chart NOVA" });
  await expect(saved.getByTestId("saved-note")).toHaveText("Watch the 90-day range");
  await page.screenshot({ path: `${shots}/saved.png`, fullPage: true });
  await saved.getByRole("button", { name: "Edit note" }).click();
  await saved.getByLabel("Note").fill("Sold half");
  await saved.getByRole("button", { name: "Save note" }).click();
  await expect(saved.getByTestId("saved-note")).toHaveText("Sold half");
  await saved.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("saved-item")).toHaveCount(1);
  await expect(page.getByTestId("saved-item")).toContainText("30-day return of NOVA and LITH");

  // Delete the conversation (asked once): it leaves the sidebar and history; its saved answer stays in Saved.
  await page.goto(conversationUrl);
  const item = page.getByTestId("conversation").first();
  await item.getByRole("button", { name: /Options for/ }).click();
  await item.getByRole("button", { name: "Delete…" }).click();
  await item.getByRole("button", { name: "Delete conversation" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("conversation")).toHaveCount(0);
  await page.goto("/history");
  await expect(page.getByText("No questions yet.")).toBeVisible();
  await page.goto("/saved");
  await expect(page.getByTestId("saved-item")).toHaveCount(1);
  await expect(page.getByTestId("saved-item").getByRole("link", { name: "Open conversation" })).toHaveCount(0);

  // Sign out ends the session, also after a reload.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(signInDialog(page)).toBeVisible();
  await page.reload();
  await expect(signInDialog(page)).toBeVisible();
  console.expectClean();

  // A second user sees none of it: the first user's conversation is not found.
  const other = address("other");
  await hydrated(page);
  await createAccount(page, other);
  await page.goto("/history");
  await expect(page.getByText("No questions yet.")).toBeVisible();
  await page.goto(conversationUrl);
  await expect(page.getByRole("alert")).toContainText("That conversation was not found.");
  await expect(page.getByTestId("exchange")).toHaveCount(0);
});

test("a signed-out visitor cannot call server functions, downloads or the chat stream that need a user", async ({ request }) => {
  for (const path of ["/api/history/search", "/api/saved/list", "/api/conversations/list"]) {
    const response = await request.post(path, { form: { page: "0" } });
    expect(response.status(), path).toBe(401);
  }
  const stream = await request.post("/chat/stream", { data: { message: "hi" } });
  expect(stream.status()).toBe(401);
  const csv = await request.post("/chat/results.csv", { form: { sql: "SELECT 1" } });
  expect(csv.status()).toBe(401);
  const exported = await request.get("/chat/conversations/00000000-0000-0000-0000-000000000000/export");
  expect(exported.status()).toBe(401);
});
