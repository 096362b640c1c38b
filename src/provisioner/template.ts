/**
 * `{{name}}` substitution in profile kernel/initrd URLs and args. Unknown names are an error
 * at render time naming the variable, so a typo never boots a machine with a literal "{{…}}".
 */
import { MetalseedError } from '../lib/errors.ts';

const VAR_RE = /\{\{\s*([a-zA-Z][a-zA-Z0-9_]*)\s*\}\}/g;

export type TemplateVars = Readonly<Record<string, string>>;

export function render(template: string, vars: TemplateVars, where: string): string {
  return template.replace(VAR_RE, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      throw new MetalseedError(
        'CONFIG_INVALID',
        `${where}: unknown template variable {{${name}}}`,
        `known variables: ${Object.keys(vars).sort().join(', ')}`,
      );
    }
    return v;
  });
}
