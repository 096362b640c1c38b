/** Talking to the cluster's API server: kubeconfig, a small client, the node watcher, the smoke test. */
export { KubeClient, query, REQUEST_TIMEOUT_MS } from './client.ts';
export { apiError, connectionError, GONE, KubeApiError } from './errors.ts';
export { type KubeConnection, loadKubeconfigFile, parseKubeconfig } from './kubeconfig.ts';
export { CONTROL_PLANE_LABEL, type NodeFact, nodeFact, type Readiness } from './node-facts.ts';
export { KubeNodeOps, NODE_LEASE_NAMESPACE } from './node-ops.ts';
export {
  BACKOFF_INITIAL_MS,
  BACKOFF_MAX_MS,
  NODES_PATH,
  type NodeListener,
  type NodeSource,
  NodeWatcher,
  type NodeWatcherOptions,
  WATCH_TIMEOUT_S,
  type WatchState,
} from './node-watch.ts';
export {
  CLEANUP_TIMEOUT_MS,
  describePod,
  httpGet,
  runSmoke,
  SMOKE_STEPS,
  SMOKE_TIMEOUT_MS,
  type SmokeClient,
  SmokeError,
  type SmokeOptions,
  type SmokeResult,
  type SmokeStep,
} from './smoke.ts';
export { DEFAULT_SMOKE_IMAGE, SMOKE_LABEL, type SmokeObjects, smokeObjects } from './smoke-manifests.ts';
export { KubeTokenApi } from './token-api.ts';
export type * from './types.ts';
