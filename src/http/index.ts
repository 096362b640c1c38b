export { buildHttp, type HttpOptions } from './routes.ts';
