// One call to an engine, the same way for every engine and transport: cold,
// cancelled on unsubscribe, bounded by the request timeout on the scheduler,
// refused once the adapter is disposed, "not found" as null when asked, and
// every failure mapped to an EngineError by the engine's own mapper.

import { Observable, type ObservableInput, type SchedulerLike, type Subscription, from } from 'rxjs';
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

/**
 * A transport's request in callback form: `send(reply)` starts the request,
 * `reply(err, value)` answers it once (`err` null or undefined on success),
 * and the function it returns (if any) cancels a request still in flight.
 * This is the lean form for the hot paths (one inspection, one unary gRPC
 * call): the kit wraps it in one observable, without an operator chain.
 * @internal
 */
export type Transport<T> = (reply: (err: unknown, value?: T) => void) => (() => void) | void;

/** What a callback-form call hands its answer to: an EngineError, or the value (`null` for a gone container when asked). @internal */
export type CallDone<T> = (err: EngineError | null, value?: T) => void;

/** The calls of one adapter. @internal */
export interface EngineCalls {
  /**
   * One request in callback form, for the hottest paths (the inspections of a
   * list): `done` is called once, unless the returned function cancels first.
   */
  send<T>(what: string, transport: Transport<T>, options: CallOptions, done: CallDone<T | null>): () => void;
  /** One request as a cold observable (see the module comment). `what` says what the call is for, in error messages. */
  request<T>(what: string, send: Transport<T>, options?: CallOptions & { readonly notFound?: undefined }): Observable<T>;
  request<T>(what: string, send: Transport<T>, options: CallOptions & { readonly notFound: 'null' }): Observable<T | null>;
  /** The same for a transport that answers with an observable (its first value is the answer). */
  call<T>(what: string, open: () => ObservableInput<T>, options?: CallOptions & { readonly notFound?: undefined }): Observable<T>;
  call<T>(what: string, open: () => ObservableInput<T>, options: CallOptions & { readonly notFound: 'null' }): Observable<T | null>;
  /** True once {@link EngineCalls.dispose} ran. */
  readonly disposed: boolean;
  /** From now on every call fails with a `closed` error before it is made. Idempotent. */
  dispose(): void;
}

/** Nothing to cancel. */
function noCancel(): void {
  // the call ended before it began
}

/** The {@link EngineCalls} of one adapter. @internal */
export function engineCalls(settings: CallSettings): EngineCalls {
  const { errors, scheduler, requestTimeout, toError, isNotFound } = settings;
  // Set by dispose(): calls after it fail at once instead of touching a closed channel.
  let disposed = false;

  function send<T>(what: string, transport: Transport<T>, options: CallOptions, done: CallDone<T | null>): () => void {
    if (disposed) {
      done(errors.closed(what));
      return noCancel;
    }
    // True once answered, timed out or cancelled: later replies go nowhere.
    let settled = false;
    // The request timeout, while waiting.
    let deadline: Subscription | undefined;
    // Cancels the request at the transport.
    let cancel: (() => void) | void = undefined;
    const reply = (err: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      deadline?.unsubscribe();
      if (err === null || err === undefined) done(null, value);
      else if (options.notFound === 'null' && isNotFound(err)) done(null, null);
      else done(toError(err, what));
    };
    try {
      cancel = transport(reply);
    } catch (err) {
      reply(err);
    }
    if (!settled && options.timed !== false) {
      deadline = scheduler.schedule(() => {
        if (settled) return;
        settled = true;
        cancel?.();
        done(errors.timedOut(what, requestTimeout));
      }, requestTimeout);
    }
    return () => {
      if (settled) return;
      settled = true;
      deadline?.unsubscribe();
      cancel?.();
    };
  }

  function request<T>(what: string, transport: Transport<T>, options: CallOptions = {}): Observable<T | null> {
    return new Observable<T | null>((subscriber) =>
      send(what, transport, options, (err, value) => {
        if (err !== null) return subscriber.error(err);
        subscriber.next(value as T | null);
        subscriber.complete();
      }),
    );
  }

  function call<T>(what: string, open: () => ObservableInput<T>, options: CallOptions = {}): Observable<T | null> {
    const transport: Transport<T> = (reply) => {
      // Set by the first value: the answer (an observable that goes on after it is cut off there).
      let answered = false;
      // The transport's observable, once subscribed.
      let sub: Subscription | undefined = undefined;
      sub = from(open()).subscribe({
        next: (value) => {
          if (answered) return;
          answered = true;
          reply(null, value);
          sub?.unsubscribe();
        },
        error: (err: unknown) => reply(err),
        complete: () => {
          if (!answered) reply(new Error(`the answer ended without a value while ${what}`));
        },
      });
      if (answered) sub.unsubscribe();
      return () => sub?.unsubscribe();
    };
    return request(what, transport, options);
  }

  return {
    send,
    request: request as EngineCalls['request'],
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
