import { expect, test, type Locator } from "@playwright/test";

import { askAndWait, hydrated, lastExchange, signUpOnHome, watchConsole } from "./support";

/** Clicks the first checked number of `answer` and checks the panel it opens: the verdict, the SQL, the row with
 * its cell highlighted holding the number, and "data as of". */
async function openFirstCheck(answer: Locator) {
  const number = answer.locator(".markdown .num.checked").first();
  const written = (await number.textContent())!.trim();
  await number.click();
  const panel = answer.getByTestId("check-panel");
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId("check-verdict")).toHaveText("Found in the results");
  await expect(panel.locator("pre code")).toContainText("daily_bars");
  const hit = panel.locator("td.hit");
  await expect(hit).toHaveCount(1);
  // The cell holds the number as written (the answer may round it; the demo model copies it).
  expect(Number((await hit.textContent())!.trim())).toBeCloseTo(Number(written.replace(/[^0-9.-]/g, "")), 2);
  await expect(panel.getByTestId("check-as-of")).toHaveText(/^Data as of \d{4}-\d{2}-\d{2}/);
  await panel.getByRole("button", { name: "Close" }).click();
  await expect(panel).toHaveCount(0);
}

test("an answer's numbers are checked against its rows: the count, a click to the row it came from, live and after a reload", async ({
  page,
}) => {
  const console = watchConsole(page);
  await signUpOnHome(page, "checks");
  const exchange = await askAndWait(page, "What is the latest price of NOVA?", "closed at");
  const answer = exchange.getByTestId("answer");
  // The demo model states only numbers its query returned: every one is checked.
  const summary = exchange.getByTestId("checks-summary");
  await expect(summary).toHaveText(/^(\d+) of \1 numbers checked$/);
  await expect(answer.locator(".markdown .num.unverified")).toHaveCount(0);
  await openFirstCheck(answer);
  const counted = (await summary.textContent()) ?? "";

  // Loaded from the log: the same marks and panel.
  await page.reload();
  await hydrated(page);
  const stored = lastExchange(page);
  await expect(stored.getByTestId("checks-summary")).toHaveText(counted);
  await openFirstCheck(stored.getByTestId("answer"));

  // History shows the same count.
  await page.goto("/history");
  await hydrated(page);
  await expect(page.getByTestId("history-item").first().getByTestId("checks-summary")).toHaveText(/^(\d+) of \1 numbers checked$/);
  console.expectClean();
});
