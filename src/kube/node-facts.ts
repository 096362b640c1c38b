/**
 * What the seed needs to know about a Node object, flattened: readiness, addresses, boot id,
 * whether it is a control-plane node. The provisioner decides on these facts, never on raw
 * API objects.
 */
import type { Node } from './types.ts';

/**
 * The Ready condition's status: "True", "False", or "Unknown" (the node lifecycle controller
 * writes Unknown when the kubelet stopped renewing its Lease for node-monitor-grace-period).
 * A Node without the condition yet (just registered) counts as "Unknown".
 */
export type Readiness = 'True' | 'False' | 'Unknown';

/** kubeadm labels control-plane nodes with this (constants.LabelNodeRoleControlPlane). */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

export interface NodeFact {
  name: string;
  uid: string;
  ready: Readiness;
  /** status.addresses of type InternalIP, in the API's order. */
  internalIPs: string[];
  /** status.nodeInfo.bootID: a new value on every boot of the machine. */
  bootID: string;
  controlPlane: boolean;
}

export function nodeFact(node: Node): NodeFact {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return {
    name: node.metadata.name ?? '',
    uid: node.metadata.uid ?? '',
    ready: ready === 'True' || ready === 'False' ? ready : 'Unknown',
    internalIPs: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
    bootID: node.status?.nodeInfo?.bootID ?? '',
    controlPlane: node.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined,
  };
}
