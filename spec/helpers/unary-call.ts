// One unary gRPC call as a Promise, for specs and labs that talk to a gRPC
// server directly. Built on the library's own fromUnary, so it behaves as the
// adapters' calls do.

import type { CallOptions } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { firstValueFrom } from 'rxjs';
import { type UnaryMethod, fromUnary } from '../../lib/grpc/unary.js';

/** Resolves with the response, rejects with the grpc-js `ServiceError`. */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return firstValueFrom(fromUnary(method, request, metadata, options));
}
