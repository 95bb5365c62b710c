import { expect, type Page, test } from "@playwright/test";
import {
  address,
  askAndWait,
  createAccount,
  hydrated,
  loadAndReload,
  shots,
  signIn,
  signInDialog,
  signInThroughOutbox,
  watchConsole,
} from "./support";

/** The admin's address (scripts/test starts the server with it in ADMIN_EMAILS). */
const admin = process.env.E2E_ADMIN_EMAIL ?? "admin@e2e.example";

/** Asks `question` through the API as the page's user and waits for the whole answer; returns its events. */
async function seed(page: Page, question: string, conversationId?: string) {
  const response = await page.request.post("/chat/stream", {
    data: { message: question, conversation_id: conversationId },
    headers: { accept: "text/event-stream" },
  });
  expect(response.status(), question).toBe(200);
  const body = await response.text();
  expect(body).toContain("event: done");
  return body;
}

/**
 * The server-rendered HTML of `path` for the page's user (no script has run on it), without Leptos's hydration
 * markers (`<!>` between the parts of a translated sentence with values in it), so sentences read as shown.
 */
async function serverHtml(page: Page, path: string) {
  const response = await page.request.get(path);
  expect(response.status(), path).toBe(200);
  return (await response.text()).replaceAll("<!>", "");
}

const noHorizontalScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

test("every page survives a direct load and a reload, with data, and is interactive afterwards", async ({ page }) => {
  test.setTimeout(180_000);
  const console = watchConsole(page);
  const email = address("pages");
  await page.goto("/");
  await hydrated(page);
  await createAccount(page, email);

  // Data to show: a conversation asked in the browser, and 21 more answers (more than one page of history).
  await askAndWait(page, "latest price of NOVA", "closed at");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const conversationUrl = new URL(page.url()).pathname;
  const conversationId = conversationUrl.split("/").pop()!;
  await seed(page, "30-day return of NOVA and QBIT", conversationId);
  const topics = ["QBIT", "LITH", "SEMX", "BTC-USD", "ETH-USD", "NOVA", "AERO"];
  for (let i = 0; i < 20; i++) await seed(page, `latest price of ${topics[i % topics.length]} (${i})`);

  await test.step("/c/{id}: the stored exchanges, then a star", async () => {
    const html = await serverHtml(page, conversationUrl);
    expect(html).toContain("latest price of NOVA");
    expect(html).toContain("30-day return of NOVA and QBIT");
    await loadAndReload(page, conversationUrl, async () => {
      await expect(page.getByTestId("exchange")).toHaveCount(2);
      await expect(page.getByTestId("exchange").first()).toContainText("closed at");
    });
    const first = page.getByTestId("exchange").first();
    await first.getByRole("button", { name: "Save this answer" }).click();
    await first.getByPlaceholder("Add a note (optional)").fill("NOVA note");
    await first.getByRole("button", { name: "Save", exact: true }).click();
    await expect(first.getByRole("button", { name: "Saved — edit note" })).toBeVisible();
    await page.reload();
    await expect(page.getByTestId("exchange").first().getByTestId("star-note")).toHaveText("NOVA note");
    await page.screenshot({ path: `${shots}/conversation.png`, fullPage: true });
  });

  await test.step("/: the sidebar's conversations, then a question from an example", async () => {
    const html = await serverHtml(page, "/");
    expect(html).toContain("Ask your trading copilot");
    expect(html).toContain("latest price of NOVA");
    await loadAndReload(page, "/", async () => {
      await expect(page.getByTestId("conversation").first()).toBeVisible();
      await expect(page.getByRole("heading", { name: "Ask your trading copilot" })).toBeVisible();
    });
    await page.getByRole("button", { name: "Top movers today" }).click();
    await expect(page.getByTestId("exchange").last().getByTestId("answer")).toContainText("The biggest moves", {
      timeout: 30_000,
    });
    await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  });

  await test.step("/history: pages, search and Back/Forward through the URL", async () => {
    // The answer just ended: its log reaches Postgres a moment later.
    await expect.poll(() => serverHtml(page, "/history")).toContain("Top movers today");
    await loadAndReload(page, "/history", async () => {
      await expect(page.getByTestId("history-item")).toHaveCount(20);
      await expect(page.getByTestId("history-item").first()).toContainText("Top movers today");
      await expect(page.getByRole("link", { name: "Older →" })).toBeVisible();
    });
    await page.screenshot({ path: `${shots}/history-page1.png`, fullPage: true });
    await page.getByRole("link", { name: "Older →" }).click();
    await expect(page).toHaveURL(/\/history\?page=2$/);
    await expect(page.getByTestId("history-item")).toHaveCount(3);
    await expect(page.getByTestId("history-item").getByRole("heading", { name: "latest price of NOVA", exact: true })).toHaveCount(1);
    await page.goBack();
    await expect(page).toHaveURL(/\/history$/);
    await expect(page.getByTestId("history-item")).toHaveCount(20);
    await page.goForward();
    await expect(page).toHaveURL(/\/history\?page=2$/);
    await expect(page.getByTestId("history-item")).toHaveCount(3);

    expect(await serverHtml(page, "/history?page=2")).toContain("latest price of NOVA");
    await loadAndReload(page, "/history?page=2", async () => {
      await expect(page.getByTestId("history-item")).toHaveCount(3);
      await expect(page.getByRole("link", { name: "← Newer" })).toBeVisible();
    });

    const searched = await serverHtml(page, "/history?q=LITH");
    expect(searched).toContain("latest price of LITH (1)");
    await loadAndReload(page, "/history?q=LITH", async () => {
      await expect(page.getByLabel("Search your questions and answers")).toHaveValue("LITH");
      await expect(page.getByTestId("history-item").getByRole("heading", { name: /latest price of LITH/ })).toHaveCount(3);
    });
    await page.getByLabel("Search your questions and answers").fill("SEMX");
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(/\/history\?q=SEMX$/);
    await expect(page.getByTestId("history-item").getByRole("heading", { name: /latest price of SEMX/ })).toHaveCount(3);
    await page.goBack();
    await expect(page).toHaveURL(/\/history\?q=LITH$/);
    await expect(page.getByTestId("history-item").getByRole("heading", { name: /latest price of LITH/ })).toHaveCount(3);
    await expect(page.getByTestId("history-item").first()).toContainText("LITH");
  });

  await test.step("/saved and /saved?q=: the saves, then a note edited", async () => {
    // A second save, through the conversation page.
    await page.goto(conversationUrl);
    const second = page.getByTestId("exchange").nth(1);
    await second.getByRole("button", { name: "Save this answer" }).click();
    await second.getByRole("button", { name: "Save", exact: true }).click();
    await expect(second.getByRole("button", { name: "Saved — edit note" })).toBeVisible();

    expect(await serverHtml(page, "/saved")).toContain("NOVA note");
    await loadAndReload(page, "/saved", async () => {
      await expect(page.getByTestId("saved-item")).toHaveCount(2);
    });
    await loadAndReload(page, "/saved?q=QBIT", async () => {
      await expect(page.getByTestId("saved-item")).toHaveCount(1);
      await expect(page.getByTestId("saved-item")).toContainText("30-day return of NOVA and QBIT");
    });
    const item = page.getByTestId("saved-item");
    await item.getByRole("button", { name: "Edit note" }).click();
    await item.getByLabel("Note").fill("QBIT note");
    await item.getByRole("button", { name: "Save note" }).click();
    await expect(item.getByTestId("saved-note")).toHaveText("QBIT note");
    await page.reload();
    await expect(page.getByTestId("saved-item").getByTestId("saved-note")).toHaveText("QBIT note");
  });

  await test.step("/usage and /status", async () => {
    expect(await serverHtml(page, "/usage")).toContain("Questions today");
    await loadAndReload(page, "/usage", async () => {
      await expect(page.getByRole("heading", { name: "My usage" })).toBeVisible();
      await expect(page.getByTestId("spend-today")).toContainText("$0");
    });
    await page.screenshot({ path: `${shots}/usage.png`, fullPage: true });
    expect(await serverHtml(page, "/status")).toContain("PostgreSQL");
    await loadAndReload(page, "/status", async () => {
      await expect(page.getByTestId("status-postgres")).toContainText("PostgreSQL");
    });
    await page.getByRole("button", { name: "Show tables" }).click();
    await expect(page.getByTestId("duckdb-tables")).toBeVisible();
    await page.screenshot({ path: `${shots}/status.png`, fullPage: true });
  });

  await test.step("/login: a signed-in visitor is sent on", async () => {
    await page.goto("/login?next=%2Fsaved");
    await expect(page).toHaveURL(/\/saved$/);
    await page.goto("/login?next=https%3A%2F%2Fevil.example%2F");
    await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/$/);
  });
  console.expectClean();
});

test("/login works on its own, and sends the visitor on to where they were going", async ({ page }) => {
  const console = watchConsole(page);
  const email = address("login");
  await loadAndReload(page, "/login?next=%2Fusage", async () => {
    await expect(page.getByTestId("sign-in")).toBeVisible();
    await expect(page.getByRole("heading", { name: "Sign in to tradechat" })).toBeVisible();
  });
  await page.screenshot({ path: `${shots}/login-page.png` });
  await createAccount(page, email);
  await expect(page).toHaveURL(/\/usage$/);
  await expect(page.getByRole("heading", { name: "My usage" })).toBeVisible();
  console.expectClean();
});

test("/admin: the dashboard and its date range live in the URL", async ({ page }) => {
  const console = watchConsole(page);
  await page.goto("/admin");
  await hydrated(page);
  await signInThroughOutbox(page, admin);
  await expect(page.getByRole("link", { name: "Admin" })).toBeVisible();
  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "Admin dashboard" })).toBeVisible();
  const today = new Date().toISOString().slice(0, 10);
  const from = "2026-01-01";
  expect(await serverHtml(page, `/admin?from=${from}&to=${today}`)).toContain(`${from} to ${today}`);
  await loadAndReload(page, `/admin?from=${from}&to=${today}`, async () => {
    await expect(page.getByText(`${from} to ${today}`)).toBeVisible();
    await expect(page.getByLabel("From")).toHaveValue(from);
  });
  await page.getByLabel("From").fill("2026-02-01");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(new RegExp(`/admin\\?from=2026-02-01&to=${today}$`));
  await expect(page.getByText(`2026-02-01 to ${today}`)).toBeVisible();
  await page.goBack();
  await expect(page.getByText(`${from} to ${today}`)).toBeVisible();
  // A date range that cannot be read is an error message, not a crash.
  await page.goto("/admin?from=2026-02-30");
  await expect(page.getByRole("alert")).toContainText("The start date must look like");
  await page.goto("/admin");
  await page.screenshot({ path: `${shots}/admin.png`, fullPage: true });
  console.expectClean();
});

test.describe("on a phone (390×844)", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("chat, history and saved are usable without horizontal scrolling, and the sidebar folds away", async ({
    page,
  }) => {
    const console = watchConsole(page);
    const email = address("phone");
    await page.goto("/");
    await hydrated(page);
    await page.screenshot({ path: `${shots}/mobile-login.png` });
    await createAccount(page, email);
    const exchange = await askAndWait(page, "30-day return of NOVA and QBIT", "Returns over the last 30 days");
    await exchange.getByRole("button", { name: "Save this answer" }).click();
    await exchange.getByRole("button", { name: "Save", exact: true }).click();
    await expect(exchange.getByRole("button", { name: "Saved — edit note" })).toBeVisible();

    // The conversation list is folded behind its toggle.
    const list = page.locator(".sidebar-list");
    await expect(list).toBeHidden();
    await page.getByText("Conversations", { exact: true }).click();
    await expect(page.getByTestId("conversation").first()).toBeVisible();
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: `${shots}/mobile-chat.png`, fullPage: true });

    for (const [path, shot] of [
      ["/history", "mobile-history"],
      ["/saved", "mobile-saved"],
      ["/usage", "mobile-usage"],
      ["/status", "mobile-status"],
    ]) {
      await page.goto(path);
      await hydrated(page);
      await expect(page.locator("main")).not.toBeEmpty();
      expect(await noHorizontalScroll(page), path).toBe(true);
      await page.screenshot({ path: `${shots}/${shot}.png`, fullPage: true });
    }
    await page.goto("/saved");
    await expect(page.getByTestId("saved-item")).toHaveCount(1);
    console.expectClean();
  });
});

test("password sign-in keeps the session across reloads, and a wrong password says so", async ({ page }) => {
  const email = address("second");
  await page.goto("/history");
  await hydrated(page);
  await createAccount(page, email);
  await expect(page.getByText("No questions yet.")).toBeVisible();
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(signInDialog(page)).toBeVisible();
  await signIn(page, email, "wrong password!");
  await expect(page.getByRole("alert")).toContainText("Invalid login credentials");
  await signIn(page, email);
  await expect(page.getByTestId("user-label")).toHaveText(email);
  await page.reload();
  await expect(page.getByTestId("user-label")).toHaveText(email);
});
