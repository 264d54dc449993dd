import { test as base, expect, type Page } from '@playwright/test';

// Every test talks to the server global-setup.ts started.
export const test = base.extend({
  baseURL: async ({}, use) => {
    const url = process.env.SNAPKEEP_URL;
    if (!url) throw new Error('SNAPKEEP_URL is not set: global-setup.ts did not run');
    await use(url);
  },
});
export { expect };

/** Waits until the page's WebAssembly has hydrated it (the app marks <body>). */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.hydrated === 'true', null, { timeout: 20_000 });
}

/** Takes a snapshot of `tables` tagged `tag` through the API (as the page's user) and waits
 * until its job is done. */
export async function snapshotTaken(page: Page, origin: string, tables: string[], tag: string): Promise<void> {
  const taken = await page.request.post('/api/v1/snapshots', {
    data: { tables, tag },
    headers: { Origin: origin },
  });
  expect(taken.ok(), await taken.text()).toBeTruthy();
  const { job } = await taken.json();
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/jobs/${job.id}`)).json()).state, { timeout: 120_000 })
    .toBe('done');
}
