/**
 * The logging seam. Servers take a `Logger` (pino's shape) so tests can pass `silentLogger`
 * or a recorder; `main.ts` builds the real pino instance. Events are structured: the first
 * argument carries the fields (always `mac` for boot steps), the second a short message.
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  child(bindings: object): Logger;
}

const noop = (): void => {};
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [k: string]: unknown;
}

/** A logger that keeps every record in memory, for tests that assert on events. */
export function recordingLogger(
  records: LogRecord[] = [],
  bindings: object = {},
): Logger & { records: LogRecord[] } {
  const at =
    (level: LogRecord['level']) =>
    (fields: object, msg: string): void => {
      records.push({ ...bindings, ...fields, level, msg });
    };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b: object) => recordingLogger(records, { ...bindings, ...b }),
  };
}
