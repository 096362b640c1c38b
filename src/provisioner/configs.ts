/**
 * The config a machine fetches at /ignition. For now a minimal Ignition per role (hostname,
 * the operator's SSH keys, a unit that reports the first boot to the seed); issue 4 adds the
 * Kubernetes pieces. Profiles may instead name a template (raw Ignition, cloud-config, plain).
 */
import { renderIgnition } from '../cluster/index.ts';
import { REPORT_UNIT, reportScriptFile } from '../cluster/node-report.ts';
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
      reportScriptFile(`${i.vars.seed}/report?mac=${i.vars.mac}`),
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
