// Maps what Node's http stack and dockerode throw into EngineErrors that say
// what to do. Pure (inspects error objects only).

import { EngineError, isEngineError } from '../../errors.js';
import { DOCKER_ENGINE } from './docker-normalize.js';

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

/** @internal The HTTP status of a dockerode error, if it was one. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as ErrorLike | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own error message from a dockerode HTTP error (Docker and Podman send `{"message": …}`). */
function engineMessage(err: ErrorLike): string | undefined {
  const json = err.json;
  if (typeof json === 'object' && json !== null && !(json instanceof Uint8Array)) {
    const m = (json as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') return m;
  }
  return undefined;
}

/** @internal The engine's own message of a dockerode HTTP error (`{"message": …}`), if any. */
export function dockerMessageOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? engineMessage(err as ErrorLike) : undefined;
}

/** @internal True when a dockerode HTTP error carries a Docker-style JSON body (`{"message": …}`). */
export function isDockerErrorBody(err: unknown): boolean {
  return typeof err === 'object' && err !== null && engineMessage(err as ErrorLike) !== undefined;
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
  const opts = { cause: err, endpoint };
  const make = (c: EngineError['code'], message: string) => new EngineError(DOCKER_ENGINE, c, message, opts);

  const status = httpStatusOf(err);
  if (status !== undefined) {
    const said = engineMessage(e);
    if (status === 401 || status === 403) {
      return make('permission', `the engine at ${endpoint} refused ${what} (HTTP ${status}${said ? `: ${said}` : ''}): check your credentials or TLS client certificate`);
    }
    if (status >= 500 && said !== undefined) {
      return make('engine', `the Docker engine at ${endpoint} failed ${what} (HTTP ${status}: ${said})`);
    }
    return make('protocol', `something at ${endpoint} answers HTTP but not like a Docker engine API (HTTP ${status} while ${what}${said ? `: ${said}` : ''}): check that the endpoint is a Docker or Podman API socket`);
  }
  if (code !== undefined) {
    if (UNREACHABLE.has(code)) {
      const why = code === 'ENOENT' ? 'no socket there' : code === 'ECONNREFUSED' ? 'connection refused' : code;
      return make('unreachable', `no Docker engine at ${endpoint} (${why}) while ${what}: is it running? set DOCKER_HOST or the host option`);
    }
    if (PERMISSION.has(code)) {
      return make('permission', `permission denied connecting to ${endpoint} (${code}) while ${what}: run as root or as a member of the socket's group (e.g. docker), or use a socket you may access`);
    }
    if (code === 'ERR_WW_HTTP_TIMEOUT') {
      const after = typeof e.timeoutMs === 'number' ? ` within ${e.timeoutMs} ms` : '';
      return make('engine', `the Docker engine at ${endpoint} did not answer${after} while ${what}: is it overloaded or hung?`);
    }
    if (code === 'ERR_WW_HTTP_DESTROYED') {
      return make('closed', `the connection to ${endpoint} was closed by whalewatcher while ${what}`);
    }
    if (code === 'ERR_WW_HTTP_TOO_LARGE') {
      return make('decode', `the engine at ${endpoint} sent an answer too large to be Docker's while ${what} (${detail})`);
    }
    if (code.startsWith('HPE_') || code === 'ERR_INVALID_HTTP_RESPONSE' || code === 'ERR_INVALID_CHAR' || code === 'ERR_WW_HTTP_PARSE') {
      return make('protocol', `something at ${endpoint} answers, but not with HTTP (${detail}) while ${what}: check that the endpoint is a Docker or Podman API socket`);
    }
    if (TLS.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
      return make('permission', `TLS with ${endpoint} failed (${code}: ${detail}) while ${what}: check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY`);
    }
    if (CONNECTION_LOST.has(code)) {
      return make('engine', `lost the connection to the Docker engine at ${endpoint} (${code}) while ${what}: the engine stopped or restarted`);
    }
  }
  if (detail === 'socket hang up' || detail === 'aborted') {
    return make('engine', `lost the connection to the Docker engine at ${endpoint} (${detail}) while ${what}: the engine stopped or restarted`);
  }
  return make('engine', `the Docker engine at ${endpoint} failed ${what}: ${detail}`);
}
