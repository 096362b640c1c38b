/**
 * API server failures as MetalseedErrors: an HTTP status with the server's metav1.Status, or a
 * connection that never got that far (refused, timed out, TLS). Each message says what
 * happened and where; the hint says what to check.
 */
import { type ErrorCode, MetalseedError } from '../lib/errors.ts';
import type { Status } from './types.ts';

/** HTTP 410 Gone / reason Expired: a watch's resourceVersion was compacted away; relist. */
export const GONE = 410;

export class KubeApiError extends MetalseedError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly reason: string,
    hint?: string,
  ) {
    super(code, message, hint);
    this.name = 'KubeApiError';
  }
}

const ADMIN_HINT =
  "the kubeconfig must come from this cluster's CA (`metalseed kubeconfig`); its group kubeadm:cluster-admins is bound to cluster-admin by kubeadm init";

/** An HTTP error answer (`status` >= 400) to `what` (e.g. "GET /api/v1/nodes"). */
export function apiError(what: string, status: number, body: Status | null): KubeApiError {
  const reason = body?.reason ?? '';
  const detail = body?.message ? `: ${body.message}` : '';
  const msg = `${what}: ${status}${reason ? ` ${reason}` : ''}${detail}`;
  switch (status) {
    case 401:
      return new KubeApiError(
        'UNAUTHORIZED',
        `the API server refused the client credentials (${msg})`,
        status,
        reason,
        ADMIN_HINT,
      );
    case 403:
      return new KubeApiError('ACCESS_DENIED', msg, status, reason, ADMIN_HINT);
    case 404:
      return new KubeApiError('NOT_FOUND', msg, status, reason);
    case 409:
      return new KubeApiError('CONFLICT', msg, status, reason);
    case 400:
    case 422:
      return new KubeApiError('INVALID_INPUT', msg, status, reason);
    default:
      return new KubeApiError('UNAVAILABLE', msg, status, reason);
  }
}

/** TLS alerts a server sends when it rejects our client certificate (or lack of one). */
const CLIENT_CERT_REJECTED =
  /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|ACCESS_DENIED|DECRYPT_ERROR|HANDSHAKE_FAILURE)/;
/** Node's verification codes for a server certificate we cannot trust. */
const SERVER_CERT_UNTRUSTED =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** A request that failed below HTTP. */
export function connectionError(server: string, err: NodeJS.ErrnoException): MetalseedError {
  const code = err.code ?? '';
  if (CLIENT_CERT_REJECTED.test(code)) {
    return new KubeApiError(
      'UNAUTHORIZED',
      `the API server at ${server} rejected the client certificate during the TLS handshake (${code})`,
      0,
      code,
      ADMIN_HINT,
    );
  }
  if (SERVER_CERT_UNTRUSTED.test(code)) {
    return new KubeApiError(
      'UNAUTHORIZED',
      `the API server at ${server} presented a certificate the kubeconfig's CA does not vouch for (${code}: ${err.message})`,
      0,
      code,
      'is the kubeconfig for this cluster, and does the server certificate name this host or address?',
    );
  }
  if (/before secure TLS connection was established/.test(err.message)) {
    // a server that requires client certificates drops the handshake when it rejects ours;
    // Node's TLS servers send no alert, so this is all the client sees
    return new KubeApiError(
      'UNAVAILABLE',
      `the TLS handshake with the API server at ${server} did not complete (${code}: ${err.message})`,
      0,
      code,
      "if the server (or a proxy in front of it) requires a client certificate, it did not accept the kubeconfig's; otherwise, is this port an API server?",
    );
  }
  return new KubeApiError(
    'UNAVAILABLE',
    `cannot reach the API server at ${server}: ${code || err.message}`,
    0,
    code,
    'is the control plane up, and is cluster.controlPlaneEndpoint right?',
  );
}
