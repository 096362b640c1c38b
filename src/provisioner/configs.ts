/**
 * The config a machine fetches at /ignition. For now a minimal Ignition per role (hostname,
 * the operator's SSH keys, a unit that reports the first boot to the seed); issue 4 adds the
 * Kubernetes pieces. Profiles may instead name a template (raw Ignition, cloud-config, plain).
 */
import { type IgnitionUnit, renderIgnition } from '../cluster/index.ts';
import type { Machine, ProfileSpec } from '../inventory/index.ts';
import { render, type TemplateVars } from './template.ts';

export interface RenderedConfig {
  contentType: string;
  body: string;
}

export interface ConfigInputs {
  machine: Machine;
  profile: ProfileSpec;
  vars: TemplateVars;
  sshAuthorizedKeys: readonly string[];
}

const REPORT_SCRIPT = '/opt/metalseed/report';

/** The first-boot report: hostname and address, POSTed to the seed until it answers. */
function reportScript(reportUrl: string): string {
  return [
    '#!/bin/sh',
    '# Written by metalseed: tells the seed that this machine booted its config.',
    'set -u',
    'addr=$(ip -4 -o addr show scope global 2>/dev/null | awk \'{ split($4, a, "/"); print a[1]; exit }\')',
    'body=$(printf \'{"hostname":"%s","address":"%s","result":"ok"}\' "$(hostname)" "${addr:-}")',
    `exec curl -fsS --retry 30 --retry-delay 2 --retry-all-errors -H 'Content-Type: application/json' --data-binary "$body" '${reportUrl}'`,
    '',
  ].join('\n');
}

const REPORT_UNIT: IgnitionUnit = {
  name: 'metalseed-report.service',
  enabled: true,
  contents: [
    '[Unit]',
    'Description=Report the first boot to the metalseed seed',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${REPORT_SCRIPT}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'),
};

export function renderConfig(i: ConfigInputs): RenderedConfig {
  const c = i.profile.config;
  if (c.kind === 'template') {
    const body = render(c.template, i.vars, `profiles.${i.profile.name}.config`);
    const type =
      c.format === 'ignition' ? 'application/vnd.coreos.ignition+json' : 'text/plain; charset=utf-8';
    return { contentType: type, body };
  }
  const body = renderIgnition({
    files: [
      { path: '/etc/hostname', mode: 0o644, contents: `${i.machine.hostname}\n` },
      { path: REPORT_SCRIPT, mode: 0o755, contents: reportScript(`${i.vars.seed}/report?mac=${i.vars.mac}`) },
      {
        path: '/etc/metalseed/machine.env',
        mode: 0o644,
        contents: `METALSEED_ID=${i.machine.id}\nMETALSEED_ROLE=${i.machine.role}\nMETALSEED_SEED=${i.vars.seed}\n`,
      },
    ],
    units: [REPORT_UNIT],
    users: [{ name: 'core', sshAuthorizedKeys: [...i.sshAuthorizedKeys] }],
  });
  return { contentType: 'application/vnd.coreos.ignition+json', body };
}
