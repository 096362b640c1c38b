/**
 * Golden files: output compared byte for byte with test/golden/NAME. `UPDATE_GOLDEN=1 npm test`
 * rewrites them; review the diff before committing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden');

export function assertGolden(name: string, actual: string): void {
  const file = path.join(DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.writeFileSync(file, actual);
    return;
  }
  assert.ok(fs.existsSync(file), `missing golden file ${file}; run UPDATE_GOLDEN=1 npm test`);
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `output differs from ${file}`);
}
