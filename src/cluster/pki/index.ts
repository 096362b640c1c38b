/** The cluster PKI: keys, CAs and certificates, bootstrap tokens, the on-disk store and the admin kubeconfig. */

export { ensurePrivateDir, writeFileAtomic } from './atomic-write.ts';
export {
  BOOTSTRAP_TOKEN_RE,
  BootstrapToken,
  type BootstrapTokenRecord,
  DEFAULT_TOKEN_TTL_MS,
  type KubeadmBootstrapToken,
  TOKEN_GROUPS,
  TOKEN_USAGES,
} from './bootstrap-token.ts';
export { CA_HASH_PREFIX, caCertHash } from './ca-hash.ts';
export {
  CA_VALIDITY_MS,
  type CaOptions,
  type CertAndKey,
  createCa,
  type ExtendedUsage,
  issueCertificate,
  LEAF_VALIDITY_MS,
  type LeafOptions,
  type Subject,
} from './certificate.ts';
export {
  ADMIN_SUBJECT,
  CA_SUBJECTS,
  type ClusterIdentity,
  type ClusterPki,
  type CreateOptions,
  createClusterIdentity,
  createClusterPki,
  issueAdminCert,
  newBootstrapToken,
} from './cluster-pki.ts';
export { assertCa, assertKeyMatches, assertSignedBy, certificateIps, parseCertificate } from './inspect.ts';
export { generateKeyPair, type KeyPairPem } from './keys.ts';
export { adminKubeconfig, type KubeconfigInput } from './kubeconfig.ts';
export {
  CONTROL_PLANE_PKI_PATHS,
  controlPlanePkiFiles,
  type PkiFile,
  PUBLIC_MODE,
  SECRET_MODE,
} from './pki-files.ts';
export {
  ADMIN_CERT,
  ADMIN_KEY,
  ADMIN_RENEW_BEFORE_MS,
  DIR_MODE,
  type LoadOptions,
  PkiStore,
  saveToken,
  TOKEN_FILE,
} from './store.ts';
