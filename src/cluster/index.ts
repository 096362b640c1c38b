export {
  dataUrl,
  IGNITION_VERSION,
  type IgnitionFile,
  type IgnitionSpec,
  type IgnitionUnit,
  type IgnitionUser,
  renderIgnition,
} from './ignition.ts';
export { type NodeIgnitionInput, nodeIgnition } from './node-ignition.ts';
export { apiServerUrl, openClusterPki, operatorKubeconfig, PKI_DIR } from './state.ts';
