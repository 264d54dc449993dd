import { test, expect, snapshotTaken } from './fixtures';

// A restore drill on the real dev node, started through the API, then its proof and its row
// on the Drills page. Signed in as the e2e admin.

test('a drill of shop.products passes and the Drills page shows it as the table\'s proof', async ({ page, baseURL }) => {
  test.setTimeout(300_000);
  const origin = baseURL!;
  const tag = `e2e-drill-${Date.now()}`;
  await snapshotTaken(page, origin, ['shop.products'], tag);

  const started = await page.request.post('/api/v1/drills', {
    data: { tables: ['shop.products'], snapshot: tag },
    headers: { Origin: origin },
  });
  expect(started.status(), await started.text()).toBe(202);
  const drill = await started.json();
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/drills/${drill.id}`)).json()).state, { timeout: 240_000 })
    .not.toBe('running');
  const ended = await (await page.request.get(`/api/v1/drills/${drill.id}`)).json();
  expect(ended.state, ended.message).toBe('passed');
  const result = ended.results.find((r: { table: string }) => r.table === 'shop.products');

  await page.goto('/drills');
  const history = page.locator(`tr[data-drill="${drill.id}"]`);
  await expect(history).toHaveAttribute('data-state', 'passed');
  await expect(history).toContainText(tag);
  await expect(history).toContainText(`${result.rows_found} of ${result.rows_expected} rows`);
  const proof = page.locator('table.proof tr[data-table="shop.products"]');
  await expect(proof).toContainText(`#${drill.id}`);
  await expect(proof).toContainText(tag);
  // The nav reaches it.
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Drills' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Restore drills');
});
