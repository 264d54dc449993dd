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
