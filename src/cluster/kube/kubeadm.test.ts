import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertGolden } from '../../../test/helpers/golden.ts';
import { parseClusterSpec, resolveControlPlaneEndpoint } from '../../config/index.ts';
import { MetalseedError } from '../../lib/errors.ts';
import {
  controlPlaneJoinDocuments,
  goDuration,
  type InitInput,
  initDocuments,
  type JoinInput,
  renderControlPlaneJoinConfig,
  renderInitConfig,
  renderWorkerJoinConfig,
  workerJoinDocuments,
} from './kubeadm.ts';
import { parseYamlDocuments } from './yaml.ts';

/**
 * Field names of the kubeadm v1beta4 types we write, from the reference
 * https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/ (generated from
 * kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go and
 * cmd/kubeadm/app/apis/bootstraptoken/v1/types.go). A value names the field's type when we
 * descend into it (`[]` for a list of it); null for scalars, string lists and types we never write.
 */
const V1BETA4: Record<string, Record<string, string | null>> = {
  InitConfiguration: {
    apiVersion: null,
    kind: null,
    bootstrapTokens: 'BootstrapToken[]',
    dryRun: null,
    nodeRegistration: 'NodeRegistrationOptions',
    localAPIEndpoint: 'APIEndpoint',
    certificateKey: null,
    skipPhases: null,
    patches: null,
    timeouts: null,
  },
  ClusterConfiguration: {
    apiVersion: null,
    kind: null,
    etcd: null,
    networking: 'Networking',
    kubernetesVersion: null,
    controlPlaneEndpoint: null,
    apiServer: 'APIServer',
    controllerManager: null,
    scheduler: null,
    dns: null,
    proxy: null,
    certificatesDir: null,
    imageRepository: null,
    featureGates: null,
    clusterName: null,
    encryptionAlgorithm: null,
    certificateValidityPeriod: null,
    caCertificateValidityPeriod: null,
  },
  JoinConfiguration: {
    apiVersion: null,
    kind: null,
    dryRun: null,
    nodeRegistration: 'NodeRegistrationOptions',
    caCertPath: null,
    discovery: 'Discovery',
    controlPlane: 'JoinControlPlane',
    skipPhases: null,
    patches: null,
    timeouts: null,
  },
  BootstrapToken: { token: null, description: null, ttl: null, expires: null, usages: null, groups: null },
  NodeRegistrationOptions: {
    name: null,
    criSocket: null,
    taints: null,
    kubeletExtraArgs: 'Arg[]',
    ignorePreflightErrors: null,
    imagePullPolicy: null,
    imagePullSerial: null,
  },
  Arg: { name: null, value: null },
  APIEndpoint: { advertiseAddress: null, bindPort: null },
  APIServer: { extraArgs: 'Arg[]', extraVolumes: null, extraEnvs: null, certSANs: null },
  Networking: { serviceSubnet: null, podSubnet: null, dnsDomain: null },
  Discovery: { bootstrapToken: 'BootstrapTokenDiscovery', file: null, tlsBootstrapToken: null },
  BootstrapTokenDiscovery: {
    token: null,
    apiServerEndpoint: null,
    caCertHashes: null,
    unsafeSkipCAVerification: null,
  },
  JoinControlPlane: { localAPIEndpoint: 'APIEndpoint', certificateKey: null },
};

/** Every key path in `doc` that its v1beta4 type does not have. */
function unknownFields(doc: unknown): string[] {
  const kind = (doc as { kind?: unknown }).kind;
  assert.equal(typeof kind, 'string');
  const bad: string[] = [];
  const walk = (v: unknown, type: string, at: string): void => {
    if (type.endsWith('[]')) {
      assert.ok(Array.isArray(v), `${at} should be a list`);
      for (const [i, x] of v.entries()) walk(x, type.slice(0, -2), `${at}[${i}]`);
      return;
    }
    const fields = V1BETA4[type];
    assert.ok(fields, `no field list for ${type}`);
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (!(k in fields)) bad.push(`${at}.${k}`);
      else if (fields[k]) walk(x, fields[k], `${at}.${k}`);
    }
  };
  walk(doc, kind as string, kind as string);
  return bad;
}

const TOKEN = 'abcdef.0123456789abcdef';
const CA_HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;
const CLUSTER = parseClusterSpec({ name: 'seed', controlPlaneEndpoint: 'k8s-api.lab.example:6443' });
const ENDPOINT = resolveControlPlaneEndpoint(CLUSTER, '10.0.0.11');

const INIT: InitInput = {
  cluster: CLUSTER,
  node: { hostname: 'cp-01', address: '10.0.0.11' },
  endpoint: ENDPOINT,
  bootstrapToken: TOKEN,
  extraCertSANs: ['10.0.0.10', 'k8s-api.lab.example'],
};
const WORKER: JoinInput = {
  node: { hostname: 'worker-01', address: '10.0.0.21' },
  endpoint: ENDPOINT,
  bootstrapToken: TOKEN,
  caCertHash: CA_HASH,
};
const CONTROLLER: JoinInput = { ...WORKER, node: { hostname: 'cp-02', address: '10.0.0.12' } };

describe('kubeadm v1beta4 configs', () => {
  it('matches the golden files', () => {
    assertGolden('kubeadm-init.yaml', renderInitConfig(INIT));
    assertGolden('kubeadm-join-worker.yaml', renderWorkerJoinConfig(WORKER));
    assertGolden('kubeadm-join-controlplane.yaml', renderControlPlaneJoinConfig(CONTROLLER));
  });

  it('uses only v1beta4 field names', () => {
    const texts = [
      renderInitConfig(INIT),
      renderWorkerJoinConfig(WORKER),
      renderControlPlaneJoinConfig(CONTROLLER),
    ];
    for (const text of texts) {
      for (const doc of parseYamlDocuments(text)) {
        assert.equal((doc as { apiVersion: string }).apiVersion, 'kubeadm.k8s.io/v1beta4');
        assert.deepEqual(unknownFields(doc), []);
      }
    }
  });

  it('the field check catches a typo', () => {
    const [, cluster] = initDocuments(INIT);
    const typo = { ...cluster, networking: { podSubnets: '10.2.0.0/16' } };
    assert.deepEqual(unknownFields(typo), ['ClusterConfiguration.networking.podSubnets']);
    const args = {
      kind: 'JoinConfiguration',
      nodeRegistration: { kubeletExtraArgs: [{ name: 'a', val: 'b' }] },
    };
    assert.deepEqual(unknownFields(args), ['JoinConfiguration.nodeRegistration.kubeletExtraArgs[0].val']);
  });

  it('round-trips through YAML', () => {
    assert.deepEqual(parseYamlDocuments(renderInitConfig(INIT)), initDocuments(INIT));
    assert.deepEqual(parseYamlDocuments(renderWorkerJoinConfig(WORKER)), workerJoinDocuments(WORKER));
    assert.deepEqual(
      parseYamlDocuments(renderControlPlaneJoinConfig(CONTROLLER)),
      controlPlaneJoinDocuments(CONTROLLER),
    );
  });

  it('init: podSubnet is the podCIDR, the endpoint host is a SAN, kubelet args in list form', () => {
    const spec = parseClusterSpec({ podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' });
    const endpoint = resolveControlPlaneEndpoint(spec, '192.168.1.5');
    const [init, cluster] = initDocuments({
      ...INIT,
      cluster: spec,
      endpoint,
      extraCertSANs: ['192.168.1.5'],
    });
    assert.deepEqual(cluster!.networking, {
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/12',
      dnsDomain: 'cluster.local',
    });
    assert.equal(cluster!.controlPlaneEndpoint, '192.168.1.5:6443');
    assert.deepEqual(cluster!.apiServer, { certSANs: ['192.168.1.5'] }, 'no duplicate SAN');
    assert.deepEqual((init!.nodeRegistration as { kubeletExtraArgs: unknown }).kubeletExtraArgs, [
      { name: 'node-ip', value: '10.0.0.11' },
    ]);
  });

  it('never puts key material in a join file', () => {
    for (const text of [renderWorkerJoinConfig(WORKER), renderControlPlaneJoinConfig(CONTROLLER)]) {
      assert.doesNotMatch(text, /PRIVATE KEY/);
      assert.doesNotMatch(text, /key:/i, 'no key, certificateKey or privateKey field');
      assert.doesNotMatch(text, /unsafeSkipCAVerification/);
    }
    assert.doesNotMatch(renderInitConfig(INIT), /PRIVATE KEY|certificateKey/);
  });

  it('gives the same bytes every time', () => {
    assert.equal(renderInitConfig(INIT), renderInitConfig({ ...INIT }));
    assert.equal(renderWorkerJoinConfig(WORKER), renderWorkerJoinConfig({ ...WORKER }));
  });

  it('refuses malformed inputs without echoing the token', () => {
    const bad: [() => unknown, RegExp][] = [
      [
        () => renderWorkerJoinConfig({ ...WORKER, bootstrapToken: 'ABCDEF.0123456789abcdef' }),
        /bootstrap token/,
      ],
      [() => renderInitConfig({ ...INIT, bootstrapToken: 'abcdef0123456789abcdef' }), /bootstrap token/],
      [() => renderWorkerJoinConfig({ ...WORKER, caCertHash: '0'.repeat(64) }), /caCertHash/],
      [
        () => renderWorkerJoinConfig({ ...WORKER, node: { hostname: 'Worker_01', address: '10.0.0.21' } }),
        /Node name/,
      ],
      [() => renderWorkerJoinConfig({ ...WORKER, node: { hostname: 'w', address: '10.0.0.256' } }), /IPv4/],
      [() => renderInitConfig({ ...INIT, tokenTtlSeconds: 0 }), /TTL/],
    ];
    for (const [f, message] of bad) {
      assert.throws(f, (e) => {
        assert.ok(e instanceof MetalseedError);
        assert.equal(e.code, 'INVALID_INPUT');
        assert.match(e.message, message);
        assert.doesNotMatch(e.message, /0123456789abcdef/);
        return true;
      });
    }
  });

  it('writes TTLs the way Go prints a time.Duration', () => {
    const table: [number, string][] = [
      [7200, '2h0m0s'],
      [5400, '1h30m0s'],
      [1800, '30m0s'],
      [45, '45s'],
      [86400 + 61, '24h1m1s'],
    ];
    for (const [s, want] of table) assert.equal(goDuration(s), want);
  });
});
