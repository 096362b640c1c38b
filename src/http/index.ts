export { type HttpOptions, buildHttp } from './routes.ts';
