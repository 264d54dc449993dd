import { test, expect, hydrated } from './fixtures';
import { USERS } from '../global-setup';
import path from 'node:path';

// Signing in and out, what each role sees and may do, and refusals the server makes itself.

const state = (role: string) => path.join(__dirname, '..', '.auth', `${role}.json`);

test.describe('signed out', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('pages send you to sign in and bring you back; wrong passwords get one message', async ({ page }) => {
    await page.goto('/snapshots?kind=manual');
    await expect(page).toHaveURL(/\/login\?next=%2Fsnapshots%3Fkind%3Dmanual/);
    await page.getByLabel('User name').fill(USERS.viewer.name);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
    await page.getByLabel('User name').fill('nobody-at-all');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
    await page.getByLabel('User name').fill(USERS.viewer.name);
    await page.getByLabel('Password').fill(USERS.viewer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/snapshots\?kind=manual$/);
    await expect(page.getByText(`${USERS.viewer.name} (viewer)`)).toBeVisible();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto('/');
    await expect(page).toHaveURL(/\/login/);
  });

  test('the API answers 401 in JSON without identity', async ({ request }) => {
    const res = await request.get('/api/v1/snapshots');
    expect(res.status()).toBe(401);
    expect((await res.json()).error).toBe('unauthorized');
    expect((await request.get('/healthz')).status()).toBe(200);
  });
});

test.describe('viewer', () => {
  test.use({ storageState: state('viewer') });

  test('sees everything but no buttons that change data, and the server refuses changes', async ({ page }) => {
    await page.goto('/');
    await hydrated(page);
    await expect(page.getByText(`${USERS.viewer.name} (viewer)`)).toBeVisible();
    await expect(page.locator('article.node').first()).toBeVisible();
    await expect(page.getByRole('button', { name: 'Rescan' })).toHaveCount(0);
    await page.goto('/snapshots');
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Take snapshot' })).toHaveCount(0);
    // Even a hand-made request is refused, and audited.
    const res = await page.request.post('/api/v1/snapshots', {
      data: { tables: ['shop.products'] },
      headers: { Origin: new URL(page.url()).origin },
    });
    expect(res.status()).toBe(403);
    expect((await res.json()).message).toContain('viewer');
  });
});

test.describe('operator', () => {
  test.use({ storageState: state('operator') });

  test('may rescan but not see users; a form post without this site\'s Origin is refused', async ({ page }) => {
    await page.goto('/');
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Rescan' })).toBeVisible();
    await page.goto('/settings');
    await expect(page.getByText('Only admins see the users.')).toBeVisible();
    // A change carrying the session cookie but no Origin (as a cross-site form would be
    // stripped of it) is refused by the server.
    const res = await page.request.post('/rpc/scan', { headers: { Origin: 'https://evil.example' } });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('cross-site');
  });
});

test.describe('approver', () => {
  test.use({ storageState: state('approver') });

  test('has the operator\'s rights but not the admin\'s', async ({ page }) => {
    await page.goto('/');
    await hydrated(page);
    await expect(page.getByText(`${USERS.approver.name} (approver)`)).toBeVisible();
    await expect(page.getByRole('button', { name: 'Rescan' })).toBeVisible();
    await page.goto('/snapshots');
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Take snapshot' })).toBeVisible();
    const users = await page.request.get('/api/v1/users');
    expect(users.status()).toBe(403);
  });
});

test.describe('admin', () => {
  test.use({ storageState: state('admin') });

  test('sees users and the audit log with refusals, and can download it as CSV', async ({ page, playwright }) => {
    // A refusal to find in the log: a change without identity.
    const anon = await playwright.request.newContext({
      baseURL: process.env.SNAPKEEP_URL,
      storageState: { cookies: [], origins: [] },
    });
    expect((await anon.post('/api/v1/snapshots', { data: {} })).status()).toBe(401);
    await anon.dispose();
    await page.goto('/settings');
    await hydrated(page);
    for (const u of Object.values(USERS)) {
      await expect(page.locator(`tr[data-user="${u.name}"]`)).toBeVisible();
    }
    await page.goto('/settings/audit?outcome=denied');
    await expect(page.locator('tr[data-outcome="denied"]').first()).toBeVisible();
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV' }).click();
    const file = await (await download).path();
    const text = require('node:fs').readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('id,at_utc,actor,via,address,action,target,outcome,status,detail');
    expect(text).toContain('denied');
  });
});
