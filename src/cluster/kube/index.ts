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
