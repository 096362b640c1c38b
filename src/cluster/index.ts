export {
  caSetFiles,
  controllerSecrets,
  controllerStage1,
  FLANNEL_MANIFEST_PATH,
  INIT_CONFIG_PATH,
  ROOT_LABEL,
} from './controller-ignition.ts';
export {
  dataUrl,
  IGNITION_VERSION,
  type IgnitionFile,
  type IgnitionSpec,
  type IgnitionUnit,
  type IgnitionUser,
  renderIgnition,
} from './ignition.ts';
export { JOIN_CONFIG_PATH, type NodeIgnitionInput, nodeIgnition } from './node-ignition.ts';
export { loadOrCreateSeedTls, type SeedTls } from './seed-tls.ts';
export { apiServerUrl, openClusterPki, operatorKubeconfig, PKI_DIR } from './state.ts';
export { type TokenApi, TokenKeeper, type TokenSecret } from './token-keeper.ts';
