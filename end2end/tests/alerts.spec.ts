import { test, expect, hydrated } from './fixtures';
import { USERS } from '../global-setup';
import path from 'node:path';

// Alerts on the Overview. global-setup.ts sets [alerts] disk_warn_percent = 1, so the real
// node's filesystem (any disk in use) raises a warning the tests can see and acknowledge.

const state = (role: string) => path.join(__dirname, '..', '.auth', `${role}.json`);

test.describe('viewer', () => {
  test.use({ storageState: state('viewer') });

  test('sees the alert and what to do, without an Acknowledge button', async ({ page }) => {
    await page.goto('/');
    const alert = page.locator('li.alert[data-kind="filesystem_bytes"]');
    // The first scan starts with the server; reload until it has measured the filesystem.
    await expect(async () => {
      await page.reload();
      await expect(alert).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 60_000 });
    await expect(alert).toContainText(/% full/);
    await expect(alert).toContainText('What to do: free space');
    await hydrated(page);
    await expect(alert.getByRole('button', { name: 'Acknowledge for 24 h' })).toHaveCount(0);
  });
});

test.describe('operator', () => {
  test.use({ storageState: state('operator') });

  test('acknowledges an alert: it is silenced, says by whom, and the API agrees', async ({ page }) => {
    await page.goto('/');
    const alert = page.locator('li.alert[data-kind="filesystem_bytes"]');
    await expect(async () => {
      await page.reload();
      await expect(alert).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 60_000 });
    await hydrated(page);
    await expect(alert).toHaveAttribute('data-silenced', 'false');
    await alert.getByRole('button', { name: 'Acknowledge for 24 h' }).click();
    await expect(alert).toHaveAttribute('data-silenced', 'true');
    await expect(alert).toContainText(`acknowledged by ${USERS.operator.name}`);
    await expect(alert.getByRole('button', { name: 'Acknowledge for 24 h' })).toHaveCount(0);
    const listed = await (await page.request.get('/api/v1/alerts')).json();
    const fs = listed.find((a: { kind: string }) => a.kind === 'filesystem_bytes');
    expect(fs.silenced).toBe(true);
    expect(fs.acked_by).toBe(USERS.operator.name);
    // Still listed after a reload, acknowledged.
    await page.reload();
    await expect(alert).toHaveAttribute('data-silenced', 'true');
  });
});
