import { expect, test } from "@playwright/test";
import { hydrated, lastExchange, signUpOnHome, watchConsole } from "./support";

test("the page renders on the server, before any script runs", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const response = await page.goto("/status");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Status", exact: true })).toBeVisible();
  // Signed out, the chat page renders the sign-in dialog on the server too.
  await page.goto("/");
  await expect(page.getByRole("dialog", { name: "Sign in to tradechat" })).toBeVisible();
  await context.close();
});

test("hydration makes the page interactive and a server function brings data from Postgres and DuckDB", async ({
  page,
}) => {
  const consoleErrors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  await page.goto("/status");

  // The status panel's data was fetched on the server during SSR.
  await expect(page.getByTestId("status-postgres")).toContainText("PostgreSQL");
  await expect(page.getByTestId("status-duckdb")).toContainText("DuckDB");

  // A click changes client-side state: only possible once the WASM has hydrated the page.
  const toggle = page.getByRole("button", { name: "Show tables" });
  await expect(async () => {
    await toggle.click();
    await expect(page.getByTestId("duckdb-tables")).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await expect(page.getByTestId("duckdb-tables").locator("tbody tr").first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Hide tables" })).toHaveAttribute("aria-pressed", "true");

  // Refresh calls the server function from the browser: a real round trip to the server.
  const before = await page.getByTestId("checked-at").textContent();
  const roundTrip = page.waitForResponse((r) => r.url().includes("/api/system_status") && r.status() === 200);
  await page.waitForTimeout(1_100); // checked-at has one-second resolution
  await page.getByRole("button", { name: "Refresh" }).click();
  const response = await roundTrip;
  const body = await response.json();
  expect(body.postgres.ok).toBe(true);
  expect(body.duckdb.ok).toBe(true);
  expect(body.migrations_applied).toBeGreaterThan(0);
  expect(body.duckdb_tables.length).toBeGreaterThan(0);
  await expect(page.getByTestId("checked-at")).not.toHaveText(before ?? "");

  expect(consoleErrors).toEqual([]);
});

test("healthz reports both stores", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.status).toBe("ok");
  expect(body.postgres.ok).toBe(true);
  expect(body.duckdb.ok).toBe(true);
});

test("a question typed before the page hydrates is the one sent once it has", async ({ page }) => {
  const console = watchConsole(page);
  await signUpOnHome(page, "early-typist");
  // Hold the WASM back so the reloaded page stays server-rendered while the user types into it.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.reload();
  await page.locator("#composer-input").fill("What is the latest price of NOVA?");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  release();
  await hydrated(page);
  await expect(page.locator("#composer-input")).toHaveValue("What is the latest price of NOVA?");
  await page.locator("#composer-input").press("Enter");
  await expect(lastExchange(page).getByTestId("answer")).toContainText("NOVA", { timeout: 30_000 });
  await expect(page.locator("#composer-input")).toHaveValue("");
  console.expectClean();
});

test("Enter pressed before the page hydrates sends the question, as the Send button would", async ({ page }) => {
  const console = watchConsole(page);
  await signUpOnHome(page, "early-sender");
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.reload();
  const box = page.locator("#composer-input");
  await box.fill("What is the latest price of NOVA?");
  // Shift+Enter still adds a line; plain Enter sends the plain form, whose answer opens in its conversation.
  await box.press("Shift+Enter");
  await expect(box).toHaveValue("What is the latest price of NOVA?\n");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  // Twice, as an impatient user would: the post on its way sends nothing more.
  await box.press("Enter");
  await box.press("Enter");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  release();
  await hydrated(page);
  await expect(lastExchange(page).getByTestId("answer")).toContainText("NOVA", { timeout: 30_000 });
  await expect(page.getByTestId("exchange")).toHaveCount(1);
  // Once hydrated, Enter is the app's own: the answer streams in place, with no page load.
  // A mark on this window object: a page load (the plain form posting again) would lose it.
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  await box.fill("And of ORBX?");
  await box.press("Enter");
  await expect(page.getByTestId("exchange")).toHaveCount(2, { timeout: 30_000 });
  await expect(box).toHaveValue("");
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  console.expectClean();
});
