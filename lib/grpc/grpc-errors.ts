// Maps grpc-js call errors (ServiceError: code + details) to EngineErrors that
// say what to do. Pure: inspects error objects only.

import { status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { isEngineError } from '../errors.js';
import type { EngineErrorCode } from '../errors.js';

/** The `details` grpc-js gives a call we cancelled ourselves (`call.cancel()`). */
const CLIENT_CANCELLED = 'Cancelled on client';

/** @internal True for a grpc-js call error (an `Error` with a numeric `code` and string `details`). */
export function isGrpcServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    typeof (error as Partial<ServiceError>).details === 'string'
  );
}

/** @internal True when the error is the CANCELLED status grpc-js reports after our own `call.cancel()`. */
export function isClientCancellation(error: unknown): boolean {
  return isGrpcServiceError(error) && error.code === status.CANCELLED && error.details === CLIENT_CANCELLED;
}

/**
 * The {@link EngineErrorCode} of a grpc-js call error:
 * - UNAVAILABLE: `unreachable` (no socket, refused, connection lost), but `permission`
 *   for EACCES/EPERM and `protocol` when the peer does not speak HTTP/2 ("Protocol error");
 * - UNIMPLEMENTED: `unsupported` (the engine lacks that method), but `protocol` when the
 *   whole service is unknown or the peer answered plain HTTP ("Received HTTP status code");
 * - PERMISSION_DENIED, UNAUTHENTICATED: `permission`;
 * - INTERNAL: `decode` when a response could not be parsed, `protocol` for HTTP/2 trouble
 *   or when the server could not parse our request (not gRPC, or another API), else `engine`;
 * - DEADLINE_EXCEEDED while still connecting: `unreachable`;
 * - CANCELLED by our own `call.cancel()`: `closed` (not an engine error, see {@link isClientCancellation});
 * - anything else (and non-gRPC errors): `engine`.
 *
 * @internal
 */
export function grpcErrorCode(error: unknown): EngineErrorCode {
  if (isEngineError(error)) return error.code;
  if (!isGrpcServiceError(error)) return 'engine';
  const details = error.details;
  const httpStatus = /Received HTTP status code/i.test(details);
  switch (error.code) {
    case status.CANCELLED:
      return details === CLIENT_CANCELLED ? 'closed' : 'engine';
    case status.UNAVAILABLE:
      if (/\b(EACCES|EPERM)\b|permission denied/i.test(details)) return 'permission';
      if (/Protocol error|Bad HTTP\/2|ERR_HTTP2/i.test(details)) return 'protocol';
      return 'unreachable';
    case status.UNIMPLEMENTED:
      if (httpStatus || /unknown service/i.test(details)) return 'protocol';
      return 'unsupported';
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return 'permission';
    case status.INTERNAL:
      if (httpStatus || /Protocol error|RST_STREAM|without gRPC status|(deserializing|unmarshall?ing) request|content-type/i.test(details)) return 'protocol';
      if (/pars(e|ing)|decod|deserializ|invalid wire|premature EOF|index out of range/i.test(details)) return 'decode';
      return 'engine';
    case status.DEADLINE_EXCEEDED:
      return /LB pick|waiting_for_connection|name resolution|connecting/i.test(details) ? 'unreachable' : 'engine';
    case status.UNKNOWN:
      return httpStatus ? 'protocol' : 'engine';
    default:
      return 'engine';
  }
}
