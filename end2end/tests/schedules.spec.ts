import { test, expect, hydrated } from './fixtures';

// Schedules and the RPO panel in the console, against the real dev node's `shop` keyspace.

test('create a schedule after seeing its next runs, then pause and resume it', async ({ page }) => {
  await page.goto('/schedules');
  await hydrated(page);
  await page.getByLabel('Name').fill('e2e-nightly');
  await page.getByLabel('Cron').fill('30 3 * * *');
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByLabel('Keyspaces').fill('shop');
  await page.getByLabel('Keep last').fill('3');
  await page.getByRole('button', { name: 'Preview next runs' }).click();
  const runs = page.getByLabel('Next runs').locator('li');
  await expect(runs).toHaveCount(5);
  await expect(runs.first()).toContainText('03:30');
  await expect(runs.first()).toContainText('snapkeep-sched-e2e-nightly-');
  // A bad cron is refused in words before anything is saved.
  await page.getByLabel('Cron').fill('61 * * * *');
  await page.getByRole('button', { name: 'Preview next runs' }).click();
  await expect(page.getByRole('alert')).toContainText(/cron/i);
  await page.getByLabel('Cron').fill('30 3 * * *');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await expect(page.getByRole('status')).toContainText('Saved schedule e2e-nightly.');
  const row = page.locator('tr[data-schedule="e2e-nightly"]');
  await expect(row).toBeVisible();
  await expect(row).toContainText('keyspaces shop');
  await expect(row).toContainText('keep last 3');
  await expect(row).toHaveAttribute('data-paused', 'false');
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row).toHaveAttribute('data-paused', 'true');
  await expect(row.locator('.next-runs')).toHaveText('paused');
  // The API agrees, then resuming brings the next runs back.
  const listed = await (await page.request.get('/api/v1/schedules')).json();
  expect(listed.find((s: { name: string }) => s.name === 'e2e-nightly').paused).toBe(true);
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row).toHaveAttribute('data-paused', 'false');
  await expect(row.locator('.next-runs')).toContainText('UTC');
});

test('the RPO panel lists the shop tables worst first with the reason', async ({ page }) => {
  await page.goto('/rpo');
  const orders = page.locator('tr[data-table="shop.orders"]');
  await expect(async () => {
    await page.reload();
    await expect(orders).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  const api = await (await page.request.get('/api/v1/rpo')).json();
  const row = api.find((r: { keyspace: string; table: string }) => r.keyspace === 'shop' && r.table === 'orders');
  await expect(orders).toHaveAttribute('data-status', row.status);
  await expect(orders).toContainText(row.reason);
  // Worst first: no green row above a red or amber one.
  const statuses = await page.locator('table.rpo tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
  const rank = (s: string | null) => ({ red: 0, amber: 1, green: 2 })[s ?? 'green'] ?? 2;
  expect(statuses.map(rank)).toEqual([...statuses.map(rank)].sort((a, b) => a - b));
});
