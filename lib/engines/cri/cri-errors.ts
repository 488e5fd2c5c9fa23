// Maps grpc-js call errors of the CRI RuntimeService to EngineErrors that say
// what to do. Pure: inspects error objects only.

import { status } from '@grpc/grpc-js';
import { EngineError, isEngineError } from '../../errors.js';
import { grpcEngineError, isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { CRI_ENGINE } from './cri-normalize.js';

/**
 * True when a status call failed because the container or sandbox is gone:
 * gRPC NOT_FOUND (containerd, cri-o), or another status whose details say
 * "not found" (older runtimes wrap it in UNKNOWN).
 *
 * @example
 * ```ts
 * import { isCriNotFound } from 'whalewatcher';
 * const gone = Object.assign(new Error('5 NOT_FOUND'), { code: 5, details: 'not found' });
 * console.log(isCriNotFound(gone)); // true
 * ```
 */
export function isCriNotFound(error: unknown): boolean {
  if (!isGrpcServiceError(error)) return false;
  if (error.code === status.NOT_FOUND) return true;
  return (error.code === status.UNKNOWN || error.code === status.INTERNAL) && /\bnot found\b|does not exist|no such/i.test(error.details);
}

/**
 * Turns a failed CRI call into an {@link EngineError} of engine `cri` (passing
 * EngineErrors through). A call every CRI runtime has (Version, List*,
 * *Status) answered with UNIMPLEMENTED means the peer is not a CRI v1 runtime:
 * `protocol`, not `unsupported`.
 *
 * @example
 * ```ts
 * import { toCriError } from 'whalewatcher';
 * const refused = Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: 'connect ECONNREFUSED' });
 * console.log(toCriError(refused, 'unix:///run/crio/crio.sock', 'listing containers').code); // unreachable
 * ```
 */
export function toCriError(error: unknown, endpoint: string, what: string): EngineError {
  if (isEngineError(error)) return error;
  if (isGrpcServiceError(error) && error.code === status.UNIMPLEMENTED) {
    return new EngineError(
      CRI_ENGINE,
      'protocol',
      `something at ${endpoint} speaks gRPC but not the CRI v1 RuntimeService (runtime.v1) while ${what}: check that the endpoint is a CRI runtime socket (containerd with its CRI plugin, cri-o, cri-dockerd) (gRPC UNIMPLEMENTED: ${error.details})`,
      { cause: error, endpoint },
    );
  }
  return grpcEngineError(CRI_ENGINE, error, { endpoint, what });
}

/** The `unsupported` error for a CRI runtime without `GetContainerEvents`. *
 * @example
 * ```ts
 * import { criEventsUnsupported } from 'whalewatcher';
 * console.log(criEventsUnsupported('unix:///run/containerd/containerd.sock', 'containerd 1.6.20', undefined).message);
 * ```
 */
export function criEventsUnsupported(endpoint: string, runtime: string, cause: unknown): EngineError {
  return new EngineError(
    CRI_ENGINE,
    'unsupported',
    `the CRI runtime at ${endpoint}${runtime === '' ? '' : ` (${runtime})`} does not implement GetContainerEvents (containerd < 1.7?): upgrade the runtime (containerd 1.7 or later, cri-o 1.26 or later)`,
    { cause, endpoint },
  );
}
