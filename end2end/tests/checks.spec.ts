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

test("an answer's numbers are checked against its rows: the count, a click to the row it came from, live and after a reload; saved, it re-runs on current data", async ({
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

  // Saved, it re-runs on the current data: the demo data has not moved, so every checked number still holds.
  await page.goBack();
  await hydrated(page);
  const again = lastExchange(page);
  await again.getByRole("button", { name: "Save this answer" }).click();
  await again.getByRole("button", { name: "Save", exact: true }).click();
  await expect(again.getByRole("button", { name: "Saved — edit note" })).toBeVisible();
  await page.goto("/saved");
  await hydrated(page);
  const item = page.getByTestId("saved-item").first();
  await item.getByTestId("rerun").click();
  await expect(item.getByTestId("rerun-verdict")).toHaveText(/^All \d+ checked numbers still hold\.$/);
  await expect(item.getByTestId("rerun-step")).toContainText("0 rows added, 0 removed, 0 cells changed");
  // It is kept with the save, and can be scheduled.
  await page.reload();
  await hydrated(page);
  await expect(item.getByTestId("rerun-verdict")).toHaveText(/still hold/);
  await item.getByTestId("rerun-every").selectOption("weekly");
  await item.getByRole("button", { name: "Set", exact: true }).click();
  await page.reload();
  await hydrated(page);
  await expect(item.getByTestId("rerun-every")).toHaveValue("weekly");
  console.expectClean();
});

test("a tab whose chunk a deploy replaced reloads into the new bundle instead of going dead", async ({ page }) => {
  const console = watchConsole(page);
  await signUpOnHome(page, "stale-chunk");
  const exchange = await askAndWait(page, "What is the latest price of NOVA?", "closed at");
  // As after a deploy: the chunk this tab's bundle names is gone from the server, once.
  let refused = 0;
  await page.route(
    /\/pkg\/split_check_panel_[^/]*\.wasm$/,
    async (route) => {
      refused += 1;
      await route.fulfill({ status: 404, body: "gone" });
    },
    { times: 1 },
  );
  await page.evaluate(() => ((window as unknown as { beforeReload: boolean }).beforeReload = true));
  const reloaded = page.waitForEvent("load");
  await exchange.getByTestId("answer").locator(".markdown .num.checked").first().click();
  // The panic is caught by the hook, which reloads the page: a new window object, hydrated again.
  await reloaded;
  await hydrated(page);
  expect(await page.evaluate(() => (window as unknown as { beforeReload?: boolean }).beforeReload ?? null)).toBeNull();
  expect(refused).toBe(1);
  await openFirstCheck(lastExchange(page).getByTestId("answer"));
  // What the console saw is the refused fetch (and WebAssembly's complaint about it), the panic and the hook's note.
  const unexpected = console.problems.filter(
    (p) => !/404|HTTP status code is not ok|load callback should succeed|reloading|panicked|unreachable|RuntimeError/i.test(p),
  );
  expect(unexpected, "console problems besides the missing chunk").toEqual([]);
  expect(console.problems.some((p) => p.includes("reloading"))).toBe(true);
});
