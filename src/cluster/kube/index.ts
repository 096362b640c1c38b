export { type Cidr, parseCidr } from '../../lib/cidr.ts';
export {
  CLUSTER_KEYS,
  type ClusterSpec,
  DEFAULT_API_SERVER_PORT,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_POD_CIDR,
  DEFAULT_SERVICE_CIDR,
  type Endpoint,
  formatEndpoint,
  parseClusterSpec,
  resolveControlPlaneEndpoint,
} from './cluster-spec.ts';
export {
  FLANNEL_CNI_PLUGIN_IMAGE,
  FLANNEL_IMAGE,
  FLANNEL_NAMESPACE,
  flannelObjects,
  renderFlannelManifest,
} from './flannel.ts';
export {
  controlPlaneJoinDocuments,
  type InitInput,
  initDocuments,
  type JoinInput,
  KUBEADM_API_VERSION,
  type NodeIdentity,
  renderControlPlaneJoinConfig,
  renderInitConfig,
  renderWorkerJoinConfig,
  workerJoinDocuments,
} from './kubeadm.ts';
export { parseYamlDocuments, renderYamlDocuments } from './yaml.ts';
