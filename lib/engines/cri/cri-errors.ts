// Maps grpc-js call errors of the CRI RuntimeService to EngineErrors in the
// kit's words. Pure: inspects error objects only.

import { status } from '@grpc/grpc-js';
import type { EngineError } from '../../errors.js';
import { isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { type EngineTerms, engineError } from '../common/engine-error.js';
import { grpcEngineError, isGrpcNotFound } from '../common/grpc-engine-error.js';
import { CRI_ENGINE } from './cri-normalize.js';

/** How the CRI adapter's errors name the engine and what to do. @internal */
export const CRI_TERMS: EngineTerms = Object.freeze({
  engine: CRI_ENGINE,
  name: 'the CRI runtime',
  nobody: 'no CRI runtime',
  api: 'the CRI v1 RuntimeService (runtime.v1)',
  socket: 'a CRI runtime socket (containerd with its CRI plugin, cri-o, cri-dockerd)',
  setting: 'set CONTAINER_RUNTIME_ENDPOINT or the endpoint option',
  access: 'run as root or with access to the runtime socket',
  upgrade: 'upgrade the runtime',
});

/**
 * True when a status call failed because the container or sandbox is gone:
 * gRPC NOT_FOUND (containerd, cri-o), or another status whose details say
 * "not found" (older runtimes wrap it in UNKNOWN).
 *
 * @internal
 */
export function isCriNotFound(error: unknown): boolean {
  if (isGrpcNotFound(error)) return true;
  return isGrpcServiceError(error) && (error.code === status.UNKNOWN || error.code === status.INTERNAL) && /\bnot found\b|does not exist|no such/i.test(error.details);
}

/**
 * Turns a failed CRI call into an {@link EngineError} of engine `cri` (passing
 * EngineErrors through). Every call the adapter makes with this mapper is one
 * every CRI runtime has (Version, List*, *Status): UNIMPLEMENTED means the
 * peer is not a CRI v1 runtime, `protocol` rather than `unsupported`.
 *
 * @internal
 */
export function toCriError(error: unknown, endpoint: string, what: string): EngineError {
  return grpcEngineError(CRI_TERMS, endpoint, error, what, true);
}

/** The `unsupported` error for a CRI runtime without `GetContainerEvents`; `runtime` names it (`containerd 1.6.20`). @internal */
export function criEventsUnsupported(endpoint: string, runtime: string, cause: unknown): EngineError {
  return engineError(CRI_TERMS, endpoint, 'unsupported', {
    what: 'watching container events (GetContainerEvents)',
    said: runtime,
    cause,
    headline: `${CRI_TERMS.name} at ${endpoint} does not implement GetContainerEvents (containerd < 1.7?)`,
    advice: 'upgrade the runtime (containerd 1.7 or later, cri-o 1.26 or later)',
  });
}
