// Unary gRPC call → Promise (cancelled by an AbortSignal) or cold Observable
// (cancelled on unsubscribe). Pure RxJS + grpc-js, no timers.

import { Observable } from 'rxjs';
import { Metadata } from '@grpc/grpc-js';
import type { CallOptions, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';

/**
 * A generated client's unary method in its full form (the last overload of
 * ts-proto's grpc-js clients), e.g. `client.list.bind(client)`.
 */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Call options plus an `AbortSignal` that cancels the call. */
export interface UnaryCallOptions extends Partial<CallOptions> {
  /** Aborting cancels the call; the Promise then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Makes one unary call. Resolves with the response, rejects with the grpc-js
 * `ServiceError`, or with `signal.reason` when the signal aborts first (the call
 * is then cancelled and its CANCELLED status ignored: a cancellation we caused
 * is not an engine error).
 *
 * @example
 * ```ts
 * // tasks: a TasksClient from lib/gen/containerd/services/tasks/v1/tasks.js
 * const md = new Metadata();
 * md.set('containerd-namespace', 'default');
 * const { tasks: list } = await unaryCall(tasks.list.bind(tasks), { filter: '' }, md, { signal });
 * ```
 */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: UnaryCallOptions = {},
): Promise<Res> {
  const { signal, ...callOptions } = options;
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      reject(signal?.reason);
    };
    const call = method(request, metadata, callOptions, (error, response) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(response);
    });
    if (!settled) signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Cold Observable form of {@link unaryCall}: makes the call on subscribe, emits
 * the response and completes, errors with the `ServiceError`; unsubscribing
 * before the answer cancels the call.
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
