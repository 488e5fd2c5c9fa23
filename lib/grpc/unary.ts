// Unary gRPC call → cold Observable (cancelled on unsubscribe). Pure RxJS +
// grpc-js, no timers.

import { Observable } from 'rxjs';
import { Metadata } from '@grpc/grpc-js';
import type { CallOptions, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';

/**
 * A generated client's unary method in its full form (the last overload of
 * ts-proto's grpc-js clients), e.g. `client.list.bind(client)`.
 *
 * @internal
 */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Runs one unary call as a cold Observable: makes the call on subscribe, emits
 * the response and completes, errors with the `ServiceError`; unsubscribing
 * before the answer cancels the call.
 *
 * @internal
 */
export function fromUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: Partial<CallOptions> = {},
): Observable<Res> {
  return new Observable<Res>((subscriber) => {
    let done = false;
    const call = method(request, metadata, options, (error, response) => {
      done = true;
      if (error) subscriber.error(error);
      else {
        subscriber.next(response);
        subscriber.complete();
      }
    });
    return () => {
      if (!done) {
        done = true;
        call.cancel();
      }
    };
  });
}

/**
 * A unary call in the adapter kit's callback form (`Transport`): `reply` gets
 * the error or the response once; the returned function cancels the call
 * (grpc-js then reports CANCELLED to a callback nobody listens to any more).
 *
 * @internal
 */
export function unaryTransport<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: Metadata = new Metadata()): (reply: (err: unknown, value?: Res) => void) => () => void {
  return (reply) => {
    const call = method(request, metadata, {}, (error, response) => (error ? reply(error) : reply(null, response)));
    return () => call.cancel();
  };
}
