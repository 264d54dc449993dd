import { test, expect, hydrated } from './fixtures';

test.beforeEach(async ({ page }) => {
  await page.goto('/calculator');
  await hydrated(page);
});

test('moving the sliders to 100 GB and 50 % shows 150 GB total', async ({ page }) => {
  const live = page.locator('#live-range');
  const churn = page.locator('#churn-range');
  // Start elsewhere so the result really changes.
  await live.fill('3'); // log scale: 10^3 = 1000 GB
  await churn.fill('10');
  await expect(page.getByTestId('total')).toHaveText('1100 GB');
  await live.fill('2'); // 10^2 = 100 GB
  await churn.fill('50');
  await expect(page.locator('#live-gb')).toHaveValue('100');
  await expect(page.locator('#churn-pct')).toHaveValue('50');
  await expect(page.getByTestId('live')).toHaveText('100 GB');
  await expect(page.getByTestId('hold')).toHaveText('50 GB');
  await expect(page.getByTestId('total')).toHaveText('150 GB');
});

test('the sliders work with the keyboard', async ({ page }) => {
  await page.locator('#churn-range').fill('50');
  await page.locator('#churn-range').focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('#churn-pct')).toHaveValue('51');
  await expect(page.getByTestId('total')).toHaveText('151 GB');
});

test('typing numbers updates the result as the user types', async ({ page }) => {
  await page.locator('#live-gb').fill('400');
  await page.locator('#churn-pct').fill('25');
  await expect(page.getByTestId('hold')).toHaveText('100 GB');
  await expect(page.getByTestId('total')).toHaveText('500 GB');
  await expect(page.locator('#live-range')).toHaveValue(String(Math.log10(400).toFixed(3)));
});

test('typing 5000 GB is flagged in place and clamped to 1000 GB', async ({ page }) => {
  const box = page.locator('#live-gb');
  await box.fill('5000');
  await expect(page.locator('#live-note')).toHaveText('5000 GB is above the maximum; using 1000 GB');
  await expect(box).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('live')).toHaveText('1000 GB');
  await expect(page.getByTestId('total')).toHaveText('1500 GB');
  await box.press('Enter');
  await expect(box).toHaveValue('1000');
});

test('text that is not a number is flagged and never shows NaN', async ({ page }) => {
  await page.locator('#churn-pct').fill('lots');
  await expect(page.locator('#churn-note')).toContainText('is not a number');
  await expect(page.getByTestId('total')).toHaveText('150 GB');
  await expect(page.locator('body')).not.toContainText('NaN');
  await page.locator('#churn-pct').fill('-20');
  await expect(page.locator('#churn-note')).toHaveText('-20 % is below the minimum; using 0 %');
  await expect(page.getByTestId('total')).toHaveText('100 GB');
});

test('retention, snapshots per day and growth change the steady state and the chart', async ({ page }) => {
  await page.locator('#live-gb').fill('100');
  await page.locator('#churn-pct').fill('10');
  await page.locator('#retention-days').fill('7');
  await page.locator('#snapshots-per-day').fill('1');
  // Daily snapshots kept a week at 10 % churn a day: 70 % of the data is held.
  await expect(page.getByTestId('hold')).toHaveText('70 GB');
  await expect(page.getByTestId('total')).toHaveText('170 GB');
  await expect(page.getByTestId('growth-chart')).toHaveAttribute('aria-label', /snapshot hold from 0 to 70 GB over 7 days/);
  await page.locator('#growth-pct').fill('1');
  // Live data grows to 100 × 1.01^7 = 107.2 GB by day 7.
  await expect(page.getByTestId('live')).toHaveText('107.2 GB');
  await page.locator('#retention-days').fill('900');
  await expect(page.locator('#retention-note')).toHaveText('900 days is above the maximum; using 365 days');
});

test('the URL follows the inputs and a shared link restores them', async ({ page, browser, baseURL }) => {
  await page.locator('#live-gb').fill('400');
  await page.locator('#churn-pct').fill('20');
  await page.locator('#retention-days').fill('14');
  await page.locator('#snapshots-per-day').fill('2');
  await page.locator('#growth-pct').fill('0.5');
  await expect(page).toHaveURL(/retention_days=14/);
  await expect(page).toHaveURL(/live_gb=400&churn_pct=20&growth_pct=0\.5&retention_days=14&snapshots_per_day=2$/);
  const total = await page.getByTestId('total').textContent();
  const shared = await page.getByTestId('share-link').getAttribute('href');
  expect(shared).toBe(new URL(page.url()).pathname + new URL(page.url()).search);

  const context = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
  const other = await context.newPage();
  await other.goto(shared!);
  await hydrated(other);
  await expect(other.locator('#live-gb')).toHaveValue('400');
  await expect(other.locator('#retention-days')).toHaveValue('14');
  await expect(other.locator('#snapshots-per-day')).toHaveValue('2');
  await expect(other.locator('#growth-pct')).toHaveValue('0.5');
  await expect(other.getByTestId('total')).toHaveText(total!);
  await context.close();
});

/** The calculator's number format: at most one decimal, none for whole numbers. */
function fmt(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}

test('"use my cluster" fills in what the server measured on the shop keyspace', async ({ page, request, baseURL }) => {
  // Two scans, so churn and growth have an interval to be measured over.
  for (let i = 0; i < 2; i++) {
    const started = await request.post('/api/v1/scans', { headers: { Origin: baseURL! } });
    const job = await started.json();
    await expect
      .poll(async () => (await (await request.get(`/api/v1/jobs/${job.id}`)).json()).state, { timeout: 60_000 })
      .toBe('done');
  }
  const node = (await (await request.get('/api/v1/nodes')).json())[0].name;
  await page.reload();
  await hydrated(page);
  await page.locator('#measure-scope').selectOption(`${node}/shop`);
  await page.getByRole('button', { name: 'Use my cluster' }).click();
  await expect(page.locator('#measure-note')).toContainText(`Filled in from ${node}/shop`);
  const m = await (await request.get(`/api/v1/reports/measured?node=${node}&keyspace=shop&days=7`)).json();
  expect(m.samples).toBeGreaterThanOrEqual(2);
  const liveGb = m.live_bytes / 1e9;
  await expect(page.locator('#live-gb')).toHaveValue(fmt(Math.min(1000, Math.max(10, liveGb))));
  if (liveGb < 10) {
    // The demo keyspace is far below the calculator's 10 GB: clamped, and it says so.
    await expect(page.locator('#live-note')).toContainText('below the calculator\'s minimum; using 10 GB');
  }
  expect(m.churn_pct_per_day).not.toBeNull();
  await expect(page.locator('#churn-pct')).toHaveValue(fmt(Math.min(100, Math.max(0, m.churn_pct_per_day))));
  await expect(page).toHaveURL(/live_gb=/);
});
