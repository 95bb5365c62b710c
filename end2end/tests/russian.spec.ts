import { expect, test } from "@playwright/test";

import { address, hydrated, lastExchange, password, watchConsole } from "./support";

/**
 * The seed team's language: a browser that prefers Russian gets the whole journey in Russian — sign-up, an
 * example question answered in Russian by the offline model, dates in Russian form — and the switcher's choice of
 * English (or back) holds across reloads.
 */
test("a Russian-speaking newcomer signs up, asks in Russian, gets a Russian answer and switches languages", async ({ browser }) => {
  const context = await browser.newContext({ locale: "ru-RU" });
  const page = await context.newPage();
  const console = watchConsole(page);

  await page.goto("/");
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  const dialog = page.getByRole("dialog", { name: "Вход в tradechat" });
  await expect(dialog).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Главное меню" }).getByRole("link", { name: "История" })).toBeVisible();

  const email = address("ru");
  await page.getByTestId("sign-in").locator("label.tab").getByText("Пароль", { exact: true }).click();
  const panel = page.getByTestId("login-password");
  await panel.getByLabel("Электронная почта").fill(email);
  await panel.getByLabel("Пароль", { exact: true }).fill(password);
  // Errors come in the reader's language too: the server sends the reason, the page words it.
  await panel.getByRole("button", { name: "Войти", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Неверная почта или пароль.");
  // The refused sign-in is the one failed request the browser reports; nothing else may be.
  expect(console.problems).toEqual([expect.stringContaining("status of 400")]);
  console.problems.length = 0;
  await panel.getByRole("button", { name: "Создать аккаунт" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);

  await expect(page.getByRole("heading", { name: "Спросите торгового помощника" })).toBeVisible();
  await page.getByRole("button", { name: "Доходность NOVA и QBIT за 30 дней" }).click();
  const answer = lastExchange(page).getByTestId("answer");
  await expect(answer).toContainText("Доходность за 30 дней, от закрытия до закрытия", { timeout: 30_000 });
  await expect(answer).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });
  await expect(answer.locator(".markdown table")).toContainText("return_pct");
  await expect(answer).toContainText(/Окно: с \d{4}-\d{2}-\d{2} по \d{4}-\d{2}-\d{2}\./);

  // Typed, not clicked: the offline model reads Russian too.
  const box = page.getByRole("textbox", { name: "Спросите о рынках или своём портфеле" });
  await box.fill("Какая последняя цена NOVA?");
  await box.press("Enter");
  const price = lastExchange(page).getByTestId("answer");
  await expect(price).toContainText(/NOVA закрылся на [\d.]+/, { timeout: 30_000 });
  await expect(price).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });

  // A crafted address: someone else's (or no one's) conversation is not found, in Russian.
  await page.goto("/c/00000000-0000-4000-8000-000000000000");
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText("Этот разговор не найден.");

  // Loaded directly, the history page is Russian, with Russian dates.
  await page.goto("/history");
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("История");
  await expect(page.locator("main")).toContainText(/\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} UTC/);

  // The switcher: English in place, and it holds across a reload; then back.
  await page.getByTestId("locale-switch").click();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("History");
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("History");
  await expect(page.locator("main")).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await page.getByTestId("locale-switch").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("История");
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("link", { name: "Чат" })).toBeVisible();

  console.expectClean();
  await context.close();
});

test("without JavaScript the switcher still changes the language", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: "en-US" });
  const page = await context.newPage();
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await page.getByTestId("locale-switch").click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await expect(page.getByRole("heading", { name: "Вход в tradechat" })).toBeVisible();
  await context.close();
});
