import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

// Stops the server and the dev node started by global-setup.ts (SIGTERM: graceful shutdown)
// and removes their temporary state directory.
export default async function globalTeardown(): Promise<void> {
  const file = path.join(__dirname, '.server.json');
  try {
    const { pid, stateDir, nodeDir, binary } = JSON.parse(readFileSync(file, 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      execFileSync(binary, ['dev-node', 'stop', '--dir', nodeDir], { stdio: 'inherit', timeout: 120_000 });
    } catch (e) {
      console.error(`stopping the dev node failed: ${e}`);
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  } catch {
    // nothing was started
  }
}
