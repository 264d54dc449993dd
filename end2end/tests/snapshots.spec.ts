import path from 'node:path';
import { test, expect, hydrated } from './fixtures';

// The server under test watches a real Cassandra dev node with the demo keyspace `shop`
// (customers, orders, products), loaded by global-setup.ts. Signed in as the e2e admin
// (playwright.config.ts), who may take and clear snapshots.

test('take a snapshot from the page, watch it appear, open it and clear it', async ({ page }) => {
  test.setTimeout(120_000);
  const tag = `e2e-ui-${Date.now()}`;
  await page.goto('/snapshots');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Snapshots');

  const take = page.locator('#take');
  // The table list comes from the first scan, which starts with the server.
  const products = take.getByLabel('shop.products', { exact: true });
  await expect(async () => {
    await page.reload();
    await hydrated(page);
    await expect(products).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  await products.check();
  await take.getByLabel('Tag', { exact: true }).fill(tag);
  await take.getByRole('button', { name: 'Take snapshot' }).click();

  const job = take.locator('.snapshot-job');
  await expect(job).toBeVisible();
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(job).toContainText(`Snapshot ${tag} taken.`);

  const row = page.locator(`tr[data-tag="${tag}"]`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-node', 'node1');
  await expect(row).toContainText('shop.products');
  await expect(row).toContainText('manual');
  await expect(row).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
  await expect(page.locator('.pager').first()).toContainText(/Page 1 of \d+ \(\d+ snapshots?\)/);
  await expect(page.locator('.timeline svg[role="img"]')).toBeVisible();

  await row.getByRole('link', { name: tag }).click();
  await expect(page).toHaveURL(new RegExp(`/snapshots/${tag}\\?node=node1$`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Snapshot ${tag}`);
  await expect(page.getByTestId('snapshot-status')).toHaveText('present');
  const table = page.locator('section.snapshot-table[data-table="shop.products"]');
  await expect(table).toBeVisible();
  await expect(table.getByRole('heading', { name: 'shop.products' })).toBeVisible();
  await table.locator('summary', { hasText: 'schema.cql' }).click();
  await expect(table.locator('pre')).toBeVisible();
  await expect(table.locator('pre')).toContainText('CREATE TABLE');
  await expect(table.getByTestId('row-count')).toContainText(/500 rows/);

  await page.getByRole('button', { name: 'Clear…' }).click();
  const confirm = page.locator('.clear-confirm');
  await expect(confirm).toBeVisible();
  await expect(confirm).toContainText(`Clearing ${tag} frees`);
  await expect(confirm).toContainText(/frees \d+(\.\d)? (B|KiB|MiB|GiB|TiB)/);
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await confirm.getByRole('button', { name: 'Clear snapshot' }).click();

  const clearing = page.locator('.snapshot-job');
  await expect(clearing).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(clearing).toContainText('Snapshot cleared.');
  await expect(page.getByTestId('snapshot-status')).toHaveText('cleared');
  await expect(page.getByRole('button', { name: 'Clear…' })).toHaveCount(0);

  // Back in the history it is no longer listed as present, but is under "cleared".
  await page.goto(`/snapshots?tag=${tag}`);
  await expect(page.locator(`tr[data-tag="${tag}"]`)).toHaveCount(0);
  await page.goto(`/snapshots?tag=${tag}&status=cleared`);
  await expect(page.locator(`tr[data-tag="${tag}"]`)).toContainText('cleared');
});

test('filters live in the URL and a bad tag is refused with the allowed characters', async ({ page }) => {
  await page.goto('/snapshots?kind=manual&tag=e2e');
  await expect(page.locator('#f-kind')).toHaveValue('manual');
  await expect(page.locator('#f-tag')).toHaveValue('e2e');
  await expect(page.locator('#f-status')).toHaveValue('');
  await hydrated(page);
  await expect(page.locator('#f-kind')).toHaveValue('manual');

  // Applying the form keeps the filters in the URL.
  await page.locator('#f-status').selectOption('all');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/[?&]status=all(&|$)/);
  await expect(page).toHaveURL(/[?&]kind=manual(&|$)/);
  await expect(page.locator('#f-status')).toHaveValue('all');

  const take = page.locator('#take');
  await take.getByLabel('Tag', { exact: true }).fill('bad tag!');
  await take.getByRole('button', { name: 'Take snapshot' }).click();
  const alert = take.getByRole('alert');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('[A-Za-z0-9_.-]');
  await expect(take.locator('.snapshot-job')).toHaveCount(0);
});

test('the history and its filters are server-rendered and work without JavaScript', async ({ browser, baseURL }) => {
  const storageState = path.join(__dirname, '..', '.auth', 'admin.json');
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL, storageState });
  const page = await context.newPage();
  await page.goto('/snapshots?kind=manual');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Snapshots');
  await expect(page.locator('#f-kind')).toHaveValue('manual');
  await page.locator('#f-kind').selectOption('external');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/[?&]kind=external(&|$)/);
  await expect(page.locator('#f-kind')).toHaveValue('external');
  const response = await page.goto('/snapshots/no-such-snapshot-tag');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('No snapshot no-such-snapshot-tag');
  await expect(page.getByRole('link', { name: 'Back to the snapshot history' })).toBeVisible();
  await context.close();
});
