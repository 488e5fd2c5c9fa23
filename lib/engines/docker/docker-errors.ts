// Maps what Node's http stack, dockerode and the pipelined client throw into
// EngineErrors in the kit's words (lib/engines/common/engine-error.ts). Pure:
// inspects error objects only.

import { type EngineError, isEngineError } from '../../errors.js';
import { type EngineTerms, engineError, engineErrors } from '../common/engine-error.js';
import { DOCKER_ENGINE } from './docker-normalize.js';

/** How the Docker adapter's errors name the engine and what to do. @internal */
export const DOCKER_TERMS: EngineTerms = Object.freeze({
  engine: DOCKER_ENGINE,
  name: 'the Docker engine',
  nobody: 'no Docker engine',
  api: 'a Docker engine API',
  socket: 'a Docker or Podman API socket',
  setting: 'set DOCKER_HOST or the host option',
  access: "run as root or as a member of the socket's group (e.g. docker), or use a socket you may access",
  upgrade: 'upgrade the engine',
});

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ENOTSOCK', 'ENOTDIR']);
const PERMISSION = new Set(['EACCES', 'EPERM']);
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_WW_HTTP_CLOSED']);
const TLS = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface ErrorLike {
  code?: unknown;
  timeoutMs?: unknown;
  statusCode?: unknown;
  message?: unknown;
  json?: unknown;
}

/** The HTTP status of a dockerode (or pipelined) HTTP error, if it was one. @internal */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as ErrorLike | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message of an HTTP error (Docker and Podman send `{"message": …}`), if any. @internal */
export function dockerMessageOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const json = (err as ErrorLike).json;
  if (typeof json === 'object' && json !== null && !(json instanceof Uint8Array)) {
    const m = (json as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') return m;
  }
  return undefined;
}

/**
 * True when an inspection failed because the container is gone: Docker answers
 * 404 with its JSON error body; Podman 4.3 answers 500 "… does not exist in
 * database: no such container" while a removal is under way.
 *
 * @internal
 */
export function isDockerGone(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status === 404) return dockerMessageOf(err) !== undefined;
  return status === 500 && /no such container/i.test(dockerMessageOf(err) ?? '');
}

/**
 * Turns whatever a request to the engine at `endpoint` failed with into an
 * {@link EngineError} whose message says what to do. `what` says what we were
 * doing ("listing containers", "opening the event stream", …).
 *
 * @internal
 */
export function toDockerError(err: unknown, endpoint: string, what: string): EngineError {
  if (isEngineError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const detail = typeof e.message === 'string' ? e.message : String(err);
  const make = (c: EngineError['code'], said: string, headline?: string, advice?: string) => engineError(DOCKER_TERMS, endpoint, c, { what, said, cause: err, headline, advice });
  const errors = engineErrors(DOCKER_TERMS, endpoint);

  const status = httpStatusOf(err);
  if (status !== undefined) {
    const said = dockerMessageOf(err);
    const http = `HTTP ${status}${said === undefined ? '' : `: ${said}`}`;
    if (status === 401 || status === 403) return make('permission', http, `${endpoint} refused access`, 'check your credentials or TLS client certificate');
    if (status >= 500 && said !== undefined) return make('engine', http);
    return make('protocol', http);
  }
  if (code !== undefined) {
    if (UNREACHABLE.has(code)) return make('unreachable', code === 'ENOENT' ? 'ENOENT: no socket there' : code === 'ECONNREFUSED' ? 'ECONNREFUSED: connection refused' : code);
    if (PERMISSION.has(code)) return make('permission', code);
    if (code === 'ERR_WW_HTTP_TIMEOUT') return errors.timedOut(what, typeof e.timeoutMs === 'number' ? e.timeoutMs : undefined, err);
    if (code === 'ERR_WW_HTTP_DESTROYED') return errors.closed(what, err);
    if (code === 'ERR_WW_HTTP_TOO_LARGE') return make('decode', detail, `${DOCKER_TERMS.name} at ${endpoint} sent an answer too large to be Docker's`);
    if (code.startsWith('HPE_') || code === 'ERR_INVALID_HTTP_RESPONSE' || code === 'ERR_INVALID_CHAR' || code === 'ERR_WW_HTTP_PARSE') {
      return make('protocol', detail, `something at ${endpoint} answers, but not with HTTP`);
    }
    if (TLS.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
      return make('permission', `${code}: ${detail}`, `TLS with ${endpoint} failed`, 'check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY');
    }
    if (CONNECTION_LOST.has(code)) return errors.connectionLost(what, code, err);
  }
  if (detail === 'socket hang up' || detail === 'aborted') return errors.connectionLost(what, detail, err);
  return make('engine', detail);
}
