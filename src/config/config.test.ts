import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ipToString } from '../lib/net.ts';
import { ConfigError } from './errors.ts';
import { parseConfigText } from './load.ts';

const FULL = `# the DESIGN.md example
dataDir: /var/lib/metalseed
interface: enp0s8
advertise: 192.168.0.254
http: { port: 8080 }
dhcp:
  mode: authoritative
  range: 192.168.0.1-192.168.0.100
  leaseTime: 1h
tftp: { enabled: true, root: /usr/lib/ipxe }
cluster:
  name: kubernetes
  podCIDR: 10.2.0.0/16
  serviceCIDR: 10.3.0.0/24
machines:
  - { mac: "52:54:00:00:00:01", role: controller, hostname: cp-01 }
defaultRole: worker
profiles: {}
`;

function fails(text: string): ConfigError {
  try {
    parseConfigText(text, 'seed.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('config was accepted');
}

describe('config', () => {
  it('reads the DESIGN.md example', () => {
    const c = parseConfigText(FULL, 'seed.yaml');
    assert.equal(c.interface, 'enp0s8');
    assert.equal(ipToString(c.advertise!), '192.168.0.254');
    assert.equal(ipToString(c.dhcp.range!.start), '192.168.0.1');
    assert.equal(c.dhcp.leaseTime, 3600);
    assert.equal(c.machines[0]!.hostname, 'cp-01');
    assert.equal(c.cluster.podCIDR, '10.2.0.0/16');
  });

  it('gives every key a default', () => {
    const c = parseConfigText('', 'empty.yaml');
    assert.equal(c.dataDir, '/var/lib/metalseed');
    assert.equal(c.http.port, 8080);
    assert.equal(c.dhcp.mode, 'authoritative');
    assert.equal(c.dhcp.leaseSync, 'before-reply');
    assert.equal(c.tftp.root, '/usr/lib/ipxe');
    assert.equal(c.tftp.binaries.bios, 'undionly.kpxe');
    assert.equal(c.defaultRole, 'worker');
  });

  const cases: [string, string, number, string, RegExp][] = [
    [
      'unknown key, with a suggestion',
      'dhcp:\n  mode: proxy\n  rnage: x\n',
      3,
      'dhcp.rnage',
      /did you mean "range"/,
    ],
    ['bad range', 'dhcp:\n  range: 10.0.0.9-10.0.0.1\n', 2, 'dhcp.range', /first address is after the last/],
    ['bad mode', 'dhcp: { mode: relay }\n', 1, 'dhcp.mode', /authoritative \| proxy \| off/],
    ['bad duration', 'dhcp:\n  leaseTime: soon\n', 2, 'dhcp.leaseTime', /duration like 90s/],
    ['bad lease sync', 'dhcp:\n  leaseSync: never\n', 2, 'dhcp.leaseSync', /before-reply \| after-reply/],
    ['bad port', 'http:\n  port: 70000\n', 2, 'http.port', /integer from 1 to 65535/],
    [
      'bad mac in a list',
      'machines:\n  - mac: "52:54:00:00:00:01"\n  - mac: nope\n',
      3,
      'machines[1].mac',
      /MAC address/,
    ],
    [
      'duplicate mac',
      'machines:\n  - mac: "52:54:00:00:00:01"\n  - mac: "52-54-00-00-00-01"\n',
      3,
      'machines[1].mac',
      /also machines\[0\]/,
    ],
    [
      'bad hostname',
      'machines:\n  - { mac: "52:54:00:00:00:01", hostname: "cp_01" }\n',
      2,
      'machines[0].hostname',
      /RFC 1123/,
    ],
    ['bad advertise', 'advertise: 300.1.1.1\n', 1, 'advertise', /IPv4 address/],
    ['wrong shape', 'tftp: yes\n', 1, 'tftp', /expected a mapping/],
    [
      'bad rule selector',
      'rules:\n  - name: a\n    set: { role: x }\n    match:\n      cidr: [10.0.0.0/33]\n',
      5,
      'rules[0].match.cidr[0]',
      /is not a CIDR/,
    ],
  ];
  for (const [what, text, line, path, problem] of cases) {
    it(`names file, line and key path: ${what}`, () => {
      const e = fails(text);
      assert.equal(e.line, line);
      assert.match(e.toString(), new RegExp(`^seed\\.yaml:${line}: ${path.replace(/[.[\]]/g, '\\$&')}: `));
      assert.match(e.problem, problem);
    });
  }

  it('reports YAML syntax errors with their line', () => {
    const e = fails('dhcp:\n  mode: proxy\n  range: [unclosed\n');
    assert.match(e.toString(), /^seed\.yaml:\d+: \(top level\): YAML syntax/);
  });

  it('accepts profiles with initrd as a string and args as a string', () => {
    const c = parseConfigText(
      'profiles:\n  worker:\n    kernel: http://x/k\n    initrd: http://x/i\n    args: a=1 b=2\n',
      's',
    );
    assert.deepEqual(c.profiles.worker, {
      kernel: 'http://x/k',
      initrds: ['http://x/i'],
      args: ['a=1', 'b=2'],
      efiBinary: 'ipxe',
      config: { kind: 'ignition-role' },
    });
  });

  it('reads profile templates inline or from a file next to the config', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-cfg-'));
    fs.writeFileSync(path.join(dir, 'legacy.yaml'), '#cloud-config\nhostname: {{hostname}}\n');
    const text =
      'profiles:\n  legacy:\n    kernel: http://x/k\n    template: { format: cloud-config, file: legacy.yaml }\n';
    const c = parseConfigText(text, path.join(dir, 'seed.yaml'));
    assert.deepEqual(c.profiles.legacy?.config, {
      kind: 'template',
      format: 'cloud-config',
      template: '#cloud-config\nhostname: {{hostname}}\n',
    });
    const e = fails('profiles:\n  x:\n    kernel: k\n    template: { file: nope.yaml }\n');
    assert.match(e.toString(), /^seed\.yaml:4: profiles\.x\.template\.file: cannot read/);
    fs.rmSync(dir, { recursive: true });
  });
});
