import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
  process.env.SNAPKEEP_URL = url;
  process.env.SNAPKEEP_STATE_DIR = stateDir;
  writeFileSync(path.join(__dirname, '.server.json'), JSON.stringify({ pid: child.pid, url, stateDir, nodeDir, binary }));
}
