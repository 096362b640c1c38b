/**
 * Test support: a fake API server (fake-apiserver.ts) with a fresh cluster CA, a server
 * certificate for 127.0.0.1, the seed's own admin certificate and kubeconfig, and Node
 * objects shaped like a kubelet's.
 */
import {
  adminKubeconfig,
  type CertAndKey,
  createCa,
  issueAdminCert,
  issueCertificate,
} from '../cluster/pki/index.ts';
import { type FakeApiOptions, FakeApiServer } from './fake-apiserver.ts';
import { type KubeConnection, parseKubeconfig } from './kubeconfig.ts';
import type { Node } from './types.ts';

export interface FakeCluster {
  api: FakeApiServer;
  ca: CertAndKey;
  admin: CertAndKey;
  /** The admin kubeconfig text, as `metalseed kubeconfig` writes it. */
  kubeconfig: string;
  conn: KubeConnection;
}

/** A fake API server on 127.0.0.1 whose serving certificate is signed by `ca`. */
export async function startFakeApiServer(
  ca: CertAndKey,
  o: Omit<FakeApiOptions, 'ca' | 'serverCert'> = {},
  now = new Date(),
): Promise<FakeApiServer> {
  const serverCert = await issueCertificate({
    ca,
    subject: { commonName: 'kube-apiserver' },
    usages: ['serverAuth'],
    dnsNames: ['localhost', 'kubernetes'],
    ipAddresses: ['127.0.0.1'],
    now,
  });
  return FakeApiServer.start({ ...o, ca, serverCert });
}

export async function startFakeCluster(
  o: Omit<FakeApiOptions, 'ca' | 'serverCert'> = {},
  now = new Date(),
): Promise<FakeCluster> {
  const ca = await createCa({ subject: { commonName: 'kubernetes' }, now });
  const admin = await issueAdminCert(ca, now);
  const api = await startFakeApiServer(ca, o, now);
  const kubeconfig = adminKubeconfig({
    clusterName: 'kubernetes',
    server: api.url,
    caPem: ca.certPem,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
  });
  return { api, ca, admin, kubeconfig, conn: parseKubeconfig(kubeconfig, 'test', '/') };
}

export interface NodeShape {
  name: string;
  ready?: 'True' | 'False' | 'Unknown';
  ip?: string;
  bootID?: string;
  controlPlane?: boolean;
  uid?: string;
}

/** A Node as a kubelet registers it (the fields the seed reads, plus a realistic few). */
export function kubeletNode(s: NodeShape): Node {
  return {
    metadata: {
      name: s.name,
      ...(s.uid ? { uid: s.uid } : {}),
      labels: {
        'kubernetes.io/hostname': s.name,
        'kubernetes.io/os': 'linux',
        ...(s.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
    },
    spec: { podCIDR: '10.2.1.0/24' },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        {
          type: 'Ready',
          status: s.ready ?? 'True',
          reason: s.ready === 'True' ? 'KubeletReady' : 'KubeletNotReady',
        },
      ],
      addresses: [
        { type: 'InternalIP', address: s.ip ?? '127.0.0.1' },
        { type: 'Hostname', address: s.name },
      ],
      nodeInfo: { bootID: s.bootID ?? 'boot-1', kubeletVersion: 'v1.36.2', machineID: `machine-${s.name}` },
    },
  };
}
