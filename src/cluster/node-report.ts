/**
 * The first-boot report every seed-rendered Ignition carries: a script that POSTs the
 * machine's hostname and address to the seed until it answers, and the oneshot unit that
 * runs it once the network is up. One copy, used by the provisioner's minimal role config and
 * by `nodeIgnition`.
 */
import type { IgnitionFile, IgnitionUnit } from './ignition.ts';

export const REPORT_SCRIPT = '/opt/metalseed/report';

/** The report script; `reportUrl` is the seed's `/report?mac=…` URL for this machine. */
export function reportScript(reportUrl: string): string {
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

export function reportScriptFile(reportUrl: string): IgnitionFile {
  return { path: REPORT_SCRIPT, mode: 0o755, contents: reportScript(reportUrl) };
}

export const REPORT_UNIT: IgnitionUnit = {
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
