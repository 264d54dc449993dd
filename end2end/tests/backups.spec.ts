import { test, expect, hydrated, snapshotTaken } from './fixtures';

// The server under test watches the real dev node and keeps off-node copies in its embedded
// default store (a local directory, `local`). Signed in as the e2e admin.

test('copy a snapshot to the store from its page, then see it, verified, on the Backups page', async ({ page, baseURL }) => {
  test.setTimeout(180_000);
  const origin = baseURL!;
  const tag = `e2e-copy-${Date.now()}`;
  await snapshotTaken(page, origin, ['shop.products'], tag);

  await page.goto(`/snapshots/${tag}`);
  await hydrated(page);
  const copies = page.getByTestId('store-copies');
  await expect(copies).toContainText('Nothing uploaded yet.');
  await copies.getByRole('button', { name: 'Copy to store' }).click();
  await expect(copies.getByTestId('copy-started')).toContainText(/Copying started as job \d+/);
  const row = copies.locator(`tr[data-upload="${tag}"]`);
  await expect(async () => {
    await page.reload();
    await expect(row).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  await expect(row).toContainText('local');
  await expect(row.locator('td').last()).toHaveText('yes');

  // The restore wizard offers the verified copy as the source; its plan downloads first.
  await page.goto(`/restores?snapshot=${encodeURIComponent(tag)}&node=node1`);
  await hydrated(page);
  await page.locator('#restore-files-from').selectOption('local');
  await page.getByTestId('check-plan').click();
  await expect(page.getByTestId('plan-transfer')).toContainText('Downloaded from the store', { timeout: 60_000 });
  await expect(page.getByTestId('restore-wizard')).toContainText('Download the files from store local');

  // Gone from the node, the snapshot is still offered: from its copy in the store.
  const cleared = await page.request.delete(`/api/v1/snapshots/${tag}`, { headers: { Origin: origin } });
  expect(cleared.ok(), await cleared.text()).toBeTruthy();
  const clearJob = (await cleared.json()).job;
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/jobs/${clearJob.id}`)).json()).state, { timeout: 60_000 })
    .toBe('done');
  await page.goto(`/restores?snapshot=${encodeURIComponent(tag)}&node=node1`);
  await hydrated(page);
  await expect(page.getByTestId('only-in-store')).toContainText('its verified copy in store local');
  await expect(page.locator('#restore-snapshot')).toContainText('in store local');
  await page.getByTestId('check-plan').click();
  await expect(page.getByTestId('plan-transfer')).toContainText('Downloaded from the store', { timeout: 60_000 });

  await page.goto('/backups');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Backups');
  const store = page.getByTestId('stores').locator('tr[data-store="local"]');
  await expect(store).toContainText('none');
  await expect(page.getByTestId('uploads').locator(`tr[data-upload="${tag}"]`)).toContainText('snapshot');
  const node = page.locator('[data-testid="backlog"][data-node="node1"]');
  await expect(node).toContainText('Incremental backups off');

  // An admin turns incremental backups on (nodetool enablebackup) and off again.
  await node.getByRole('button', { name: 'Turn incremental backups on' }).click();
  await expect(node).toContainText('Incremental backups on', { timeout: 30_000 });
  // Overview tells it too.
  await page.goto('/');
  await expect(page.locator('[data-node="node1"] [data-testid="node-incremental"]')).toContainText('Incremental backups: on');
  await page.goto('/backups');
  await node.getByRole('button', { name: 'Turn incremental backups off' }).click();
  await expect(node).toContainText('Incremental backups off', { timeout: 30_000 });
  await page.goto('/');
  await expect(page.locator('[data-node="node1"] [data-testid="node-incremental"]')).toContainText('Incremental backups: off');
});

test('the Backups page reads without JavaScript', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  const res = await page.goto('/backups');
  expect(res?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Backups');
  await expect(page.getByTestId('stores')).toContainText('local');
  await expect(page.locator('[data-testid="backlog"][data-node="node1"]')).toBeVisible();
  await context.close();
});
