// The one mapper from grpc-js call errors to EngineErrors, for every gRPC
// engine (containerd, CRI): the code from grpcErrorCode, the words from the
// engine's terms. Pure.

import { status } from '@grpc/grpc-js';
import { type EngineError, type EngineErrorCode, isEngineError } from '../../errors.js';
import { grpcErrorCode, isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { type EngineTerms, engineError } from './engine-error.js';

/** What grpc-js reports for a unary call that ended OK without a (complete) response message. */
const NO_MESSAGE = 'No message received';

/** True when a gRPC call failed with NOT_FOUND (the container, task, sandbox or namespace is gone). @internal */
export function isGrpcNotFound(err: unknown): boolean {
  return isGrpcServiceError(err) && err.code === status.NOT_FOUND;
}

/** What a grpc-js error says, for messages: `gRPC UNAVAILABLE: No connection established`. @internal */
export function grpcSaid(err: unknown): string {
  if (isGrpcServiceError(err)) return `gRPC ${status[err.code] ?? err.code}: ${err.details}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Turns a failed gRPC call into an {@link EngineError} in `terms`' words
 * (EngineErrors pass unchanged). With `core` set the call is one every
 * implementation of the API has: UNIMPLEMENTED then means the endpoint is
 * some other gRPC server, `protocol` rather than `unsupported`. A unary
 * answer that ended without a complete message (grpc-js drops a truncated
 * frame silently and reports UNIMPLEMENTED "No message received") is `decode`.
 * @internal
 */
export function grpcEngineError(terms: EngineTerms, endpoint: string, err: unknown, what: string, core: boolean): EngineError {
  if (isEngineError(err)) return err;
  let code: EngineErrorCode = grpcErrorCode(err);
  if (isGrpcServiceError(err) && err.code === status.UNIMPLEMENTED && err.details === NO_MESSAGE) code = 'decode';
  else if (code === 'unsupported' && core) code = 'protocol';
  return engineError(terms, endpoint, code, { what, said: grpcSaid(err), cause: err });
}
