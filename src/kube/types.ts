/**
 * The few Kubernetes API shapes the seed reads and writes (core/v1, coordination.k8s.io/v1),
 * reduced to the fields it uses. The API server sends much more; every field here is optional
 * where the API allows it to be absent, so a partial object never throws.
 * Reference: kubernetes.io/docs/reference/kubernetes-api (Node, Pod, Service,
 * ReplicationController, Lease, Status, WatchEvent).
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface ListMeta {
  resourceVersion?: string;
}

export interface List<T> {
  kind?: string;
  metadata?: ListMeta;
  items: T[];
}

export interface NodeCondition {
  type: string;
  /** "True", "False" or "Unknown" (the node controller's "kubelet stopped posting"). */
  status: string;
  reason?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface NodeAddress {
  /** InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS. */
  type: string;
  address: string;
}

export interface Node {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { podCIDR?: string; unschedulable?: boolean };
  status?: {
    conditions?: NodeCondition[];
    addresses?: NodeAddress[];
    /** bootID changes on every boot of the machine (NodeSystemInfo). */
    nodeInfo?: { bootID?: string; kubeletVersion?: string; machineID?: string };
  };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
  };
}

export interface Pod {
  metadata: ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
  };
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

export interface ReplicationController {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    selector?: Record<string, string>;
    template?: { metadata?: ObjectMeta; spec?: unknown };
  };
  status?: { replicas?: number; readyReplicas?: number };
}

export interface Lease {
  metadata: ObjectMeta;
  /** The kubelet renews its Lease every 10 s (a quarter of its 40 s leaseDurationSeconds). */
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** metav1.Status: what the API server answers on errors (and in watch ERROR events). */
export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** One line of a watch stream (apimachinery pkg/watch, "Watch events"). */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | Status;
}
