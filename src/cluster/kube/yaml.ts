/**
 * Byte-stable YAML for Kubernetes-style documents (STYLE.md principle 8, as cdk8s does it):
 * keys sorted at every depth except that `apiVersion`, `kind`, `metadata` lead a document,
 * no anchors or aliases, no line folding, block literals for multi-line strings.
 *
 * Output follows YAML 1.1 quoting, because kubeadm and kubectl read it with go-yaml
 * (sigs.k8s.io/yaml): strings such as `on`, `no` or `10:30` are quoted there, where YAML 1.2
 * would leave them plain and a 1.1 reader would see a boolean or a number.
 */

import { parseAllDocuments, stringify } from 'yaml';
import { sortKeys } from '../../lib/stable-json.ts';

const HEAD_KEYS = ['apiVersion', 'kind', 'metadata'] as const;

const OPTIONS = {
  version: '1.1',
  aliasDuplicateObjects: false,
  blockQuote: 'literal',
  indentSeq: false,
  lineWidth: 0,
  minContentWidth: 0,
} as const;

/** One or more documents, separated by `---` lines; undefined values are dropped. */
export function renderYamlDocuments(docs: readonly object[]): string {
  return docs.map((d) => stringify(sortDocument(d), OPTIONS)).join('---\n');
}

/** Parses text written by `renderYamlDocuments` back to plain values (tests, previews). */
export function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1' }).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS();
  });
}

function sortDocument(doc: object): unknown {
  const sorted = sortKeys(doc) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of HEAD_KEYS) if (k in sorted) out[k] = sorted[k];
  for (const [k, v] of Object.entries(sorted)) if (!(k in out)) out[k] = v;
  return out;
}
