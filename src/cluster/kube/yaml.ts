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

/** The `yaml` library's options that give the output described above; exported for tests. */
export const YAML_OPTIONS = {
  version: '1.1',
  aliasDuplicateObjects: false,
  blockQuote: 'literal',
  indentSeq: false,
  lineWidth: 0,
  minContentWidth: 0,
} as const;

/** One or more documents, separated by `---` lines; undefined values are dropped. */
export function renderYamlDocuments(docs: readonly object[]): string {
  return docs.map((d) => renderDocument(sortDocument(d))).join('---\n');
}

function renderDocument(doc: unknown): string {
  const fast = blockYaml(doc);
  return fast ?? stringify(doc, YAML_OPTIONS);
}

/**
 * The same bytes as `stringify(doc, YAML_OPTIONS)` for the shapes Kubernetes documents have
 * (nested maps and sequences of single-line scalars), written directly: the `yaml` library's
 * document model was three quarters of a worker's Ignition render. Null when the document
 * holds anything else (multi-line strings, nested sequences, non-integer numbers...); the
 * library writes those. Scalars that may need quoting are decided by the library, one value
 * at a time, and remembered. yaml.test.ts compares both writers on random documents.
 */
export function blockYaml(doc: unknown): string | null {
  if (!isMap(doc) || Object.keys(doc).length === 0) return null;
  const out: string[] = [];
  return mapLines(doc, '', out) ? out.join('') : null;
}

type YamlMap = Record<string, unknown>;

const isMap = (v: unknown): v is YamlMap =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Plain in YAML 1.1 and 1.2 alike: starts with a letter, no indicator or space inside. */
const PLAIN = /^[A-Za-z][A-Za-z0-9._/-]*$/;
/** YAML 1.1 booleans and nulls (yaml.org/type/bool.html, null.html) that PLAIN admits. */
const RESERVED =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;
/** A dotted IPv4 address (a node IP, one per machine): plain, not a 1.1 float (one dot at most). */
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const SCALAR_MEMO_LIMIT = 4096;
const scalarMemo = new Map<string, string | null>();

/** One single-line scalar as the library writes it, or null when it would not be one line. */
function scalar(v: unknown): string | null {
  switch (typeof v) {
    case 'string': {
      if ((PLAIN.test(v) && !RESERVED.test(v)) || IPV4.test(v)) return v;
      let s = scalarMemo.get(v);
      if (s === undefined) {
        const text = stringify(v, YAML_OPTIONS);
        s = text.indexOf('\n') === text.length - 1 && text.length < 1000 ? text.slice(0, -1) : null;
        if (scalarMemo.size >= SCALAR_MEMO_LIMIT) scalarMemo.clear();
        scalarMemo.set(v, s);
      }
      return s;
    }
    case 'number':
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? String(v) : null;
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return v === null ? 'null' : null;
  }
}

function mapLines(m: YamlMap, indent: string, out: string[]): boolean {
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined) continue;
    const key = scalar(k);
    if (key === null) return false;
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${indent}${key}: []\n`);
      else {
        out.push(`${indent}${key}:\n`);
        if (!seqLines(v, indent, out)) return false;
      }
    } else if (isMap(v)) {
      if (Object.keys(v).length === 0) out.push(`${indent}${key}: {}\n`);
      else {
        out.push(`${indent}${key}:\n`);
        if (!mapLines(v, `${indent}  `, out)) return false;
      }
    } else {
      const s = scalar(v);
      if (s === null) return false;
      out.push(`${indent}${key}: ${s}\n`);
    }
  }
  return true;
}

/** `indentSeq: false`: items at their key's indentation; a map item starts on the dash line. */
function seqLines(items: readonly unknown[], indent: string, out: string[]): boolean {
  for (const item of items) {
    if (Array.isArray(item)) return false;
    if (isMap(item)) {
      const entries = Object.entries(item).filter(([, x]) => x !== undefined);
      if (entries.length === 0) {
        out.push(`${indent}- {}\n`);
        continue;
      }
      const start = out.length;
      if (!mapLines(item, `${indent}  `, out)) return false;
      out[start] = `${indent}- ${out[start]!.slice(indent.length + 2)}`;
    } else {
      const s = scalar(item);
      if (s === null) return false;
      out.push(`${indent}- ${s}\n`);
    }
  }
  return true;
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
