import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

// Stops the server started by global-setup.ts (SIGTERM: graceful shutdown) and removes its
// temporary state directory.
export default async function globalTeardown(): Promise<void> {
  const file = path.join(__dirname, '.server.json');
  try {
    const { pid, stateDir } = JSON.parse(readFileSync(file, 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 500));
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  } catch {
    // nothing was started
  }
}
