import path from 'node:path';
import { test, expect, hydrated } from './fixtures';

const ADMIN = path.join(__dirname, '..', '.auth', 'admin.json');

const PAGES = [
  { path: '/', heading: 'Overview' },
  { path: '/snapshots', heading: 'Snapshots' },
  { path: '/calculator', heading: 'Snapshot storage calculator' },
  { path: '/restores', heading: 'Restores' },
  { path: '/rpo', heading: 'Recovery points' },
  { path: '/drills', heading: 'Restore drills' },
  { path: '/reports', heading: 'Reports' },
  { path: '/settings', heading: 'Settings' },
];

test('home page renders with the navigation and hydrates without console errors', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Overview');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const label of ['Overview', 'Snapshots', 'Backups', 'Calculator', 'Restores', 'Schedules', 'RPO', 'Drills', 'Reports', 'Settings']) {
    await expect(nav.getByRole('link', { name: label })).toBeVisible();
  }
  await expect(nav.getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
  await hydrated(page);
  // Client-side navigation after hydration.
  await nav.getByRole('link', { name: 'Calculator' }).click();
  await expect(page).toHaveURL(/\/calculator$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Snapshot storage calculator');
  await expect(nav.getByRole('link', { name: 'Calculator' })).toHaveAttribute('aria-current', 'page');
  expect(errors).toEqual([]);
});

test('pages are readable without JavaScript (server-rendered first paint)', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL, storageState: ADMIN });
  const page = await context.newPage();
  for (const { path, heading } of PAGES) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
  }
  // The calculator answers from the URL without JavaScript.
  await page.goto('/calculator?live_gb=200&churn_pct=25');
  await expect(page.getByTestId('total')).toHaveText('250 GB');
  await context.close();
});

test('unknown pages get a styled 404 and unknown API routes a JSON 404', async ({ page, request }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  const api = await request.get('/api/v1/no-such-route');
  expect(api.status()).toBe(404);
  expect(api.headers()['content-type']).toContain('application/json');
  expect((await api.json()).error).toBe('not_found');
});

test('every page fits a 360 px wide screen and a screenshot of each is kept', async ({ page }, testInfo) => {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const { path, heading } of PAGES) {
      await page.goto(path);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `horizontal overflow on ${path} at ${width}px`).toBeLessThanOrEqual(0);
      const name = `${path === '/' ? 'overview' : path.slice(1)}-${width}.png`;
      await page.screenshot({ path: testInfo.outputPath(name), fullPage: true });
      await testInfo.attach(name, { path: testInfo.outputPath(name), contentType: 'image/png' });
    }
  }
});

test('the navigation works with the keyboard', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Snapshots' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/snapshots$/);
});
