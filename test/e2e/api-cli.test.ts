/**
 * The real `metalseed` CLI (bin/metalseed.js, a separate process) against the operator API
 * served from this process on 127.0.0.1 with a fake inventory: every command in every output
 * format, exit codes from the error table, and `events --follow` on a live stream.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { type FakeInventory, TEST_TOKEN, testApi } from '../../src/api/testing.ts';
import { ErrorCodes } from '../../src/lib/errors.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'metalseed.js');
/** tsx compiles the CLI on every start; generous on a loaded machine. */
const CLI_TIMEOUT_MS = 60_000;

let service: FakeInventory;
let close: () => Promise<void>;
let server: string;
let dataDir: string;

before(async () => {
  const api = await testApi();
  service = api.service;
  close = () => api.app.close();
  server = await api.app.listen({ host: '127.0.0.1', port: 0 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-cli-'));
  fs.writeFileSync(path.join(dataDir, 'api-token'), `${TEST_TOKEN}\n`, { mode: 0o600 });
});
after(async () => {
  await close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously: the API answering it lives in this process's event loop. */
function cli(...args: string[]): Promise<Run> {
  // defaults after the command's own words, unless the test gives its own
  const argv = [BIN, ...args];
  if (!args.includes('--server')) argv.push('--server', server);
  if (!args.includes('--data-dir')) argv.push('--data-dir', dataDir);
  const env = { ...process.env, METALSEED_SERVER: '', METALSEED_DATA_DIR: '' };
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `metalseed ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

function writeTemp(name: string, text: string): string {
  const file = path.join(dataDir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('read commands, every output format', () => {
  it('machines list: sorted rows, fixed columns; json and yaml carry the same data', async () => {
    const [table, json, yaml] = await Promise.all([
      ok('machines', 'list'),
      ok('machines', 'list', '-o', 'json'),
      ok('machines', 'list', '-o', 'yaml'),
    ]);
    assert.equal(
      table,
      [
        'ID               HOSTNAME    ROLE         PROFILE   STATE         MAC                 ADDRESS        LAST SEEN',
        'm-00000000000a   cp-01       controller   -         booting       52:54:00:00:00:01   192.168.0.11   2024-05-01T10:00:00.000Z',
        'm-00000000000c   new-03      worker       -         pending       52:54:00:00:00:03   -              2024-05-01T10:00:00.000Z',
        'm-00000000000b   worker-01   worker       -         provisioned   52:54:00:00:00:02   192.168.0.12   2024-05-01T10:00:00.000Z',
        '',
      ].join('\n'),
    );
    const list = JSON.parse(json);
    assert.deepEqual(
      list.map((m: { hostname: string }) => m.hostname),
      ['cp-01', 'new-03', 'worker-01'],
    );
    assert.deepEqual(Object.keys(list[0]), [...Object.keys(list[0])].sort(), 'keys sorted');
    assert.deepEqual(parseYaml(yaml), list);
    assert.equal(await ok('machines', 'list', '-o', 'json'), json, 'byte-stable across runs');
  });

  it('machines show by MAC, and the other read commands in each format', async () => {
    const runs = await Promise.all([
      ok('machines', 'show', '52-54-00-00-00-02'),
      ok('machines', 'show', 'SN-0002', '-o', 'json'),
      ok('rules', 'list'),
      ok('rules', 'list', '-o', 'yaml'),
      ok('profiles', 'list'),
      ok('profiles', 'list', '-o', 'json'),
      ok('preview', '--mac', '52:54:00:00:00:02', '--arch', 'EFI_BC'),
      ok('preview', '--mac', '52:54:00:00:00:09', '-o', 'json'),
      ok('preview', '--mac', '52:54:00:00:00:02', '-o', 'yaml'),
    ]);
    const [show, showJson, rules, rulesYaml, profiles, profilesJson, preview, previewJson, previewYaml] =
      runs;
    assert.match(show!, /^id: +m-00000000000b\nhostname: +worker-01 \(generated\)\n/);
    assert.match(show!, /\nlabels: +rack=r1\n/);
    assert.equal(JSON.parse(showJson!).serial, 'SN-0002');
    assert.equal(
      rules,
      'NAME            PRIORITY   MATCH            SET\nrack1-workers   0          labels.rack=r1   role=worker\n',
    );
    assert.deepEqual(parseYaml(rulesYaml!), [
      { match: { labels: { rack: 'r1' } }, name: 'rack1-workers', set: { role: 'worker' } },
    ]);
    assert.match(
      profiles!,
      /^NAME +KERNEL +INITRDS +EFI +CONFIG\nflatcar +\/assets\/flatcar\/vmlinuz +\/assets\/flatcar\/initrd +ipxe +ignition-role\n$/,
    );
    assert.equal(JSON.parse(profilesJson!)[0].name, 'flatcar');
    assert.match(
      preview!,
      /^machine: m-00000000000b \(worker-01, worker\)\nrule: +rack1-workers\nprofile: flatcar\n--- ipxe\n#!ipxe\n/,
    );
    assert.match(preview!, /--- config \(application\/json\)\n\{"ignition"/);
    assert.equal(JSON.parse(previewJson!).machine, null);
    assert.equal(parseYaml(previewYaml!).profile, 'flatcar');
  });

  it('events prints the recorded timeline: readable lines, NDJSON, YAML documents', async () => {
    const [table, json, yaml] = await Promise.all([
      ok('events'),
      ok('events', '--machine', 'worker-01', '-o', 'json'),
      ok('events', '-o', 'yaml'),
    ] as const);
    assert.equal(
      table,
      [
        '2024-05-01T10:00:00.000Z  worker-01 (52:54:00:00:00:02)   dhcp.ack        ip=192.168.0.12',
        '2024-05-01T10:00:00.000Z  worker-01 (52:54:00:00:00:02)   tftp.done       file=undionly.kpxe bytes=70000 ms=41',
        '2024-05-01T10:00:00.000Z  worker-01 (52:54:00:00:00:02)   http.ignition   profile=flatcar',
        '',
      ].join('\n'),
    );
    const lines = json.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).seq),
      [1, 2, 3],
    );
    assert.equal(yaml.split('---\n').length - 1, 3);
  });
});

describe('write commands', () => {
  it('rules apply a YAML list and a JSON rule, then delete', async () => {
    const yamlFile = writeTemp(
      'rules.yaml',
      '- name: lab-arm\n  match: { arch: [EFI_ARM64] }\n  set: { role: worker }\n---\nname: lab-cp\nmatch: { mac: [52-54-00-00-00-01] }\nset: { role: controller }\n',
    );
    assert.equal(await ok('rules', 'apply', yamlFile), 'rule lab-arm applied\nrule lab-cp applied\n');
    assert.deepEqual(service.rules.find((r) => r.name === 'lab-cp')?.match, { mac: ['52:54:00:00:00:01'] });
    const jsonFile = writeTemp(
      'rule.json',
      JSON.stringify({ name: 'lab-uuid', match: { uuid: ['u-1'] }, set: {} }),
    );
    const out = JSON.parse(await ok('rules', 'apply', jsonFile, '-o', 'json'));
    assert.deepEqual(out, [{ match: { uuid: ['u-1'] }, name: 'lab-uuid', set: {} }]);
    assert.equal(await ok('rules', 'delete', 'lab-uuid'), 'rule lab-uuid deleted\n');
    assert.deepEqual(JSON.parse(await ok('rules', 'delete', 'lab-arm', '-o', 'json')), {
      deleted: 'lab-arm',
    });
  });

  it('profiles apply and delete', async () => {
    const file = writeTemp('profile.yaml', 'name: tiny\nkernel: /assets/tiny/vmlinuz\nargs: [quiet]\n');
    assert.equal(await ok('profiles', 'apply', file), 'profile tiny applied\n');
    assert.equal(service.profiles.find((p) => p.name === 'tiny')?.efiBinary, 'ipxe');
    const yaml = parseYaml(await ok('profiles', 'apply', file, '-o', 'yaml'));
    assert.equal(yaml[0].args[0], 'quiet');
    assert.equal(await ok('profiles', 'delete', 'tiny'), 'profile tiny deleted\n');
  });

  it('machines set, approve and delete (by any reference)', async () => {
    const set = JSON.parse(
      await ok(
        'machines',
        'set',
        'worker-01',
        '--role',
        'controller',
        '--label',
        'zone=a',
        '--unlabel',
        'rack',
        '-o',
        'json',
      ),
    );
    assert.deepEqual([set.role, set.labels], ['controller', { zone: 'a' }]);
    assert.match(
      await ok('machines', 'set', 'm-00000000000b', '--profile', 'flatcar'),
      /\nprofile: +flatcar\n/,
    );
    assert.match(
      await ok('machines', 'set', 'm-00000000000b', '--no-profile'),
      /\nprofile: +- \(role profile\)\n/,
    );
    assert.equal(
      await ok('machines', 'approve', '52:54:00:00:00:03'),
      'machine m-00000000000c (new-03) approved\n',
    );
    assert.equal(parseYaml(await ok('machines', 'approve', 'new-03', '-o', 'yaml')).state, 'discovered');
    assert.equal(await ok('machines', 'delete', 'new-03'), 'machine m-00000000000c (new-03) deleted\n');
    assert.equal(service.machines.length, 2);
  });
});

describe('errors: one line, the code, the exit status of the code table', () => {
  const expectError = async (args: string[], code: keyof typeof ErrorCodes, message: RegExp) => {
    const r = await cli(...args);
    assert.equal(r.code, ErrorCodes[code].exit, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.split('\n')[0]!, message);
  };

  it('not found, unauthorized, invalid input, ambiguous, unreachable', async () => {
    const bad = writeTemp('bad.yaml', 'name: x\nmatch: { mac: [1\n');
    const nameless = writeTemp('nameless.yaml', 'match: {}\nset: {}\n');
    const clash = writeTemp('clash.yaml', 'name: clash\nmatch: { labels: { rack: r1 } }\nset: {}\n');
    const typo = writeTemp('typo.yaml', 'name: typo\nmatch: { lables: { rack: r1 } }\nset: {}\n');
    await Promise.all([
      expectError(
        ['machines', 'show', 'ghost'],
        'NOT_FOUND',
        /^metalseed: no machine matches "ghost" \(NOT_FOUND\)$/,
      ),
      expectError(
        ['machines', 'list', '--token', 'wrong'],
        'UNAUTHORIZED',
        /^metalseed: wrong API token \(UNAUTHORIZED\)$/,
      ),
      expectError(['rules', 'delete', 'ghost'], 'NOT_FOUND', /\(NOT_FOUND\)$/),
      expectError(
        ['machines', 'set', 'worker-01', '--hostname', 'Bad_Name'],
        'INVALID_INPUT',
        /body\/hostname .*\(INVALID_INPUT\)$/,
      ),
      expectError(['machines', 'set', 'worker-01'], 'INVALID_INPUT', /nothing to set/),
      expectError(['rules', 'apply', bad], 'CONFIG_INVALID', /bad\.yaml:\d+:\d+: Flow sequence/),
      expectError(['rules', 'apply', nameless], 'INVALID_INPUT', /item 1 is not a rule with a "name"/),
      expectError(['rules', 'apply', clash], 'RULE_AMBIGUOUS', /rule "clash": .*\(RULE_AMBIGUOUS\)$/),
      expectError(['rules', 'apply', typo], 'INVALID_INPUT', /unknown property "lables"/),
      expectError(['preview', '--mac', 'nope'], 'INVALID_INPUT', /querystring\/mac/),
      expectError(['machines', 'list', '--server', 'http://127.0.0.1:9'], 'UNAVAILABLE', /cannot reach/),
    ]);
  });

  it('a missing token file is UNAUTHORIZED with a hint', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-notoken-'));
    const r = await cli('machines', 'list', '--data-dir', empty);
    fs.rmSync(empty, { recursive: true });
    assert.equal(r.code, ErrorCodes.UNAUTHORIZED.exit);
    assert.match(r.stderr, /no API token: .*api-token does not exist\n {2}hint: pass --token/);
  });
});

describe('events --follow', () => {
  it('prints an event streamed after it started, until killed', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'events', '--follow', '--machine', 'cp-01', '--server', server, '--data-dir', dataDir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // the CLI has subscribed once the fake sees a listener
      for (let i = 0; service.listenerCount === 0 && i < CLI_TIMEOUT_MS / 50; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(service.listenerCount, 1, 'the CLI opened the stream');
      service.emit({
        machineId: 'm-00000000000b',
        seq: 50,
        time: '2024-05-01T10:01:00.000Z',
        type: 'dhcp.ack',
        data: {},
      });
      service.emit({
        machineId: 'm-00000000000a',
        seq: 51,
        time: '2024-05-01T10:01:00.000Z',
        type: 'http.ipxe',
        mac: '52:54:00:00:00:01',
        durationMs: 3,
        data: { profile: 'flatcar', ip: '192.168.0.11' },
      });
      for (let i = 0; !stdout.includes('http.ipxe') && i < 200; i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.equal(
        stdout,
        '2024-05-01T10:01:00.000Z  cp-01 (52:54:00:00:00:01)       http.ipxe       ip=192.168.0.11 profile=flatcar ms=3\n',
      );
    } finally {
      process.kill(child.pid!, 'SIGTERM');
    }
    await exited;
    for (let i = 0; service.listenerCount > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(service.listenerCount, 0, 'the stream closed with the process');
  });
});
