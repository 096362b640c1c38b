/** Skip reasons for tests that need real peers on PATH. */
import { spawnSync } from 'node:child_process';

/** `needs X on PATH` for the first missing tool, or false when all are there. */
export function toolsMissing(tools: readonly string[]): string | false {
  for (const t of tools) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `needs ${t} on PATH`;
  }
  return false;
}
