/** The operator REST API (+ OpenAPI, event stream, token auth). */
export { formatEvent, KEEPALIVE_MS } from './events.ts';
export { API_PREFIX, type ApiOptions, registerApi } from './register.ts';
export { loadOrCreateToken, TOKEN_FILE, type TokenCheck, tokenCheck } from './token.ts';
