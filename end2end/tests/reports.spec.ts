import { readFileSync } from 'node:fs';
import { test, expect, hydrated } from './fixtures';
import type { APIRequestContext } from '@playwright/test';

// The server under test watches a real Cassandra 5.0 dev node with the `shop` keyspace; every
// scan records storage samples. Each test first makes sure a scan has finished since start.

async function scanned(request: APIRequestContext, baseURL: string): Promise<void> {
  const started = await request.post('/api/v1/scans', { headers: { Origin: baseURL } });
  expect(started.status()).toBe(202);
  const job = await started.json();
  await expect
    .poll(async () => (await (await request.get(`/api/v1/jobs/${job.id}`)).json()).state, { timeout: 60_000 })
    .toBe('done');
}

function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trim().split('\n');
  const header = lines[0].split(',');
  return { header, rows: lines.slice(1).map((l) => l.split(',')) };
}

test('the reports page draws the storage chart from real samples and downloads the same series as CSV', async ({
  page,
  request,
  baseURL,
}) => {
  await scanned(request, baseURL!);
  await page.goto('/reports');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Reports');
  await expect(page.getByTestId('reports-empty')).toHaveCount(0);
  await expect(page.getByTestId('sampling')).toContainText('last sample');

  // The chart is an SVG image from the server that really loads.
  const chart = page.getByTestId('storage-chart');
  await expect(chart).toBeVisible();
  await expect
    .poll(() => chart.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBeGreaterThan(0);
  const svg = await (await request.get((await chart.getAttribute('src'))!)).text();
  for (const text of ['Live data', 'Snapshot hold', 'Backups (not shipped)', 'Bytes (']) {
    expect(svg).toContain(text);
  }
  for (const id of ['inodes-chart', 'forecast-chart']) {
    const img = page.getByTestId(id);
    await expect
      .poll(() => img.evaluate((i: HTMLImageElement) => (i.complete ? i.naturalWidth : 0)))
      .toBeGreaterThan(0);
  }

  // The table beneath the chart has the chart's numbers.
  await page.getByText(/The chart's numbers \(\d+ rows\)/).first().click();
  await expect(page.getByTestId('storage-table').locator('tbody tr').first()).toBeVisible();

  // The CSV download: per node and day; its sums are the report's points.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('storage-csv').click()]);
  expect(download.suggestedFilename()).toMatch(/^snapkeep-storage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const { header, rows } = parseCsv(readFileSync((await download.path())!, 'utf8'));
  const at = header.indexOf('at_ms');
  const live = header.indexOf('live_bytes');
  const hold = header.indexOf('hold_bytes');
  expect(at).toBeGreaterThanOrEqual(0);
  expect(rows.length).toBeGreaterThan(0);
  const report = await (await request.get('/api/v1/reports/storage')).json();
  expect(report.storage.length).toBeGreaterThan(0);
  for (const point of report.storage) {
    const of = rows.filter((r) => Number(r[at]) === point.at);
    expect(of.reduce((s, r) => s + Number(r[live]), 0)).toBe(point.live_bytes);
    expect(of.reduce((s, r) => s + Number(r[hold]), 0)).toBe(point.hold_bytes);
  }
  expect(report.storage[report.storage.length - 1].live_bytes).toBeGreaterThan(0);
});

test('grouping by table lists the shop tables with measured figures and the form keeps the choice', async ({
  page,
  request,
  baseURL,
}) => {
  await scanned(request, baseURL!);
  await page.goto('/reports');
  await hydrated(page);
  await page.locator('#r-group').selectOption('table');
  await page.locator('#r-keyspace').fill('shop');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/group=table/);
  await expect(page).toHaveURL(/keyspace=shop/);
  const groups = page.getByTestId('groups-table');
  await expect(groups).toContainText('/shop.orders');
  await expect(groups).toContainText('/shop.customers');
  await expect(page.locator('#r-group')).toHaveValue('table');
  // Each row offers the calculator filled in with its own figures.
  const calc = groups.getByRole('link', { name: 'calculator' }).first();
  await expect(calc).toHaveAttribute('href', /^\/calculator\?live_gb=/);
});

test('a reversed date range is refused in words, and the API names the field', async ({ page, request }) => {
  await page.goto('/reports?from=2026-02-01&to=2026-01-01');
  await expect(page.getByTestId('report-error')).toContainText('reversed');
  const res = await request.get('/api/v1/reports/storage.csv?from=2020-01-01&to=2026-01-01');
  expect(res.status()).toBe(400);
  const body = await res.json();
  expect(body.field).toBe('to');
  expect(body.message).toContain('at most 731 days');
});
