// Maps what grpc-js reports for calls to containerd into EngineErrors that say
// what to do. Pure: inspects error objects only.

import { status } from '@grpc/grpc-js';
import { EngineError, type EngineErrorCode, isEngineError } from '../../errors.js';
import { grpcErrorCode, isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { CONTAINERD_ENGINE } from './containerd-normalize.js';

/** What grpc-js reports for a unary call that ended OK without a (complete) response message. */
const NO_MESSAGE = 'No message received';

/** @internal True when a gRPC call failed because the container, task or namespace does not exist (any more). */
export function isContainerdNotFound(err: unknown): boolean {
  return isGrpcServiceError(err) && err.code === status.NOT_FOUND;
}

/**
 * Turns whatever a call to containerd at `endpoint` failed with into an
 * {@link EngineError} (EngineErrors pass unchanged). `what` says what we were
 * doing ("listing tasks in namespace ns2", …). With `core` set the call is one
 * every containerd implements (events, namespaces, containers, tasks,
 * version): an UNIMPLEMENTED answer then means the endpoint is some other gRPC
 * server, a `protocol` error rather than `unsupported`. A unary answer that
 * ended without a complete message (grpc-js drops a truncated frame silently
 * and reports UNIMPLEMENTED "No message received") is a `decode` error.
 *
 * @internal
 */
export function toContainerdError(err: unknown, endpoint: string, what: string, core = false): EngineError {
  if (isEngineError(err)) return err;
  let code: EngineErrorCode = grpcErrorCode(err);
  if (isGrpcServiceError(err) && err.code === status.UNIMPLEMENTED && err.details === NO_MESSAGE) {
    // grpc-js: the call ended OK without a complete response message (it drops a truncated frame silently)
    code = 'decode';
  } else if (code === 'unsupported' && core) code = 'protocol';
  const said = isGrpcServiceError(err) ? `gRPC ${status[err.code] ?? err.code}: ${err.details}` : err instanceof Error ? err.message : String(err);
  const opts = { cause: err, endpoint };
  const make = (message: string) => new EngineError(CONTAINERD_ENGINE, code, message, opts);
  switch (code) {
    case 'unreachable':
      return make(`no containerd at ${endpoint} (${said}) while ${what}: is it running? set CONTAINERD_ADDRESS or the address option`);
    case 'protocol':
      return make(`something at ${endpoint} answers, but not like containerd's gRPC API (${said}) while ${what}: check that the endpoint is a containerd socket`);
    case 'permission':
      return make(`permission denied by ${endpoint} (${said}) while ${what}: run as root or with access to the containerd socket`);
    case 'decode':
      return make(`containerd at ${endpoint} sent data that could not be decoded (${said}) while ${what}: a bug, or a proxy in the way`);
    case 'unsupported':
      return make(`containerd at ${endpoint} does not implement a call whalewatcher needs (${said}) while ${what}: upgrade containerd`);
    default:
      return make(`containerd at ${endpoint} failed ${what} (${said})`);
  }
}
