/**
 * What went wrong talking to an engine; each code says what to do about it.
 *
 * @example
 * ```ts
 * import type { EngineErrorCode } from 'whalewatcher';
 * import { isEngineError } from 'whalewatcher';
 * const advice: Partial<Record<EngineErrorCode, string>> = { unreachable: 'start the engine', permission: 'join the docker group' };
 * const explain = (e: unknown): string => (isEngineError(e) ? (advice[e.code] ?? e.message) : String(e));
 * console.log(explain(new Error('other')));
 * ```
 */
export type EngineErrorCode =
  /** Nothing answers at the endpoint (no socket, connection refused, host unreachable): start the engine or fix the endpoint. */
  | 'unreachable'
  /** Something answers, but it is not this engine or speaks another protocol/version: check the endpoint and engine type. */
  | 'protocol'
  /** The endpoint refused us for lack of rights (EACCES, 401/403, TLS): run with access to the socket. */
  | 'permission'
  /** The engine sent data we could not decode (garbage, truncated frames): a bug or a proxy in the way. */
  | 'decode'
  /** The engine does not implement a call we need (e.g. CRI events on containerd 1.6): upgrade the engine. */
  | 'unsupported'
  /** The engine ended a stream or failed a call for another reason. */
  | 'engine'
  /** The watcher was closed (or gave up) before the operation completed. */
  | 'closed'
  /** Configuration given to whalewatcher is unusable (bad endpoint URL, unreadable TLS files). */
  | 'config';

/**
 * The one error class of whalewatcher. Engine trouble never kills the public
 * observables; it shows up as `status$` `degraded` with one of these and a retry.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * ww.status$.subscribe((s) => {
 *   if (s.state === 'degraded') console.warn(`${s.error.engine} ${s.error.code} at ${s.error.endpoint ?? '?'}: ${s.error.message}; retry in ${s.retryIn} ms`);
 * });
 * ```
 */
export class EngineError extends Error {
  /** Always `'EngineError'` (what {@link isEngineError} checks across module copies). */
  override readonly name = 'EngineError';
  /** Makes an error of `engine` with a `code` and a message that says what to do. */
  constructor(
    /** Engine name: `docker`, `containerd`, `cri`. */
    readonly engine: string,
    /** What went wrong, and so what to do. */
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown; endpoint?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.endpoint !== undefined) this.endpoint = options.endpoint;
  }
  /** The endpoint involved, when known. */
  readonly endpoint?: string;
}

/**
 * True for an {@link EngineError}, also across module copies.
 *
 * @example
 * ```ts
 * import { isEngineError, watchDocker } from 'whalewatcher';
 * const ww = watchDocker({ retry: false }); // give up at the first failure
 * try {
 *   await ww.ready;
 * } catch (e) {
 *   if (isEngineError(e)) console.error(`no Docker engine: ${e.code} (${e.message})`);
 * }
 * await ww.close();
 * ```
 */
export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'EngineError');
}
