/**
 * The CLI's side of the operator API: global options (--server, --token, --data-dir, -o), the
 * token file, and one `request` that turns the API's error body back into a MetalseedError, so
 * `metalseed` exits with the same code table the server used for the HTTP status.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
// token.ts, not the api index: the index loads fastify and swagger, seconds of CLI start-up
import { TOKEN_FILE } from '../api/token.ts';
import { isErrorCode, MetalseedError } from '../lib/errors.ts';
import { FORMATS, type Format } from './output.ts';

/** Where `metalseed serve` listens by default (config http.port). */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
/** The config's default dataDir: the token lives there. */
export const DEFAULT_DATA_DIR = '/var/lib/metalseed';

/** An error reported by the API. `wireCode` is the server's code, even one this CLI predates. */
export class ApiError extends MetalseedError {
  constructor(
    readonly wireCode: string,
    message: string,
    hint?: string,
  ) {
    super(isErrorCode(wireCode) ? wireCode : 'INTERNAL', message, hint);
    this.name = 'ApiError';
  }
}

interface ApiFlags {
  server: string;
  token?: string;
  dataDir: string;
  output: Format;
}

/** Adds the options every API command shares; subcommands read them with optsWithGlobals(). */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--server <url>', 'seed API address').env('METALSEED_SERVER').default(DEFAULT_SERVER),
    )
    .addOption(new Option('--token <token>', 'API token (default: read <data-dir>/api-token)'))
    .addOption(
      new Option('--data-dir <dir>', 'seed data directory holding api-token')
        .env('METALSEED_DATA_DIR')
        .default(DEFAULT_DATA_DIR),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('table'));
}

/** The client and output format for the command being run. */
export function context(cmd: Command): { api: ApiClient; output: Format } {
  const flags = cmd.optsWithGlobals<ApiFlags>();
  const token = flags.token ?? readToken(flags.dataDir);
  return { api: new ApiClient(flags.server, token), output: flags.output };
}

function readToken(dataDir: string): string {
  const file = path.join(dataDir, TOKEN_FILE);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    throw new MetalseedError(
      'UNAUTHORIZED',
      `no API token: ${file} ${why}`,
      'pass --token, or --data-dir of the seed (or run as the user the seed runs as)',
    );
  }
}

export class ApiClient {
  private readonly base: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    this.base = `${server.replace(/\/+$/, '')}/api/v1`;
  }

  /** JSON in, JSON out; undefined for 204. Throws ApiError for an error body. */
  async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await this.fetch(route, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        // no content-type without a body: fastify rejects an empty JSON body
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw await apiError(res);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** The open text/event-stream body of `route`. */
  async stream(route: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.fetch(route, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
    });
    if (!res.ok || !res.body) throw await apiError(res);
    return res.body;
  }

  private async fetch(route: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.base}${route}`, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new MetalseedError(
        'UNAVAILABLE',
        `cannot reach ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        'is `metalseed serve` running there? set --server or $METALSEED_SERVER',
      );
    }
  }
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; hint?: unknown } };
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      return new ApiError(error.code, error.message, typeof error.hint === 'string' ? error.hint : undefined);
    }
  } catch {
    // not our error body (a proxy's HTML page, say): fall through to the status line
  }
  return new ApiError('INTERNAL', `HTTP ${res.status} ${res.statusText} from ${res.url}`);
}
