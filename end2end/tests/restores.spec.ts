import path from 'node:path';
import { test, expect, hydrated } from './fixtures';
import { USERS } from '../global-setup';

// The approval-gated restore in the browser, with two people: an operator requests the
// restore of a snapshot of shop.products (products holds 500 rows, loaded by global-setup.ts)
// into a side table, so the live table and the other tests are untouched; an approver who is
// not the requester approves it; the operator executes it and watches it verified.

const state = (role: string) => path.join(__dirname, '..', '.auth', `${role}.json`);

test.describe('operator with an approver', () => {
  test.use({ storageState: state('operator') });

  test('request a side-table restore, have another person approve it, execute and verify it', async ({
    page,
    browser,
    baseURL,
  }) => {
    test.setTimeout(360_000);
    const origin = baseURL!;
    const tag = `e2e-restore-${Date.now()}`;
    const reason = 'e2e: put yesterday\'s products next to the live table to compare prices';

    // A snapshot to restore from, taken through the API.
    const taken = await page.request.post('/api/v1/snapshots', {
      data: { tables: ['shop.products'], tag },
      headers: { Origin: origin },
    });
    expect(taken.ok(), await taken.text()).toBeTruthy();
    const { job } = await taken.json();
    let finished: { state: string; error?: string } = { state: 'queued' };
    await expect
      .poll(
        async () => {
          finished = await (await page.request.get(`/api/v1/jobs/${job.id}`)).json();
          return ['done', 'failed', 'interrupted'].includes(finished.state);
        },
        { timeout: 120_000, intervals: [500] },
      )
      .toBe(true);
    expect(finished.state, finished.error).toBe('done');

    // 1 Source: the URL picks the snapshot; its one table is offered.
    await page.goto(`/restores?snapshot=${tag}`);
    await hydrated(page);
    const wizard = page.getByTestId('restore-wizard');
    await expect(wizard).toBeVisible();
    await expect(wizard.locator('#restore-snapshot')).toHaveValue(`node1/${tag}`);
    await wizard.getByLabel('shop.products', { exact: true }).check();
    await expect(wizard.getByText('1 table ticked.')).toBeVisible();

    // 2 Target: a side table; TRUNCATE is for in place only.
    await expect(wizard.getByLabel('TRUNCATE first')).toBeVisible();
    await wizard.getByLabel('Side table').check();
    await expect(wizard.getByLabel('Side keyspace')).toBeVisible();
    await expect(wizard.getByLabel('Side keyspace')).toHaveAttribute('placeholder', 'shop');
    await expect(wizard.getByLabel('TRUNCATE first')).toHaveCount(0);

    // Nothing can be requested before a plan.
    await expect(wizard.getByRole('button', { name: 'Request approval' })).toBeDisabled();

    // 3–4 The schema check and the dry run.
    await wizard.getByRole('button', { name: 'Check and plan' }).click();
    const plan = wizard.getByTestId('plan');
    await expect(plan).toBeVisible({ timeout: 60_000 });
    await expect(plan).toHaveAttribute('data-blocked', 'false');
    await expect(plan.getByTestId('plan-clear')).toBeVisible();
    await expect(plan.getByTestId('plan-verdict')).toHaveText('compatible');
    await expect(plan.getByTestId('plan-transfer')).toHaveText('Hard links on the same filesystem: 0 bytes copied');
    await expect(plan.getByTestId('plan-rows')).toHaveText('500 rows');
    const table = plan.locator('section.plan-table[data-table="shop.products"]');
    await expect(table.locator('h4')).toContainText(/^shop\.products → shop\.products_restored_/);
    await expect(table.getByTestId('table-transfer')).toContainText('0 bytes copied');
    await expect(plan.getByTestId('headroom').locator('tbody tr')).not.toHaveCount(0);
    await expect(plan.getByTestId('headroom').locator('tbody tr[data-ok="false"]')).toHaveCount(0);
    await expect(plan.getByTestId('plan-steps')).toContainText('create_tables');
    await expect(plan.getByTestId('plan-steps')).toContainText('verify');
    await expect(plan.getByRole('alert')).toHaveCount(0);

    // 5 The reason, and the request.
    await wizard.getByLabel('Reason').fill(reason);
    await wizard.getByRole('button', { name: 'Request approval' }).click();
    await expect(page).toHaveURL(/\/restores\/\d+$/, { timeout: 30_000 });
    const id = new URL(page.url()).pathname.split('/').pop();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Restore request #${id}`);
    const stateBadge = page.getByTestId('restore-state');
    await expect(stateBadge).toHaveAttribute('data-state', 'awaiting_approval');
    await expect(stateBadge).toHaveText('awaiting approval');
    await expect(page.getByTestId('reason')).toHaveText(reason);
    await expect(page.getByTestId('requested-by')).toContainText(USERS.operator.name);
    // The requester cannot approve: no buttons, a sentence saying why, and the server agrees.
    await expect(page.getByTestId('waiting')).toContainText('You requested this restore');
    await expect(page.getByTestId('approve')).toHaveCount(0);
    await expect(page.getByTestId('reject')).toHaveCount(0);
    await expect(page.getByTestId('execute')).toHaveCount(0);
    const self = await page.request.post(`/api/v1/restores/${id}/approve`, {
      data: { comment: 'approving my own' },
      headers: { Origin: origin },
    });
    expect(self.status()).toBe(403);

    // Another person, an approver, approves it with a comment.
    const approverContext = await browser.newContext({ storageState: state('approver'), baseURL });
    const approver = await approverContext.newPage();
    await approver.goto(`/restores/${id}`);
    await hydrated(approver);
    await expect(approver.getByTestId('restore-state')).toHaveAttribute('data-state', 'awaiting_approval');
    await expect(approver.getByTestId('plan-verdict')).toHaveText('compatible');
    await approver.getByTestId('decision-comment').fill('Side table only, go ahead.');
    await approver.getByTestId('approve').click();
    await expect(approver.getByTestId('restore-state')).toHaveAttribute('data-state', 'approved', { timeout: 60_000 });
    await expect(approver.getByTestId('restore-state')).toHaveText('approved');
    await expect(approver.getByTestId('decided-by')).toContainText(USERS.approver.name);
    await expect(approver.getByTestId('decision-comment-shown')).toHaveText('Side table only, go ahead.');
    await expect(approver.getByTestId('approve')).toHaveCount(0);
    await approverContext.close();

    // Back as the operator: execute it and follow it to the end.
    await page.reload();
    await hydrated(page);
    await expect(stateBadge).toHaveAttribute('data-state', 'approved');
    await expect(page.getByTestId('decided-by')).toContainText(USERS.approver.name);
    await page.getByTestId('execute').click();
    await expect(stateBadge).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
    await expect(page.getByRole('alert')).toHaveCount(0);
    const verification = page.getByTestId('verification');
    await expect(verification).toHaveAttribute('data-passed', 'true');
    await expect(verification.locator('tbody tr[data-passed="true"]')).toHaveCount(1);
    await expect(verification.locator('tbody tr')).toContainText('500');
    const journal = page.getByTestId('journal');
    await expect(journal.locator('tbody tr')).toHaveCount(6);
    await expect(journal.locator('tbody tr:not([data-state="done"])')).toHaveCount(0);
    for (const step of ['check', 'create_tables', 'stage shop.products', 'import shop.products', 'cleanup shop.products', 'verify']) {
      await expect(journal.locator(`tr[data-step="${step}"]`)).toHaveAttribute('data-state', 'done');
    }
    await expect(page.getByTestId('execute')).toHaveCount(0);

    // The list shows it done.
    await page.getByRole('link', { name: '← Restores' }).click();
    await expect(page).toHaveURL(/\/restores$/);
    await expect(page.locator(`tr[data-restore-id="${id}"]`)).toHaveAttribute('data-state', 'done');
    await expect(page.locator(`tr[data-restore-id="${id}"]`)).toContainText(tag);
  });
});

test.describe('operator cancelling a request', () => {
  test.use({ storageState: state('operator') });

  test('the requester cancels an open request on its page, which frees its snapshot', async ({ page, baseURL }) => {
    test.setTimeout(180_000);
    const origin = baseURL!;
    const tag = `e2e-cancel-${Date.now()}`;
    const taken = await page.request.post('/api/v1/snapshots', {
      data: { tables: ['shop.products'], tag },
      headers: { Origin: origin },
    });
    expect(taken.ok(), await taken.text()).toBeTruthy();
    const { job } = await taken.json();
    await expect
      .poll(async () => (await (await page.request.get(`/api/v1/jobs/${job.id}`)).json()).state, {
        timeout: 120_000,
      })
      .toBe('done');
    const requested = await page.request.post('/api/v1/restores', {
      data: { snapshot: tag, tables: ['shop.products'], target: 'side', reason: 'e2e: cancel me' },
      headers: { Origin: origin },
    });
    expect(requested.status(), await requested.text()).toBe(201);
    const { id } = await requested.json();
    // While the request is open its snapshot is pinned.
    const pinned = await page.request.delete(`/api/v1/snapshots/${tag}`, { headers: { Origin: origin } });
    expect(pinned.status()).toBe(409);
    expect(await pinned.text()).toContain(`restore request ${id} uses it`);

    await page.goto(`/restores/${id}`);
    await hydrated(page);
    const stateBadge = page.getByTestId('restore-state');
    await expect(stateBadge).toHaveAttribute('data-state', 'awaiting_approval');
    await page.getByTestId('cancel').click();
    await expect(stateBadge).toHaveAttribute('data-state', 'cancelled', { timeout: 30_000 });
    await expect(page.getByTestId('cancel')).toHaveCount(0);
    await expect(page.getByRole('main')).toContainText(`cancelled by ${USERS.operator.name}`);

    const cleared = await page.request.delete(`/api/v1/snapshots/${tag}`, { headers: { Origin: origin } });
    expect(cleared.status(), await cleared.text()).toBe(202);
    // The clear holds the table until it is done: wait, so that later tests find it free.
    const clearJob = (await cleared.json()).job;
    await expect
      .poll(async () => (await (await page.request.get(`/api/v1/jobs/${clearJob.id}`)).json()).state, {
        timeout: 60_000,
      })
      .toBe('done');
  });
});

test.describe('operator planning a whole-node restore', () => {
  test.use({ storageState: state('operator') });

  test('the wizard plans a whole-node restore: node stopped, files moved aside, nothing changed by planning', async ({
    page,
    baseURL,
  }) => {
    test.setTimeout(180_000);
    const tag = `e2e-whole-${Date.now()}`;
    const taken = await page.request.post('/api/v1/snapshots', {
      data: { keyspaces: ['shop'], tag },
      headers: { Origin: baseURL! },
    });
    expect(taken.ok(), await taken.text()).toBeTruthy();
    const { job } = await taken.json();
    await expect
      .poll(async () => (await (await page.request.get(`/api/v1/jobs/${job.id}`)).json()).state, {
        timeout: 120_000,
      })
      .toBe('done');
    const before = await (await page.request.get('/api/v1/restores')).json();

    await page.goto(`/restores?snapshot=${tag}`);
    await hydrated(page);
    const wizard = page.getByTestId('restore-wizard');
    await wizard.getByLabel('Whole node').check();
    await expect(wizard.getByLabel('TRUNCATE first')).toHaveCount(0);
    await expect(wizard.getByLabel('Side keyspace')).toHaveCount(0);
    await wizard.getByRole('button', { name: 'Check and plan' }).click();
    const plan = wizard.getByTestId('plan');
    await expect(plan).toBeVisible({ timeout: 60_000 });
    // The dev node is stopped and started by the launcher: nothing blocks the plan.
    await expect(plan).toHaveAttribute('data-blocked', 'false');
    const steps = plan.getByTestId('plan-steps');
    for (const step of ['drain', 'stop', 'move_aside shop.products', 'clear_commitlog', 'link shop.products', 'start', 'wait_cql', 'verify', 'keep_aside']) {
      await expect(steps.locator('code', { hasText: new RegExp(`^${step}$`) })).toHaveCount(1);
    }
    await expect(steps).toContainText('kept, not deleted');
    await expect(plan.getByTestId('plan-notes')).not.toHaveCount(0);
    await expect(plan.locator('section.plan-table[data-table="shop.products"] h4')).toHaveText('shop.products');
    // Planning changed nothing: no request was made and the node still answers.
    const after = await (await page.request.get('/api/v1/restores')).json();
    expect(after.length).toBe(before.length);
    const nodes = await (await page.request.get('/api/v1/nodes')).json();
    expect(nodes[0].reachable).toBe(true);
  });
});

test.describe('viewer', () => {
  test.use({ storageState: state('viewer') });

  test('sees the restore requests but no wizard, and an unknown request answers 404', async ({ page }) => {
    await page.goto('/restores');
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Restores');
    await expect(page.getByRole('heading', { name: 'Restore requests' })).toBeVisible();
    await expect(page.getByTestId('restore-wizard')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Check and plan' })).toHaveCount(0);
    const response = await page.goto('/restores/999999');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('No restore request 999999');
  });
});
