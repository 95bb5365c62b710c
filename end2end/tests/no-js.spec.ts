import { expect, type Page, test } from "@playwright/test";
import { address, chooseTab, password } from "./support";

// Every form works as a plain HTML form: before the WASM has loaded, or with scripts off entirely.
test.use({ javaScriptEnabled: false });

const signInForms = (page: Page) => page.getByTestId("sign-in");

/** The newest outbox email to `email`, read from the outbox page as a person would. */
async function fromOutbox(page: Page, email: string) {
  await page.goto("/dev/outbox");
  const mail = page.getByTestId("outbox-mail").filter({ hasText: email }).first();
  await expect(mail).toBeVisible();
  return { mail, code: (await mail.getByTestId("outbox-code").textContent())!.trim() };
}

/** Reloads `path` until `check` passes (an answer is stored a moment after it ends). */
async function reloadUntil(page: Page, path: string, check: () => Promise<void>) {
  await expect(async () => {
    await page.goto(path);
    await check();
  }).toPass({ timeout: 30_000 });
}

test("without JavaScript: create an account, ask, star with a note, edit and remove it in Saved, rename and delete the conversation, sign out", async ({
  page,
}) => {
  const email = address("nojs");
  await page.goto("/saved");
  await expect(signInForms(page)).toBeVisible();
  // The tabs are radio buttons switched by CSS alone.
  await chooseTab(page, "Password");
  const panel = page.getByTestId("login-password");
  await expect(panel).toBeVisible();
  await panel.getByLabel("Email").fill(email);
  await panel.getByLabel("Password", { exact: true }).fill(password);
  await panel.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/saved$/);
  await expect(page.getByTestId("user-label")).toHaveText(email);
  await expect(page.getByText("Nothing saved yet")).toBeVisible();

  // Ask from the composer: the plain form starts the answer and opens its conversation.
  await page.goto("/");
  await page.locator("#composer-input").fill("latest price of NOVA");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const conversation = new URL(page.url()).pathname;
  await reloadUntil(page, conversation, async () => {
    await expect(page.getByTestId("exchange").getByTestId("answer")).toContainText("closed at", { timeout: 1_000 });
  });

  // Star it with a note.
  const exchange = page.getByTestId("exchange");
  await exchange.getByRole("button", { name: "Save this answer" }).click();
  await exchange.getByPlaceholder("Add a note (optional)").fill("Plain form note");
  await exchange.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page).toHaveURL(conversation);
  await expect(page.getByTestId("exchange").getByRole("button", { name: "Saved — edit note" })).toBeVisible();
  await expect(page.getByTestId("exchange").getByTestId("star-note")).toHaveText("Plain form note");

  // Saved: edit the note, then remove the save.
  await page.goto("/saved");
  const saved = page.getByTestId("saved-item");
  await expect(saved.getByTestId("saved-note")).toHaveText("Plain form note");
  await saved.getByRole("button", { name: "Edit note" }).click();
  await saved.getByLabel("Note").fill("Edited without scripts");
  await saved.getByRole("button", { name: "Save note" }).click();
  await expect(page).toHaveURL(/\/saved$/);
  await expect(page.getByTestId("saved-item").getByTestId("saved-note")).toHaveText("Edited without scripts");
  // A note that is too long is refused with the reason.
  await page.getByTestId("saved-item").getByRole("button", { name: "Edit note" }).click();
  await page.getByTestId("saved-item").getByLabel("Note").evaluate((el) => el.removeAttribute("maxlength"));
  await page.getByTestId("saved-item").getByLabel("Note").fill("x".repeat(501));
  await page.getByTestId("saved-item").getByRole("button", { name: "Save note" }).click();
  await expect(page.getByRole("alert")).toContainText("A note can be at most 500 characters (this one has 501).");
  await page.getByTestId("saved-item").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByText("Nothing saved yet")).toBeVisible();

  // Rename the conversation, then delete it (asked once).
  await page.goto(conversation);
  const item = page.getByTestId("conversation").first();
  await item.getByRole("button", { name: /Options for/ }).click();
  await item.getByLabel("Title").fill("Renamed without scripts");
  await item.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByTestId("conversation").first()).toContainText("Renamed without scripts");
  await page.getByTestId("conversation").first().getByRole("button", { name: /Options for/ }).click();
  await page.getByTestId("conversation").first().getByRole("button", { name: "Delete…" }).click();
  await page.getByTestId("conversation").first().getByRole("button", { name: "Delete conversation" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("conversation")).toHaveCount(0);

  // Sign out.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.goto("/history");
  await expect(signInForms(page)).toBeVisible();
});

test("without JavaScript: a magic link and an email code sign in, through /login and the outbox", async ({ page }) => {
  const email = address("nojs-link");
  await page.goto("/login?next=%2Fusage");
  await page.getByTestId("login-link").getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  // The plain form comes back to /login, which says where the email went.
  await expect(page).toHaveURL(/\/login\?/);
  await expect(page.getByTestId("email-sent")).toContainText(`we sent a sign-in link (and a 6-digit code) to ${email}`);
  await page.getByTestId("outbox-hint").getByRole("link", { name: "local outbox" }).click();
  const { mail } = await fromOutbox(page, email);
  await mail.getByRole("link", { name: `Sign in as ${email}` }).click();
  await page.getByRole("button", { name: `Continue as ${email}` }).click();
  await expect(page).toHaveURL(/\/usage$/);
  await expect(page.getByTestId("user-label")).toHaveText(email);

  // Signed out, the same address signs in with a code instead.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.goto("/login");
  await chooseTab(page, "Email code");
  await page.getByTestId("login-code").getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a code" }).click();
  await expect(page.getByTestId("email-sent")).toContainText("we sent a 6-digit code");
  const back = page.url();
  const { code } = await fromOutbox(page, email);
  await page.goto(back);
  await page.getByLabel("6-digit code").fill(code);
  await page.getByRole("button", { name: "Sign in with the code" }).click();
  await expect(page.getByTestId("user-label")).toHaveText(email);

  // Signed out again, a spent link lands on /login with the reason and a way to ask for a new one.
  await page.getByTestId("user-label").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.goto("/dev/outbox");
  await page.getByTestId("outbox-mail").filter({ hasText: email }).last().getByRole("link", { name: /Sign in as/ }).click();
  await expect(page).toHaveURL(/\/login\?.*error=link_used/);
  await expect(page.getByTestId("link-error")).toContainText("already been used");
  await expect(page.getByRole("button", { name: "Email me a sign-in link" })).toBeVisible();
});

test("without JavaScript: an admin overrides a user's limits", async ({ page, browser }) => {
  const admin = process.env.E2E_ADMIN_EMAIL ?? "admin@e2e.example";
  // A user with a question, so they appear on the dashboard.
  const userContext = await browser.newContext({ javaScriptEnabled: false });
  const user = await userContext.newPage();
  const email = address("limited");
  await user.goto("/login");
  await chooseTab(user, "Password");
  await user.getByTestId("login-password").getByLabel("Email").fill(email);
  await user.getByTestId("login-password").getByLabel("Password", { exact: true }).fill(password);
  await user.getByTestId("login-password").getByRole("button", { name: "Create account" }).click();
  await user.locator("#composer-input").fill("top movers today");
  await user.getByRole("button", { name: "Send" }).click();
  await expect(user).toHaveURL(/\/c\//);

  // The admin signs in by link and sets the user's rate limit.
  await page.goto("/login?next=%2Fadmin");
  await page.getByTestId("login-link").getByLabel("Email").fill(admin);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  const { mail } = await fromOutbox(page, admin);
  await mail.getByRole("link", { name: `Sign in as ${admin}` }).click();
  await page.getByRole("button", { name: `Continue as ${admin}` }).click();
  await expect(page).toHaveURL(/\/admin$/);
  const row = page.getByTestId("activity").locator("tr").filter({ hasText: email });
  await expect(async () => {
    await page.reload();
    await expect(row).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await row.getByRole("button", { name: "Override" }).click();
  await row.getByLabel("per min").fill("3");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/admin$/);

  // The user sees the new limit.
  await user.goto("/usage");
  await expect(user.getByText("3 questions/min")).toBeVisible();
  await userContext.close();
});
