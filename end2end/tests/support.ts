import { expect, type Page } from "@playwright/test";

export const shots = "test-results/screenshots";
export const password = "correct horse battery";

/** A fresh address for a test user. */
export function address(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/**
 * Collects console errors and warnings (hydration errors, CSP violations, panics) and failed page scripts.
 * `expectClean()` fails the test if any arrived.
 */
export function watchConsole(page: Page) {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  return {
    problems,
    expectClean: () => expect(problems, "console errors or warnings").toEqual([]),
  };
}

/** Waits until the page has hydrated (the WASM has run and attached its handlers: `<html data-hydrated>`). */
export async function hydrated(page: Page) {
  await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
}

/** The sign-in dialog a signed-out page shows. */
export const signInDialog = (page: Page) => page.getByRole("dialog", { name: "Sign in to tradechat" });

/** Picks one of the sign-in tabs (radio buttons styled as tabs) of the sign-in forms (dialog or /login). */
export async function chooseTab(page: Page, name: "Magic link" | "Email code" | "Password") {
  await page.getByTestId("sign-in").locator("label.tab").getByText(name, { exact: true }).click();
}

/** Creates an account with a password from the sign-in dialog on the current page. */
export async function createAccount(page: Page, email: string) {
  await chooseTab(page, "Password");
  const panel = page.getByTestId("login-password");
  await panel.getByLabel("Email").fill(email);
  await panel.getByLabel("Password", { exact: true }).fill(password);
  await panel.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);
}

/** Opens `/` signed out, as a newcomer does, and creates an account from its sign-in dialog; returns the address. */
export async function signUpOnHome(page: Page, prefix: string) {
  await page.goto("/");
  await hydrated(page);
  await expect(signInDialog(page)).toBeVisible();
  const email = address(prefix);
  await createAccount(page, email);
  return email;
}

/** Signs in with a password from the sign-in dialog on the current page. */
export async function signIn(page: Page, email: string, secret = password) {
  await chooseTab(page, "Password");
  const panel = page.getByTestId("login-password");
  await panel.getByLabel("Email").fill(email);
  await panel.getByLabel("Password", { exact: true }).fill(secret);
  await panel.getByRole("button", { name: "Sign in", exact: true }).click();
}

/**
 * Signs in as a newcomer does: asks for a magic link, follows the sign-in form's hint to the local outbox, opens
 * the link there and continues.
 */
export async function signInThroughOutbox(page: Page, email: string) {
  await chooseTab(page, "Magic link");
  await page.getByTestId("login-link").getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await expect(page.getByTestId("email-sent")).toContainText(`we sent a sign-in link (and a 6-digit code) to ${email}`);
  await page.getByTestId("outbox-hint").getByRole("link", { name: "local outbox" }).click();
  await expect(page).toHaveURL(/\/dev\/outbox$/);
  const mail = page.getByTestId("outbox-mail").filter({ hasText: email }).first();
  await expect(mail.getByTestId("outbox-code")).toHaveText(/^\d{6}$/);
  await mail.getByRole("link", { name: `Sign in as ${email}` }).click();
  await expect(page).toHaveURL(/\/auth\/confirm\?/);
  await page.getByRole("button", { name: `Continue as ${email}` }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);
}

/** Asks a question in the composer, once the page has hydrated: before that, Enter posts the plain form (a page
 * load, not the live stream these helpers follow), and a slow machine may still be hydrating a page it just navigated
 * to. Typing and pressing Enter before hydration have their own tests (foundation.spec.ts). */
export async function ask(page: Page, question: string) {
  await hydrated(page);
  const box = page.locator("#composer-input");
  await expect(box).toBeEnabled();
  await box.fill(question);
  await box.press("Enter");
}

export const lastExchange = (page: Page) => page.getByTestId("exchange").last();

/** Asks and waits for the answer to end with `expected` in it. */
export async function askAndWait(page: Page, question: string, expected: string | RegExp) {
  await ask(page, question);
  const exchange = lastExchange(page);
  await expect(exchange.getByTestId("answer")).toContainText(expected, { timeout: 30_000 });
  await expect(exchange.getByTestId("answer")).toHaveAttribute("aria-busy", "false", { timeout: 30_000 });
  return exchange;
}

/** Loads `path` directly, checks it, reloads it and checks it again: the way people arrive. */
export async function loadAndReload(page: Page, path: string, check: () => Promise<void>) {
  await page.goto(path);
  await hydrated(page);
  await check();
  await page.reload();
  await hydrated(page);
  await check();
}
