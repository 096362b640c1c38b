export { buildHttp, type HttpOptions } from './routes.ts';
export { buildSecretsHttp, type SecretsHttpOptions } from './secrets.ts';
