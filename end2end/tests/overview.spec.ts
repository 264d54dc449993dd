import { test, expect, hydrated } from './fixtures';

// The server under test watches a real Cassandra 5.0 dev node started by global-setup.ts.

test('the overview shows the real node, its filesystem and its tables', async ({ page }) => {
  await page.goto('/');
  const node = page.locator('article.node[data-node="node1"]');
  await expect(node).toBeVisible();
  // The first scan starts with the server; reload until it has finished.
  await expect(async () => {
    await page.reload();
    await expect(node.getByText('Reachable', { exact: true })).toBeVisible({ timeout: 1000 });
    await expect(node.getByText(/^Cassandra 5\.0\.\d+$/)).toBeVisible({ timeout: 1000 });
    await expect(node.getByRole('meter', { name: 'Disk' })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  await expect(node.getByRole('meter', { name: 'Inodes' })).toBeVisible();
  // Its place in its cluster, as the node itself reports it (system.local).
  const [api] = await (await page.request.get('/api/v1/nodes')).json();
  expect(api.cluster).toBeTruthy();
  await expect(node.getByTestId('node-place')).toHaveText(`Cluster ${api.cluster} · data centre ${api.dc} · rack ${api.rack}`);
  await page.getByText(/System keyspaces \(\d+ tables\)/).click();
  await expect(page.locator('tr[data-table="system.local"]')).toBeVisible();
});

test('rescan runs a scan job and shows its progress until it finishes', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Rescan' }).click();
  const status = page.locator('.scan-status');
  await expect(status).toBeVisible();
  await expect(status).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(status).toContainText('Scan finished.');
  await expect(page.locator('article.node').getByText(/last scan \d{4}-\d{2}-\d{2} .* UTC/)).toBeVisible();
});

test('the inventory API answers with the node and its tables', async ({ request, baseURL }) => {
  const nodes = await (await request.get('/api/v1/nodes')).json();
  expect(nodes[0].name).toBe('node1');
  expect(nodes[0].reachable).toBe(true);
  const tables = await (await request.get('/api/v1/tables')).json();
  const local = tables.find((t: { keyspace: string; table: string }) => t.keyspace === 'system' && t.table === 'local');
  expect(local.id).toMatch(/^[0-9a-f]{32}$/);
  expect(local.live_bytes).toBeGreaterThan(0);
  // A change with the session cookie must name this site, as a browser's Origin header does.
  const started = await request.post('/api/v1/scans', { headers: { Origin: baseURL! } });
  expect(started.status()).toBe(202);
  const job = await started.json();
  const again = await (await request.get(`/api/v1/jobs/${job.id}`)).json();
  expect(['queued', 'running', 'done']).toContain(again.state);
  expect((await request.get('/api/v1/jobs/999999')).status()).toBe(404);
});

/** Bytes in binary units with one decimal, as the pages print them. */
function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.max(bytes, 0);
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.max(bytes, 0)} B` : `${v.toFixed(1)} ${units[unit]}`;
}

test('the overview counts free disk as the API does: what Cassandra can still write (f_bavail)', async ({ page }) => {
  type Fs = { total_bytes: number; avail_bytes: number };
  const disk = async (): Promise<Fs> => (await (await page.request.get('/api/v1/nodes')).json())[0].filesystems[0];
  const before = await disk();
  await page.goto('/');
  const text = await page.locator('article.node[data-node="node1"] .usage-label').first().innerText();
  const after = await disk();
  // A scan may finish between the reads: the page matches the API before or after it.
  const expected = [before, after].map(
    (f) => `${formatBytes(f.total_bytes - f.avail_bytes)} used of ${formatBytes(f.total_bytes)} (${formatBytes(f.avail_bytes)} free for Cassandra`,
  );
  expect(expected.some((e) => text.includes(e)), `${text} vs ${expected.join(' | ')}`).toBe(true);
});
