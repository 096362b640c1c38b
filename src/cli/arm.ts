/**
 * `metalseed arm --role controller --for 30m` | `--status` | `--off`: opens (or closes) the
 * window in which controllers may fetch their secret stage, once each (via the API).
 */
import { Command, Option } from 'commander';
import type { ArmState } from '../inventory/index.ts';
import { context, withApiOptions } from './client.ts';
import { print } from './output.ts';

interface ArmFlags {
  role: 'controller';
  for?: string;
  status?: boolean;
  off?: boolean;
}

export function armCommand(): Command {
  return withApiOptions(
    new Command('arm')
      .description('let controllers fetch their cluster secrets (once each) for a while, via the API')
      .addOption(new Option('--role <role>', 'which enrolment').choices(['controller']).default('controller'))
      .option('--for <duration>', 'how long, e.g. 30m or 1h', '30m')
      .option('--status', 'show whether enrolment is armed, change nothing')
      .option('--off', 'disarm now (unused secret-stage tokens die)'),
  ).action(async (o: ArmFlags, c: Command) => {
    const { api, output } = context(c);
    const state = o.status
      ? await api.request<ArmState>('GET', '/arm')
      : o.off
        ? await api.request<ArmState>('DELETE', '/arm')
        : await api.request<ArmState>('POST', '/arm', { role: o.role, for: o.for });
    print(output, state, () =>
      state.armed
        ? `${state.role} enrolment armed until ${state.until}\n`
        : `${state.role} enrolment is not armed\n`,
    );
  });
}
