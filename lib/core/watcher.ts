import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  type SchedulerLike,
  type Subscription,
  asyncScheduler,
  catchError,
  concat,
  concatWith,
  connect,
  defaultIfEmpty,
  defer,
  distinctUntilChanged,
  filter,
  forkJoin,
  ignoreElements,
  map,
  merge,
  switchMap,
  of,
  repeat,
  take,
  tap,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { EngineError, isEngineError } from '../errors.js';
import type { Container } from '../model/container.js';
import type { ComposerProject, Portfolio } from '../model/portfolio.js';
import { type RetryOption, backoffOnFailure, backoffOnLive, initialBackoff } from './backoff.js';
import type { EngineAdapter, EngineFeed, EngineInfo, ExitDetails } from './engine.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type Step, type WatchState, type WatcherStatus, fold } from './fold.js';

/** Options every watcher takes. */
export interface WatchOptions {
  /**
   * How to retry after failures: a {@link RetryPolicy} (capped exponential backoff with jitter), a constant
   * delay in ms (`retry: 2000`), your own {@link RetryFunction}, or `false` to give up at the first failure.
   * Default: retry forever with capped exponential backoff ({@link DEFAULT_RETRY}).
   */
  readonly retry?: RetryOption;
  /** Longest wait in ms for the list of alive containers once the event stream is open (default 60,000). */
  readonly syncTimeout?: number;
  /**
   * Exits the watcher only inferred from a list (after a reconnect or a
   * relist) are `synthetic` and carry no engine event's details; where the
   * adapter can still ask the engine how such a container ended
   * (`EngineAdapter.exitDetails`: Docker and Podman, while the container is
   * not removed), `lifecycle$` waits at most this many ms for the answers
   * before it delivers that batch (default 2,000; 0 turns it off). The
   * portfolio never waits; later changes queue behind the batch, in order.
   */
  readonly exitDetailsTimeout?: number;
  /** Scheduler for all timing (backoff, timeouts, synthetic event times); `TestScheduler` in tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * A live, in-memory picture of one engine's alive containers. Hot: it watches
 * from creation until {@link Watcher.close}; reading never talks to the engine.
 *
 * Only `close()` (or a bounded retry policy) stops it: engine faults and internal failures
 * alike show as `status$` `degraded` and a retry. A subscriber callback of
 * yours that throws is reported by RxJS (`config.onUnhandledError`, else
 * re-thrown asynchronously) and breaks neither the watcher nor its other
 * subscribers.
 */
export interface Watcher extends AsyncDisposable {
  /** Resolves after the first full synchronisation; rejects (with an `EngineError`) only if the watcher stops first. Never an unhandled rejection. */
  readonly ready: Promise<void>;
  /** Emits once (`void`) after the first full synchronisation, then completes. */
  readonly ready$: Observable<void>;
  /** The current portfolio, synchronously. */
  readonly portfolio: Portfolio;
  /** The portfolio, current value first, then every change; completes on close. */
  readonly portfolio$: Observable<Portfolio>;
  /** All projects (unnamed first), current value first: `Portfolio.projects`, one array per portfolio version, shared by all subscribers. */
  readonly projects$: Observable<readonly ComposerProject[]>;
  /** All alive containers, current value first: `Portfolio.containers`, one array per portfolio version (one copy per event, no index walk), shared by all subscribers. */
  readonly containers$: Observable<readonly Container[]>;
  /** Synthetic `started` for every alive container, then every change; no gap, no duplicate. */
  readonly lifecycle$: Observable<LifecycleEvent>;
  /** The watcher's health, current value first. */
  readonly status$: Observable<WatcherStatus>;
  /** The current health, synchronously. */
  readonly status: WatcherStatus;
  /** Asks the engine for its identity and version (one round trip). */
  info(): Promise<EngineInfo>;
  /** Stops watching: closes streams, cancels timers, completes all observables. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** @internal Turns whatever an adapter threw into an `EngineError`. */
export function toEngineError(engine: string, err: unknown): EngineError {
  if (isEngineError(err)) return err;
  return new EngineError(engine, 'engine', `${engine}: ${describe(err, false)}`, { cause: err });
}

/**
 * The `EngineError` for an exception raised by whalewatcher's own
 * pipeline (an operator between the adapter and the fold, or the fold), not by
 * the adapter: a bug to report. The watcher treats it like an engine fault
 * (`degraded`, retry with backoff, last good portfolio kept).
 */
function internalFailure(adapter: EngineAdapter, err: unknown): EngineError {
  return new EngineError(
    adapter.engine,
    'engine',
    `internal failure of whalewatcher while watching ${adapter.engine} at ${adapter.endpoint} (${describe(err, true)}): ` +
      'this is a bug in whalewatcher, not in the engine; please report it with the stack of this error\'s cause.',
    { cause: err, endpoint: adapter.endpoint },
  );
}

/** The message of anything thrown (with the error's name if asked), without ever throwing itself. */
function describe(err: unknown, withName: boolean): string {
  try {
    if (!(err instanceof Error)) return String(err);
    return withName ? `${err.name}: ${err.message}` : err.message;
  } catch {
    return 'an unprintable value';
  }
}

/**
 * The inputs of the fold for a watcher over `adapter`: one session per
 * connection attempt (events first, then the list once the engine accepted the
 * event stream), retried with backoff after failures. Cold.
 *
 * @internal
 */
export function watchInputs(adapter: EngineAdapter, options: WatchOptions = {}): Observable<FoldInput> {
  return sessions(adapter, options, (input) => input);
}

/**
 * The watcher's pipeline: the sessions of {@link watchInputs}, each
 * input folded into the watcher's state as it arrives. The fold runs inside the
 * session, so an exception in it (or in any operator between the adapter and
 * it) fails the session like an engine fault: `degraded` with
 * {@link internalFailure}, a retry with backoff, and the state as of the last
 * step that succeeded. Cold; every subscription folds from the initial state.
 */
function watchSteps(adapter: EngineAdapter, options: WatchOptions = {}): Observable<Step> {
  return defer(() => {
    // The fold's accumulator (what `scan` would keep), outside the sessions: a retry resumes
    // from the last good picture, and a step that threw leaves it as it was.
    let state = INITIAL_STATE;
    return sessions(adapter, options, (input) => {
      const step = fold(state, input);
      state = step.state;
      return step;
    });
  });
}

/**
 * Sessions retried with backoff, each input passed through `stage` inside the
 * session. Whatever fails a session (the adapter, our operators, `stage`)
 * becomes `disconnected` and the next session after the backoff, or `stopped`
 * once the policy gives up (then the output completes).
 */
function sessions<T>(adapter: EngineAdapter, options: WatchOptions, stage: (input: FoldInput) => T): Observable<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const syncTimeout = options.syncTimeout ?? 60_000;
  return defer(() => {
    // The retry bookkeeping across this watcher's sessions (see backoff.ts): how many consecutive
    // failures count, when the latest list arrived, and whether the policy gave up.
    let backoff = initialBackoff(options.retry);
    return session(adapter, scheduler, syncTimeout).pipe(
      tap((input) => {
        if (input.type === 'snapshot') backoff = backoffOnLive(backoff, scheduler.now());
      }),
      map(stage),
      catchError((err: unknown) => {
        // the adapter's own errors arrive as EngineErrors (see fromAdapter); anything else is ours
        const error = isEngineError(err) ? err : internalFailure(adapter, err);
        const decision = backoffOnFailure(backoff, scheduler.now(), error);
        backoff = decision.state;
        if (decision.giveUp) return of(stage({ type: 'stopped', error: decision.error }));
        return concat(
          of(stage({ type: 'disconnected', error, attempt: decision.attempt, retryIn: decision.delayMs })),
          timer(decision.delayMs, scheduler).pipe(ignoreElements()),
        );
      }),
      // a failed session ends once its backoff has run out: start the next one, unless the policy gave up
      repeat({ delay: () => (backoff.gaveUp ? EMPTY : of(true)) }),
    );
  });
}

/**
 * One of the adapter's cold observables, with every error it raises (a throw
 * from the call itself or from its subscribe function included) as an
 * `EngineError`: so that, past this point, an error that is not an
 * `EngineError` can only come from whalewatcher's own code.
 */
function fromAdapter<T>(adapter: EngineAdapter, open: () => Observable<T>): Observable<T> {
  return defer(open).pipe(catchError((err: unknown) => throwError(() => toEngineError(adapter.engine, err))));
}

/**
 * One connection attempt: `connecting`, then the adapter's events with a list
 * after every `listening`. Never completes: an event stream that ends is an
 * error. Cold; each subscription opens the adapter's streams afresh.
 */
function session(adapter: EngineAdapter, scheduler: SchedulerLike, syncTimeout: number): Observable<FoldInput> {
  const ended = () => new EngineError(adapter.engine, 'engine', `${adapter.engine} event stream at ${adapter.endpoint} ended`);
  return defer(() =>
    concat(
      of<FoldInput>({ type: 'connecting' }),
      fromAdapter(adapter, () => adapter.events()).pipe(
        concatWith(throwError(ended)),
        connect((feed$: Observable<EngineFeed>) =>
          merge(
            feed$.pipe(map(toInput)),
            feed$.pipe(
              // every `listening` asks for a list: the first one syncs, later ones resync
              filter((f) => f.type === 'listening'),
              switchMap(() =>
                fromAdapter(adapter, () => adapter.snapshot()).pipe(
                  take(1),
                  timeout({
                    first: syncTimeout,
                    scheduler,
                    with: () =>
                      throwError(() => new EngineError(adapter.engine, 'engine', `${adapter.engine} at ${adapter.endpoint} did not list its containers within ${syncTimeout} ms`)),
                  }),
                  map((containers): FoldInput => ({ type: 'snapshot', containers, time: scheduler.now() })),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function toInput(feed: EngineFeed): FoldInput {
  return feed.type === 'listening' ? { type: 'listening' } : { type: 'event', event: feed };
}

/**
 * Starts watching the engine behind `adapter` at once and keeps an
 * always-current picture of its alive containers. The watcher is the only hot
 * part: it subscribes once; all its observables share that one session.
 *
 * @example
 * ```ts
 * import { watch, dockerAdapter } from 'whalewatcher';
 * const ww = watch(dockerAdapter({ host: 'unix:///run/docker.sock' }));
 * await ww.ready;
 * console.log(ww.portfolio.total);
 * await ww.close();
 * ```
 */
export function watch(adapter: EngineAdapter, options: WatchOptions = {}): Watcher {
  const scheduler = options.scheduler ?? asyncScheduler;
  const state$ = new BehaviorSubject<WatchState>(INITIAL_STATE);
  const batches$ = new Subject<readonly LifecycleEvent[]>();
  // the portfolio as of the last change batch handed to lifecycle subscribers
  let delivered: Portfolio = INITIAL_STATE.portfolio;
  let closed = false;

  let resolveReady!: () => void;
  let rejectReady!: (e: EngineError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined); // a rejection nobody awaits is not unhandled

  const exitDetails = exitDetailsOf(adapter, options.exitDetailsTimeout ?? DEFAULT_EXIT_DETAILS_TIMEOUT, scheduler);
  // Change batches waiting for exit details (the head) and the batches behind it, in order.
  const held: { changes: readonly LifecycleEvent[]; readonly portfolio: Portfolio; asked: boolean }[] = [];
  // The exit-details request of the head batch, while it runs.
  let asking: Subscription | undefined;
  const deliver = (changes: readonly LifecycleEvent[], portfolio: Portfolio): void => {
    delivered = portfolio;
    batches$.next(changes);
  };
  const pump = (): void => {
    while (held.length > 0) {
      const head = held[0]!;
      if (!head.asked && exitDetails !== undefined && needsDetails(head.changes)) {
        head.asked = true;
        // the answer (synchronous or not) puts the details in and pumps again
        let answered = false;
        const sub = exitDetails(head.changes).subscribe((changes) => {
          answered = true;
          head.changes = changes;
          asking = undefined;
          pump();
        });
        if (!answered) asking = sub;
        return;
      }
      held.shift();
      deliver(head.changes, head.portfolio);
    }
  };

  const subscription: Subscription = watchSteps(adapter, options).subscribe({
    next: ({ state, changes }) => {
      if (state !== state$.value) state$.next(state); // state first, then what caused it
      if (state.everSynced) resolveReady();
      if (state.status.state === 'stopped') rejectReady(state.status.error ?? new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher stopped`));
      if (changes.length === 0) {
        // details changed without a lifecycle change (a start seen twice with newer labels): a new
        // subscriber's replay shows them, unless a batch still waits to be delivered before them
        if (held.length === 0) delivered = state.portfolio;
      } else {
        if (held.length === 0 && (exitDetails === undefined || !needsDetails(changes))) deliver(changes, state.portfolio);
        else {
          held.push({ changes, portfolio: state.portfolio, asked: false });
          if (held.length === 1) pump();
        }
      }
    },
    error: (err: unknown) => {
      // The last resort: watchSteps turns every failure into a retry, so only an exception
      // while recording a failure could get here. Never lose it silently: stop and say why.
      const error = internalFailure(adapter, err);
      state$.next(fold(state$.value, { type: 'stopped', error }).state);
      rejectReady(error);
    },
  });

  const portfolio$ = state$.pipe(
    map((s) => s.portfolio),
    distinctUntilChanged(),
  );
  const status$ = state$.pipe(
    map((s) => s.status),
    distinctUntilChanged(),
  );

  const lifecycle$ = new Observable<LifecycleEvent>((subscriber) => {
    const snapshot = delivered;
    let buffer: LifecycleEvent[] | null = [];
    const inner = batches$.subscribe({
      next: (changes) => {
        for (const c of changes) {
          if (buffer !== null) buffer.push(c);
          else subscriber.next(c);
        }
      },
      complete: () => subscriber.complete(),
    });
    const time = new Date(scheduler.now());
    for (const container of snapshot.containers) {
      if (subscriber.closed) break;
      subscriber.next(Object.freeze(container.engine === undefined ? { type: 'started', container, time, synthetic: true } : { type: 'started', container, time, synthetic: true, engine: container.engine }));
    }
    const queued = buffer;
    buffer = null;
    for (const c of queued) subscriber.next(c);
    return inner;
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    subscription.unsubscribe();
    let disposeError: EngineError | undefined;
    try {
      adapter.dispose();
    } catch (err) {
      // close() never rejects (callers often do not await it): the failure shows in the final status
      disposeError = toEngineError(adapter.engine, err);
    }
    if (!state$.value.everSynced) rejectReady(new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher closed before its first synchronisation`));
    const final = fold(state$.value, disposeError === undefined ? { type: 'stopped' } : { type: 'stopped', error: disposeError }).state;
    state$.next(final);
    // what still waits for exit details is delivered as it is
    asking?.unsubscribe();
    for (const batch of held.splice(0)) deliver(batch.changes, batch.portfolio);
    state$.complete();
    batches$.complete();
  };

  return {
    ready,
    ready$: state$.pipe(
      filter((s) => s.everSynced || s.status.state === 'stopped'),
      take(1),
      map((s) => {
        if (!s.everSynced) throw s.status.state === 'stopped' && s.status.error ? s.status.error : new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher stopped`);
      }),
    ),
    get portfolio() {
      return state$.value.portfolio;
    },
    portfolio$,
    projects$: portfolio$.pipe(map((p) => p.projects)),
    containers$: portfolio$.pipe(map((p) => p.containers)),
    lifecycle$,
    status$,
    get status() {
      return state$.value.status;
    },
    info: async () => adapter.info(), // a synchronous throw becomes a rejection too
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Default of {@link WatchOptions.exitDetailsTimeout}. */
const DEFAULT_EXIT_DETAILS_TIMEOUT = 2_000;
/** Most synthetic exits of one batch whose details are asked for (an engine restart may end thousands at once). */
const MAX_EXIT_DETAILS = 256;

/** True when a batch has an inferred exit without details. */
function needsDetails(changes: readonly LifecycleEvent[]): boolean {
  return changes.some((c) => c.type === 'exited' && c.synthetic && c.exit === undefined);
}

/**
 * Asks the adapter how the containers of a batch's inferred exits ended, each
 * bounded by `timeout` and never failing (no answer: no details), and gives the
 * batch back with the details in. Undefined when the adapter cannot or the
 * option is off.
 */
function exitDetailsOf(
  adapter: EngineAdapter,
  timeoutMs: number,
  scheduler: SchedulerLike,
): ((changes: readonly LifecycleEvent[]) => Observable<readonly LifecycleEvent[]>) | undefined {
  const ask = adapter.exitDetails?.bind(adapter);
  if (ask === undefined || !(timeoutMs > 0)) return undefined;
  return (changes) => {
    const asked = changes.map((c, i) => ({ c, i })).filter(({ c }) => c.type === 'exited' && c.synthetic && c.exit === undefined).slice(0, MAX_EXIT_DETAILS);
    return forkJoin(
      asked.map(({ c }) =>
        defer(() => ask(c.container.id)).pipe(
          take(1),
          timeout({ first: timeoutMs, scheduler, with: () => of(null) }),
          catchError(() => of(null)),
          defaultIfEmpty(null),
        ),
      ),
    ).pipe(
      map((answers) => {
        const out = changes.slice();
        answers.forEach((exit: ExitDetails | null, k: number) => {
          if (exit === null) return;
          const { c, i } = asked[k]!;
          out[i] = Object.freeze({ ...c, exit });
        });
        return Object.freeze(out);
      }),
    );
  };
}
