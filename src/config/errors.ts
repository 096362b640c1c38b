/** Config errors carry the key path; `load.ts` adds the file and line. */
import { MetalseedError } from '../lib/errors.ts';

export class ConfigError extends MetalseedError {
  file?: string;
  line?: number;
  constructor(
    readonly path: readonly (string | number)[],
    readonly problem: string,
  ) {
    super('CONFIG_INVALID', `${formatPath(path)}: ${problem}`);
    this.name = 'ConfigError';
  }

  /** "seed.yaml:12: dhcp.range: expected …" — the form editors and terminals link. */
  override toString(): string {
    const where = this.file ? `${this.file}${this.line ? `:${this.line}` : ''}: ` : '';
    return `${where}${formatPath(this.path)}: ${this.problem}`;
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
