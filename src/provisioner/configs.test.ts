import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertGolden } from '../../test/helpers/golden.ts';
import type { Machine } from '../inventory/index.ts';
import { renderConfig } from './configs.ts';
import { BUILTIN_PROFILE } from './profiles.ts';

const VALIDATE = '/usr/bin/ignition-validate';
const machine: Machine = {
  id: 'm-0123456789ab',
  hostname: 'worker-012345',
  role: 'worker',
  labels: {},
  macs: ['52:54:00:00:00:01'],
  addresses: ['10.0.0.100'],
  state: 'booting',
  hostnameSource: 'generated',
  firstSeen: '2026-11-28T10:00:00.000Z',
  lastSeen: '2026-11-28T10:00:00.000Z',
  version: 1,
};
const vars = {
  seed: 'http://10.0.0.1:8080',
  mac: '52:54:00:00:00:01',
  id: machine.id,
  role: 'worker',
  hostname: machine.hostname,
  uuid: '',
  profile: 'default',
};
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBwq7cJ4jBmYq5oJ1wHpdJgXW6jE4aZ0m4bS2b0J1T9x ops@example';

describe('rendered configs', () => {
  const rendered = renderConfig({ machine, profile: BUILTIN_PROFILE, vars, sshAuthorizedKeys: [KEY] });

  it('the role Ignition is byte-stable (golden)', () => {
    assert.equal(rendered.contentType, 'application/vnd.coreos.ignition+json');
    assertGolden('worker.ign.json', rendered.body);
    assert.equal(
      renderConfig({ machine, profile: BUILTIN_PROFILE, vars, sshAuthorizedKeys: [KEY] }).body,
      rendered.body,
    );
  });

  it('passes the real ignition-validate', { skip: !existsSync(VALIDATE) && 'apt install ignition' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-ign-'));
    try {
      const file = join(dir, 'worker.ign');
      writeFileSync(file, rendered.body);
      execFileSync(VALIDATE, [file], { stdio: 'pipe' }); // throws with its message on failure
      writeFileSync(file, rendered.body.replace('"3.3.0"', '"3.9.9"'));
      assert.throws(
        () => execFileSync(VALIDATE, [file], { stdio: 'pipe' }),
        'the validator does reject bad configs',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders template profiles with their variables and refuses unknown ones', () => {
    const profile = {
      ...BUILTIN_PROFILE,
      name: 'legacy',
      config: {
        kind: 'template',
        format: 'cloud-config',
        template: '#cloud-config\nhostname: {{hostname}}\n',
      },
    } as const;
    assert.deepEqual(renderConfig({ machine, profile, vars, sshAuthorizedKeys: [] }), {
      contentType: 'text/plain; charset=utf-8',
      body: '#cloud-config\nhostname: worker-012345\n',
    });
    const bad = { ...profile, config: { ...profile.config, template: '{{nope}}' } };
    assert.throws(
      () => renderConfig({ machine, profile: bad, vars, sshAuthorizedKeys: [] }),
      /unknown template variable \{\{nope\}\}/,
    );
  });
});
