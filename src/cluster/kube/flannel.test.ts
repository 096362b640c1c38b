import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { assertGolden } from '../../../test/helpers/golden.ts';
import { parseClusterSpec } from '../../config/index.ts';
import { MetalseedError } from '../../lib/errors.ts';
import { FLANNEL_CNI_PLUGIN_IMAGE, FLANNEL_IMAGE, flannelObjects, renderFlannelManifest } from './flannel.ts';
import { parseYamlDocuments } from './yaml.ts';

// biome-ignore lint/suspicious/noExplicitAny: model constructors differ only in their data type
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  DaemonSet,
};

type Doc = { kind: string; metadata: { name: string; labels?: Record<string, string> } } & Record<
  string,
  unknown
>;

function docs(podCIDR: string): Doc[] {
  return parseYamlDocuments(renderFlannelManifest({ podCIDR })) as Doc[];
}

function netConf(podCIDR: string): Record<string, unknown> {
  const cm = docs(podCIDR).find((d) => d.kind === 'ConfigMap')!;
  return JSON.parse((cm.data as Record<string, string>)['net-conf.json']!);
}

describe('flannel manifest', () => {
  it('matches the golden file', () => {
    assertGolden('flannel.yaml', renderFlannelManifest(parseClusterSpec({})));
  });

  it('holds the upstream objects, in apply order', () => {
    assert.deepEqual(
      docs('10.2.0.0/16').map((d) => `${d.kind}/${d.metadata.name}`),
      [
        'Namespace/kube-flannel',
        'ServiceAccount/flannel',
        'ClusterRole/flannel',
        'ClusterRoleBinding/flannel',
        'ConfigMap/kube-flannel-cfg',
        'DaemonSet/kube-flannel-ds',
      ],
    );
  });

  it('sets Network to the podCIDR, vxlan backend', () => {
    assert.deepEqual(netConf('10.2.0.0/16'), {
      Network: '10.2.0.0/16',
      EnableNFTables: false,
      Backend: { Type: 'vxlan' },
    });
    const changed = parseClusterSpec({ podCIDR: '172.20.0.0/14' });
    assert.equal(netConf(changed.podCIDR).Network, '172.20.0.0/14');
    assert.doesNotMatch(renderFlannelManifest(changed), /10\.2\.0\.0|10\.244\./);
  });

  it('labels the namespace for privileged pods', () => {
    const ns = docs('10.2.0.0/16')[0]!;
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  });

  it('pins the flannel and CNI plugin images', () => {
    const ds = docs('10.2.0.0/16').find((d) => d.kind === 'DaemonSet') as unknown as DaemonSet;
    const pod = ds.spec!.template.spec!;
    assert.deepEqual(
      pod.initContainers!.map((c) => [c.name, c.image]),
      [
        ['install-cni-plugin', FLANNEL_CNI_PLUGIN_IMAGE],
        ['install-cni', FLANNEL_IMAGE],
      ],
    );
    assert.deepEqual(
      pod.containers.map((c) => [c.name, c.image]),
      [['kube-flannel', FLANNEL_IMAGE]],
    );
    assert.match(FLANNEL_IMAGE, /^ghcr\.io\/flannel-io\/flannel:v\d+\.\d+\.\d+$/);
  });

  it('every object, as written, validates with kubernetes-models', () => {
    for (const doc of docs('10.2.0.0/16')) {
      const Model = MODELS[doc.kind];
      assert.ok(Model, `no model for ${doc.kind}`);
      const { apiVersion: _a, kind: _k, ...data } = doc;
      assert.doesNotThrow(() => new Model(data).validate(), `${doc.kind} is invalid`);
    }
    assert.equal(flannelObjects('10.2.0.0/16').length, 6, 'flannelObjects validates too');
  });

  it('the validation bites: a malformed DaemonSet fails', () => {
    const bad = new DaemonSet({
      metadata: { name: 'x' },
      // @ts-expect-error deliberately wrong: selector is required, containers must be a list
      spec: { template: { spec: { containers: { name: 'x' } } } },
    });
    assert.throws(() => bad.validate());
  });

  it('round-trips through YAML', () => {
    const objects = flannelObjects('10.2.0.0/16').map((o) => o.toJSON());
    assert.deepEqual(docs('10.2.0.0/16'), JSON.parse(JSON.stringify(objects)));
  });

  it('gives the same bytes every time', () => {
    assert.equal(
      renderFlannelManifest({ podCIDR: '10.2.0.0/16' }),
      renderFlannelManifest({ podCIDR: '10.2.0.0/16' }),
    );
  });

  it('refuses a podCIDR that is not a network', () => {
    assert.throws(
      () => renderFlannelManifest({ podCIDR: '10.2.0.1/16' }),
      (e) => e instanceof MetalseedError && e.code === 'INVALID_INPUT',
    );
  });
});
