/**
 * The two writes/reads the seed's Node decisions need (provisioner/cluster-nodes.ts): delete a
 * Node only if it is still the same object (a uid precondition, metav1.DeleteOptions), and read
 * a kubelet's heartbeat Lease in kube-node-lease (KEP-589 "Efficient node heartbeats").
 */
import type { KubeClient } from './client.ts';
import { KubeApiError } from './errors.ts';
import type { Lease } from './types.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export class KubeNodeOps {
  constructor(private readonly client: KubeClient) {}

  async deleteNode(name: string, uid: string): Promise<boolean> {
    try {
      await this.client.delete(`/api/v1/nodes/${encodeURIComponent(name)}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid },
      });
      return true;
    } catch (err) {
      // 404: already gone; 409: the name now belongs to another object (a new registration)
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) return false;
      throw err;
    }
  }

  async lease(name: string): Promise<{ renewTime: string; resourceVersion: string } | null> {
    try {
      const l = await this.client.get<Lease>(
        `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${encodeURIComponent(name)}`,
      );
      return { renewTime: l.spec?.renewTime ?? '', resourceVersion: l.metadata.resourceVersion ?? '' };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }
}
