/**
 * `metalseed lab up|status|console|boot|down`: QEMU machines PXE-boot from a real seed in
 * network namespaces (src/lab). Every subcommand takes --dir (the lab's state) and --prefix
 * (its namespace names), so a test's lab never meets a user's.
 */
import { Command, type Command as CommandT, Option } from 'commander';
import { MetalseedError } from '../lib/errors.ts';

/** Loaded on use: the lab pulls in the boot image builder and the SSE reader. */
const lab = () => import('../lab/index.ts');

interface LabFlags {
  dir: string;
  prefix: string;
}

/** QEMU TCG on a shared 2-core box: a UEFI PXE machine alone takes ~30 s; leave room. */
const DEFAULT_TIMEOUT_S = 300;
const DEFAULT_DIR = '/var/lib/metalseed-lab';
const DEFAULT_PREFIX = 'msl-';

function withLabOptions(cmd: CommandT): CommandT {
  return cmd
    .addOption(new Option('--dir <dir>', 'lab state directory').env('METALSEED_LAB_DIR').default(DEFAULT_DIR))
    .addOption(
      new Option('--prefix <prefix>', 'network namespace name prefix')
        .env('METALSEED_LAB_PREFIX')
        .default(DEFAULT_PREFIX),
    );
}

async function flags(c: CommandT): Promise<LabFlags> {
  const f = c.optsWithGlobals<LabFlags>();
  const { PREFIX_RE } = await lab();
  if (!PREFIX_RE.test(f.prefix)) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `--prefix: "${f.prefix}" is not a namespace prefix`,
      'lower-case letters, digits and "-", starting with a letter, at most 24 characters (e.g. msl-)',
    );
  }
  return f;
}

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new MetalseedError('INVALID_INPUT', `--timeout: "${v}" is not seconds`);
  return n;
}

/** The lab image unpacks a 25 MB initramfs into RAM: below 256 MiB the kernel runs short. */
const MIN_MEMORY_MIB = 256;

function mebibytes(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < MIN_MEMORY_MIB) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `--memory: "${v}" is not a MiB count of at least ${MIN_MEMORY_MIB}`,
    );
  }
  return n;
}

function count(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new MetalseedError('INVALID_INPUT', `--machines: "${v}" is not a count`);
  return n;
}

/** The `--dir` to repeat in suggested commands (none for the default). */
const dirFlagOf = (f: LabFlags): string => (f.dir === DEFAULT_DIR ? '' : ` --dir ${f.dir}`);

function finish(results: { outcome: string }[], f: LabFlags): void {
  const bad = results.filter((r) => r.outcome !== 'provisioned').length;
  const dirFlag = dirFlagOf(f);
  print('');
  print(
    `the lab stays up: metalseed lab status${dirFlag} | lab console m1${dirFlag} | lab boot --firmware uefi${dirFlag} | lab down${dirFlag}`,
  );
  if (bad > 0) {
    print(`${bad} of ${results.length} machines were not provisioned`);
    process.exitCode = 1;
  }
}

/** Ctrl-C stops watching; the lab's processes run in their own session and stay up. */
function interrupted(f: LabFlags): void {
  process.once('SIGINT', () => {
    const dirFlag = dirFlagOf(f);
    print(
      `\ninterrupted: the lab is still up; \`metalseed lab status${dirFlag}\`, \`metalseed lab down${dirFlag}\``,
    );
    process.exit(130);
  });
}

export function labCommand(): CommandT {
  const cmd = new Command('lab').description(
    'virtual machines PXE-boot from a real seed: network namespaces + QEMU, no host interface touched',
  );

  cmd.addCommand(
    withLabOptions(new Command('up'))
      .description('build the lab (network, seed, boot image) and PXE-boot N machines until provisioned')
      .option('-n, --machines <n>', 'how many machines', count, 2)
      .option(
        '--firmware <list>',
        'bios | uefi | uefi-pxe | bios-undionly | mixed, or a list cycled over the machines',
        'bios,uefi-pxe',
      )
      .option('--install', 'apt-get install the missing Debian packages first')
      .option('--timeout <seconds>', 'give up waiting after this long', seconds, DEFAULT_TIMEOUT_S)
      .option('--memory <MiB>', 'guest RAM of each machine', mebibytes)
      .action(
        async (
          o: { machines: number; firmware: string; install?: boolean; timeout: number; memory?: number },
          c,
        ) => {
          const f = await flags(c);
          interrupted(f);
          const { labUp } = await lab();
          const results = await labUp({
            ...f,
            machines: o.machines,
            firmware: o.firmware,
            install: o.install === true,
            timeoutSeconds: o.timeout,
            ...(o.memory !== undefined ? { memoryMib: o.memory } : {}),
            print,
          });
          finish(results, f);
        },
      ),
  );

  cmd.addCommand(
    withLabOptions(new Command('boot'))
      .description('PXE-boot one more machine in the lab that is up')
      .option('--firmware <firmware>', 'bios | uefi | uefi-pxe | bios-undionly', 'bios')
      .option('--timeout <seconds>', 'give up waiting after this long', seconds, DEFAULT_TIMEOUT_S)
      .option('--memory <MiB>', 'guest RAM of the machine', mebibytes)
      .action(async (o: { firmware: string; timeout: number; memory?: number }, c) => {
        const f = await flags(c);
        interrupted(f);
        const { labBoot } = await lab();
        const mem = o.memory !== undefined ? { memoryMib: o.memory } : {};
        finish(
          await labBoot({ dir: f.dir, firmware: o.firmware, timeoutSeconds: o.timeout, ...mem, print }),
          f,
        );
      }),
  );

  cmd.addCommand(
    withLabOptions(new Command('status'))
      .description("the lab's processes and machines, with each machine's state at the seed")
      .option('-o, --output <format>', 'table | json', 'table')
      .action(async (o: { output: string }, c) => {
        const f = await flags(c);
        const { labStatus, statusLines } = await lab();
        const s = await labStatus(f.dir);
        if (o.output === 'json') print(JSON.stringify(s, null, 2));
        else for (const line of statusLines(s)) print(line);
      }),
  );

  cmd.addCommand(
    withLabOptions(new Command('console'))
      .description("a machine's serial console log (firmware, iPXE, kernel, /init, Ignition)")
      .argument('<machine>', 'machine name (m1, m2, …) or MAC')
      .option('-f, --follow', 'keep printing while the machine runs')
      .action(async (machine: string, o: { follow?: boolean }, c) => {
        const f = await flags(c);
        const { labConsole } = await lab();
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        await labConsole(f.dir, machine, o.follow === true, (b) => process.stdout.write(b), ac.signal);
      }),
  );

  cmd.addCommand(
    withLabOptions(new Command('down'))
      .description('stop every lab process by its PID and delete the lab namespaces (safe to run twice)')
      .action(async (_o: unknown, c) => {
        const f = await flags(c);
        const { labDown } = await lab();
        const r = await labDown({ ...f, print });
        if (r.left.length > 0) {
          throw new MetalseedError('INTERNAL', `namespaces left behind: ${r.left.join(', ')}`);
        }
      }),
  );
  return cmd;
}
