import { expect, type Page, test } from "@playwright/test";

const shots = "test-results/screenshots";

/** The newest sign-in email to `to` in the built-in auth's outbox. */
async function outbox(page: Page, to: string): Promise<{ link: string; code: string }> {
  let mail: { to: string; link: string; code: string } | undefined;
  await expect(async () => {
    const response = await page.request.get("/dev/outbox.json");
    const mails = (await response.json()) as { to: string; link: string; code: string }[];
    mail = mails.find((m) => m.to === to);
    expect(mail).toBeDefined();
  }).toPass();
  return mail!;
}

async function ask(page: Page, question: string) {
  const box = page.locator("#composer-input");
  await expect(box).toBeEnabled();
  await box.fill(question);
  await box.press("Enter");
}

const lastExchange = (page: Page) => page.getByTestId("exchange").last();

test("the whole journey: magic link, streamed answer with a tool step and a chart, star with a note, reload mid-stream, history, saved, sign out", async ({
  page,
}) => {
  const email = `journey-${Date.now()}@example.com`;
  const consoleErrors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") consoleErrors.push(`${msg.type()}: ${msg.text()}`);
  });
  await page.goto("/");
  const dialog = page.getByRole("dialog", { name: "Sign in to tradechat" });
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: `${shots}/login.png` });

  // Sign in by magic link, from the outbox.
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await expect(page.getByRole("status")).toContainText(`Check your email`);
  const { link } = await outbox(page, email);
  await page.goto(link);
  await expect(page.getByTestId("user-label")).toHaveText(email);
  await expect(dialog).toBeHidden();

  // Ask: the answer streams in, with a tool step and a chart.
  await ask(page, "chart NOVA");
  const first = lastExchange(page);
  await expect(first.getByTestId("tool-step").first()).toBeVisible();
  await expect(first.locator("figure.chart svg")).toBeVisible();
  await expect(first.getByTestId("answer")).toContainText("Here is NOVA");
  await expect(first.getByTestId("answer-meta")).toContainText("offline-demo");
  await page.screenshot({ path: `${shots}/chat.png`, fullPage: true });

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
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const conversationUrl = page.url();
  // Still being written when the page goes away.
  await expect(second.getByTestId("answer")).toHaveAttribute("aria-busy", "true");
  await page.reload();
  const resumed = lastExchange(page);
  await expect(resumed.getByTestId("answer")).toContainText("Returns over the last 30 days", { timeout: 30_000 });
  await expect(resumed.getByTestId("answer")).toContainText("LITH");
  await expect(resumed.getByRole("button", { name: "Save this answer" })).toBeVisible();
  // The earlier answer goes to the model as context now.
  await expect(page.getByTestId("exchange").first().getByText("in context")).toBeVisible();
  // Star the resumed answer too (no note): it stays saved to the end.
  await resumed.getByRole("button", { name: "Save this answer" }).click();
  await resumed.getByRole("button", { name: "Save", exact: true }).click();
  await expect(resumed.getByRole("button", { name: "Saved — edit note" })).toBeVisible();

  // History: found by search.
  await page.getByRole("link", { name: "History" }).click();
  await page.getByLabel("Search your questions and answers").fill("chart");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("history-item")).toHaveCount(1);
  await expect(page.getByTestId("history-item")).toContainText("chart NOVA");
  // Listed under its conversation (titled by its first question), which opens to continue.
  const group = page.getByTestId("history-conversation");
  await expect(group).toHaveCount(1);
  await expect(group.getByRole("heading", { level: 2 })).toHaveText("chart NOVA");
  await page.screenshot({ path: `${shots}/history.png`, fullPage: true });
  await group.getByRole("link", { name: "Open conversation" }).click();
  await expect(page).toHaveURL(conversationUrl);
  await expect(page.getByTestId("exchange")).toHaveCount(2);

  // Saved: the note, edited; then unstarred.
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

  // Sign out ends the session, also after a reload.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(dialog).toBeVisible();
  await page.reload();
  await expect(dialog).toBeVisible();
  // No hydration warnings, CSP violations or script errors along the way (a 404 page below logs one by design).
  expect(consoleErrors).toEqual([]);

  // A second user sees none of it: no history, no saves, and the first user's conversation is not found.
  const other = `other-${Date.now()}@example.com`;
  await page.getByRole("tab", { name: "Password" }).click();
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Email").fill(other);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(other);
  await page.goto("/history");
  await expect(page.getByText("No questions yet.")).toBeVisible();
  await page.goto("/saved");
  await expect(page.getByText("Nothing saved yet")).toBeVisible();
  await page.goto(conversationUrl);
  await expect(page.getByRole("alert")).toContainText("That conversation was not found.");
  await expect(page.getByTestId("exchange")).toHaveCount(0);
});

test("password sign-up and sign-in keep the session across reloads, and a second user sees none of the first user's data", async ({
  page,
}) => {
  const email = `second-${Date.now()}@example.com`;
  await page.goto("/history");
  await page.getByRole("tab", { name: "Password" }).click();
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);
  await expect(page.getByText("No questions yet.")).toBeVisible();
  await page.goto("/saved");
  await expect(page.getByText("Nothing saved yet")).toBeVisible();

  // Sign out, then back in with the password; the session survives a reload.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.getByRole("tab", { name: "Password" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Invalid login credentials");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);
  await page.reload();
  await expect(page.getByTestId("user-label")).toHaveText(email);

  // An example question on the empty chat page asks it.
  await page.goto("/");
  await page.getByRole("button", { name: "Top movers today" }).click();
  await expect(lastExchange(page).getByTestId("answer")).toContainText("The biggest moves", { timeout: 30_000 });
});

test("a signed-out visitor cannot call server functions or the chat stream that need a user", async ({ request }) => {
  for (const path of ["/api/history/search", "/api/saved/list", "/api/conversations/list"]) {
    const response = await request.post(path, { form: { page: "0" } });
    expect(response.status(), path).toBe(401);
  }
  const stream = await request.post("/chat/stream", { data: { message: "hi" } });
  expect(stream.status()).toBe(401);
});

test("my usage shows spend against the budget, and the admin link is only for admins", async ({ page }) => {
  const email = `usage-${Date.now()}@example.com`;
  await page.goto("/usage");
  await page.getByRole("tab", { name: "Password" }).click();
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "My usage" })).toBeVisible();
  await expect(page.getByTestId("spend-today")).toContainText("$0");
  await expect(page.getByRole("meter", { name: "Today" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.screenshot({ path: "test-results/screenshots/usage.png", fullPage: true });
  const admin = await page.request.post("/api/admin/dashboard");
  expect(admin.status()).toBe(403);
});
