/** The token keeper's view of the API server: bootstrap-token Secrets in kube-system. */
import type { TokenApi, TokenSecret } from '../cluster/index.ts';
import type { KubeClient } from './client.ts';
import { KubeApiError } from './errors.ts';

const SECRETS = '/api/v1/namespaces/kube-system/secrets';

export class KubeTokenApi implements TokenApi {
  constructor(private readonly client: KubeClient) {}

  async secretExists(name: string): Promise<boolean> {
    try {
      await this.client.get(`${SECRETS}/${encodeURIComponent(name)}`);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  async createSecret(secret: TokenSecret): Promise<void> {
    try {
      await this.client.create(SECRETS, secret);
    } catch (err) {
      // created meanwhile (another seed, or kubeadm init): what we wanted
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
  }
}
