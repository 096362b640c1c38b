/**
 * Reads a YAML config file. Syntax errors and schema errors both come back as a
 * `ConfigError` with the file, the line and the key path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { MetalseedError } from '../lib/errors.ts';
import { ConfigError } from './errors.ts';
import { parseConfig } from './parse.ts';
import type { Config } from './types.ts';

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetalseedError('CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as Error).message}`);
  }
  return parseConfigText(text, file);
}

export function parseConfigText(
  text: string,
  source: string,
  baseDir = path.dirname(path.resolve(source)),
): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const e = new ConfigError([], `YAML syntax: ${syntax.message.split('\n')[0]}`);
    e.file = source;
    e.line = lc.linePos(syntax.pos[0]).line;
    throw e;
  }
  try {
    return parseConfig(doc.toJS({ maxAliasCount: 100 }), source, baseDir);
  } catch (err) {
    if (err instanceof ConfigError) {
      err.file = source;
      const line = lineOf(doc, err.path, lc);
      if (line !== undefined) err.line = line;
    }
    throw err;
  }
}

/** The line of the deepest node along `path` that exists in the document. */
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  path: readonly (string | number)[],
  lc: LineCounter,
): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as { range?: number[] } | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      offset = (node as { range?: number[] } | undefined)?.range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}
