import { test, expect, hydrated } from './fixtures';

test.beforeEach(async ({ page }) => {
  await page.goto('/calculator');
  await hydrated(page);
});

test('moving the sliders to 100 GB and 50 % shows 150 GB total', async ({ page }) => {
  const live = page.locator('#live-range');
  const churn = page.locator('#churn-range');
  // Start elsewhere so the result really changes.
  await live.fill('3'); // log scale: 10^3 = 1000 GB
  await churn.fill('10');
  await expect(page.getByTestId('total')).toHaveText('1100 GB');
  await live.fill('2'); // 10^2 = 100 GB
  await churn.fill('50');
  await expect(page.locator('#live-gb')).toHaveValue('100');
  await expect(page.locator('#churn-pct')).toHaveValue('50');
  await expect(page.getByTestId('live')).toHaveText('100 GB');
  await expect(page.getByTestId('hold')).toHaveText('50 GB');
  await expect(page.getByTestId('total')).toHaveText('150 GB');
});

test('the sliders work with the keyboard', async ({ page }) => {
  await page.locator('#churn-range').fill('50');
  await page.locator('#churn-range').focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('#churn-pct')).toHaveValue('51');
  await expect(page.getByTestId('total')).toHaveText('151 GB');
});

test('typing numbers updates the result as the user types', async ({ page }) => {
  await page.locator('#live-gb').fill('400');
  await page.locator('#churn-pct').fill('25');
  await expect(page.getByTestId('hold')).toHaveText('100 GB');
  await expect(page.getByTestId('total')).toHaveText('500 GB');
  await expect(page.locator('#live-range')).toHaveValue(String(Math.log10(400).toFixed(3)));
});

test('typing 5000 GB is flagged in place and clamped to 1000 GB', async ({ page }) => {
  const box = page.locator('#live-gb');
  await box.fill('5000');
  await expect(page.locator('#live-note')).toHaveText('5000 GB is above the maximum; using 1000 GB');
  await expect(box).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('live')).toHaveText('1000 GB');
  await expect(page.getByTestId('total')).toHaveText('1500 GB');
  await box.press('Enter');
  await expect(box).toHaveValue('1000');
});

test('text that is not a number is flagged and never shows NaN', async ({ page }) => {
  await page.locator('#churn-pct').fill('lots');
  await expect(page.locator('#churn-note')).toContainText('is not a number');
  await expect(page.getByTestId('total')).toHaveText('150 GB');
  await expect(page.locator('body')).not.toContainText('NaN');
  await page.locator('#churn-pct').fill('-20');
  await expect(page.locator('#churn-note')).toHaveText('-20 % is below the minimum; using 0 %');
  await expect(page.getByTestId('total')).toHaveText('100 GB');
});
