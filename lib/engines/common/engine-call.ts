// One call to an engine, the same way for every engine and transport: cold,
// cancelled on unsubscribe, bounded by the request timeout on the scheduler,
// refused once the adapter is disposed, "not found" as null when asked, and
// every failure mapped to an EngineError by the engine's own mapper.

import { Observable, type ObservableInput, type SchedulerLike, catchError, defer, from, of, throwError, timeout } from 'rxjs';
import type { EngineError } from '../../errors.js';
import type { EngineErrors } from './engine-error.js';

/** What {@link engineCalls} needs to know about an engine. @internal */
export interface CallSettings {
  readonly errors: EngineErrors;
  readonly scheduler: SchedulerLike;
  /** Longest wait in ms for the answer. */
  readonly requestTimeout: number;
  /** The engine's mapper: what a call failed with → an EngineError saying what to do (EngineErrors pass unchanged). */
  readonly toError: (err: unknown, what: string) => EngineError;
  /** True when a call failed because its container (task, sandbox) is gone. */
  readonly isNotFound: (err: unknown) => boolean;
}

/** Per-call choices. @internal */
export interface CallOptions {
  /** `'null'`: a "not found" answer is `null` instead of an error. */
  readonly notFound?: 'null';
  /**
   * `false` when the transport already bounds the wait by the same request
   * timeout (Docker's pipelined client does, per connection), so no timer per
   * call is needed. Default `true`.
   */
  readonly timed?: boolean;
}

/** The calls of one adapter. @internal */
export interface EngineCalls {
  /** One call as a cold observable (see the module comment). `what` says what the call is for, in error messages. */
  call<T>(what: string, open: () => ObservableInput<T>, options?: CallOptions & { readonly notFound?: undefined }): Observable<T>;
  call<T>(what: string, open: () => ObservableInput<T>, options: CallOptions & { readonly notFound: 'null' }): Observable<T | null>;
  /** True once {@link EngineCalls.dispose} ran. */
  readonly disposed: boolean;
  /** From now on every call fails with a `closed` error before it is made. Idempotent. */
  dispose(): void;
}

/** The {@link EngineCalls} of one adapter. @internal */
export function engineCalls(settings: CallSettings): EngineCalls {
  const { errors, scheduler, requestTimeout, toError, isNotFound } = settings;
  // Set by dispose(): calls after it fail at once instead of touching a closed channel.
  let disposed = false;
  function call<T>(what: string, open: () => ObservableInput<T>, options: CallOptions = {}): Observable<T | null> {
    let answer$ = defer(() => (disposed ? throwError(() => errors.closed(what)) : from(open())));
    if (options.timed !== false) {
      answer$ = answer$.pipe(timeout({ first: requestTimeout, scheduler, with: () => throwError(() => errors.timedOut(what, requestTimeout)) }));
    }
    const nullIfGone = options.notFound === 'null';
    return answer$.pipe(catchError((err: unknown) => (nullIfGone && isNotFound(err) ? of(null) : throwError(() => toError(err, what)))));
  }
  return {
    call: call as EngineCalls['call'],
    get disposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
    },
  };
}

/**
 * A Promise-returning request that takes an `AbortSignal`, as a cold
 * observable: sent on subscribe, aborted when unsubscribed before it settled.
 * `controller` makes the AbortController (default the plain one). @internal
 */
export function fromAbortable<T>(send: (signal: AbortSignal) => Promise<T>, controller: () => AbortController = () => new AbortController()): Observable<T> {
  return new Observable<T>((subscriber) => {
    const abort = controller();
    // True once the request settled: nothing left to abort.
    let settled = false;
    send(abort.signal).then(
      (value) => {
        settled = true;
        if (subscriber.closed) return;
        subscriber.next(value);
        subscriber.complete();
      },
      (err: unknown) => {
        settled = true;
        if (!subscriber.closed) subscriber.error(err);
      },
    );
    return () => {
      if (!settled) abort.abort();
    };
  });
}
