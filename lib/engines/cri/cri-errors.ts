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
 * @internal
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
 * @internal
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

/** The `unsupported` error for a CRI runtime without `GetContainerEvents`.
 *
 * @internal
 */
export function criEventsUnsupported(endpoint: string, runtime: string, cause: unknown): EngineError {
  return new EngineError(
    CRI_ENGINE,
    'unsupported',
    `the CRI runtime at ${endpoint}${runtime === '' ? '' : ` (${runtime})`} does not implement GetContainerEvents (containerd < 1.7?): upgrade the runtime (containerd 1.7 or later, cri-o 1.26 or later)`,
    { cause, endpoint },
  );
}
