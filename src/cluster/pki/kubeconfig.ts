/**
 * The operator's kubeconfig (kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig),
 * shaped like kubeadm's admin.conf: one cluster, one user `kubernetes-admin`, one context
 * `kubernetes-admin@<cluster>`, credentials embedded as `*-data` (base64 of the PEM text).
 * Byte-stable: keys in sorted order at every level, which is also the order kubeadm and
 * `kubectl config view` write, sequences not indented (likewise), and no line folding of the
 * long base64 values.
 */
import { stringify } from 'yaml';
import { MetalseedError } from '../../lib/errors.ts';
import { stableStringify } from '../../lib/stable-json.ts';
import { ADMIN_SUBJECT } from './cluster-pki.ts';

export interface KubeconfigInput {
  clusterName: string;
  /** `https://HOST:6443`, the control-plane endpoint. */
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Defaults to the admin certificate's CN, as kubeadm names the user. */
  userName?: string;
}

export function adminKubeconfig(input: KubeconfigInput): string {
  checkServer(input.server);
  if (input.clusterName === '') throw new MetalseedError('INVALID_INPUT', 'kubeconfig: empty cluster name');
  const user = input.userName ?? ADMIN_SUBJECT.commonName;
  const context = `${user}@${input.clusterName}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: input.clusterName,
        cluster: { server: input.server, 'certificate-authority-data': b64(input.caPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster: input.clusterName, user } }],
    'current-context': context,
    preferences: {},
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(input.certPem), 'client-key-data': b64(input.keyPem) },
      },
    ],
  };
  // stableStringify sorts the keys; YAML 1.2 is a superset of JSON, so the round trip is exact
  return stringify(JSON.parse(stableStringify(config)), { lineWidth: 0, indentSeq: false });
}

function checkServer(server: string): void {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new MetalseedError('INVALID_INPUT', `kubeconfig: server "${server}" is not a URL`);
  }
  if (url.protocol !== 'https:' || url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new MetalseedError('INVALID_INPUT', `kubeconfig: server "${server}" must be https://HOST:PORT`);
  }
}

function b64(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}
