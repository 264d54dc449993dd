import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from '@playwright/test';

/** One user per role; the tests sign in as them (storage states in .auth/ROLE.json). */
export const USERS = {
  viewer: { name: 'e2e-viewer', password: 'viewer password 1' },
  operator: { name: 'e2e-operator', password: 'operator password 1' },
  approver: { name: 'e2e-approver', password: 'approver password 1' },
  admin: { name: 'e2e-admin', password: 'admin password 1' },
} as const;

// Starts a real Cassandra dev node (`snapkeep dev-node start`) and the release binary pointed
// at it, on a free port (--listen 127.0.0.1:0) with a temporary state directory; waits for its
// "listening on URL" line and hands the URL to the tests.
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const binary = process.env.SNAPKEEP_BIN || path.join(root, 'target', 'release', 'snapkeep');
  const stateDir = mkdtempSync(path.join(tmpdir(), 'snapkeep-e2e-'));
  const nodeDir = path.join(stateDir, 'node1');
  execFileSync(binary, ['dev-node', 'start', '--dir', nodeDir], { stdio: 'inherit', timeout: 600_000 });
  // A small `shop` keyspace (customers, orders, products) for the snapshot pages to work on.
  execFileSync(binary, ['dev-node', 'load-demo', '--dir', nodeDir, '--customers', '1000', '--products', '500'], {
    stdio: 'inherit',
    timeout: 300_000,
  });
  const config = path.join(nodeDir, 'snapkeep.toml');
  // Any disk in use raises a filesystem alert, for the alert tests to see on a real node.
  appendFileSync(config, '\n[alerts]\ndisk_warn_percent = 1\ndisk_critical_percent = 100\n');
  for (const [role, u] of Object.entries(USERS)) {
    execFileSync(binary, ['user', 'add', u.name, '--role', role, '--password-stdin', '--config', config, '--state-dir', stateDir], {
      input: `${u.password}\n`,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
  }
  const child = spawn(binary, ['serve', '--config', config, '--listen', '127.0.0.1:0', '--state-dir', stateDir], {
    env: { ...process.env, LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'), RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('snapkeep did not print its URL within 30 s')), 30_000);
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = seen.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`snapkeep exited with ${code} before listening; output: ${seen}`));
    });
  });
  // Sign in once per role and keep the session cookie for the tests.
  const authDir = path.join(__dirname, '.auth');
  mkdirSync(authDir, { recursive: true });
  for (const [role, u] of Object.entries(USERS)) {
    const ctx = await request.newContext({ baseURL: url });
    const res = await ctx.post('/login', {
      form: { name: u.name, password: u.password, next: '/' },
      headers: { Origin: url },
      maxRedirects: 0,
    });
    if (res.status() !== 303 || !(res.headers()['set-cookie'] || '').includes('snapkeep_session=')) {
      throw new Error(`signing in as ${u.name} failed: HTTP ${res.status()} ${res.headers()['location']}`);
    }
    await ctx.storageState({ path: path.join(authDir, `${role}.json`) });
    await ctx.dispose();
  }
  process.env.SNAPKEEP_URL = url;
  process.env.SNAPKEEP_STATE_DIR = stateDir;
  writeFileSync(path.join(__dirname, '.server.json'), JSON.stringify({ pid: child.pid, url, stateDir, nodeDir, binary }));
}
