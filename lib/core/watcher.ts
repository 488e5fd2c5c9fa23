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
  defer,
  distinctUntilChanged,
  filter,
  ignoreElements,
  map,
  merge,
  switchMap,
  of,
  repeat,
  scan,
  take,
  tap,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { EngineError, isEngineError } from '../errors.js';
import type { Container } from '../model/container.js';
import type { ComposerProject, Portfolio } from '../model/portfolio.js';
import { type RetryPolicy, backoffOnFailure, backoffOnLive, initialBackoff } from './backoff.js';
import type { EngineAdapter, EngineFeed, EngineInfo } from './engine.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type Step, type WatchState, type WatcherStatus, fold } from './fold.js';

/** Options every watcher takes. */
export interface WatchOptions {
  /** Retry policy after failures; `false` gives up at the first failure. Default: retry forever with capped exponential backoff. */
  readonly retry?: RetryPolicy | false;
  /** Longest wait in ms for the list of alive containers once the event stream is open (default 60,000). */
  readonly syncTimeout?: number;
  /** Scheduler for all timing (backoff, timeouts, synthetic event times); `TestScheduler` in tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * A live, in-memory picture of one engine's alive containers. Hot: it watches
 * from creation until {@link Watcher.close}; reading never talks to the engine.
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
  /** All projects (unnamed first), current value first. */
  readonly projects$: Observable<readonly ComposerProject[]>;
  /** All alive containers, current value first. */
  readonly containers$: Observable<readonly Container[]>;
  /** Synthetic `started` for every alive container, then every change; no gap, no duplicate. */
  readonly lifecycle$: Observable<LifecycleEvent>;
  /** The watcher's health, current value first. */
  readonly status$: Observable<WatcherStatus>;
  /** The current health, synchronously. */
  readonly status: WatcherStatus;
  /** Asks the engine for its identity and version (one round trip). */
  info(): Promise<EngineInfo>;
  /** Stops watching: closes streams, cancels timers, completes all observables. Idempotent. */
  close(): Promise<void>;
}

/** Turns whatever an adapter threw into an `EngineError`. */
export function toEngineError(engine: string, err: unknown): EngineError {
  if (isEngineError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(engine, 'engine', `${engine}: ${message}`, { cause: err });
}

/**
 * The inputs of the fold for a watcher over `adapter`: one session per
 * connection attempt (events first, then the list once the engine accepted the
 * event stream), retried with backoff after failures. Cold.
 */
export function watchInputs(adapter: EngineAdapter, options: WatchOptions = {}): Observable<FoldInput> {
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
      catchError((err: unknown) => {
        const error = toEngineError(adapter.engine, err);
        const decision = backoffOnFailure(backoff, scheduler.now());
        backoff = decision.state;
        if (decision.giveUp) return of<FoldInput>({ type: 'stopped', error });
        return concat(
          of<FoldInput>({ type: 'disconnected', error, attempt: decision.attempt, retryIn: decision.delayMs }),
          timer(decision.delayMs, scheduler).pipe(ignoreElements()),
        );
      }),
      // a failed session ends once its backoff has run out: start the next one, unless the policy gave up
      repeat({ delay: () => (backoff.gaveUp ? EMPTY : of(true)) }),
    );
  });
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
      adapter.events().pipe(
        concatWith(throwError(ended)),
        connect((feed$: Observable<EngineFeed>) =>
          merge(
            feed$.pipe(map(toInput)),
            feed$.pipe(
              // every `listening` asks for a list: the first one syncs, later ones resync
              filter((f) => f.type === 'listening'),
              switchMap(() =>
                adapter.snapshot().pipe(
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

  const subscription: Subscription = watchInputs(adapter, options)
    .pipe(scan((step: Step, input: FoldInput) => fold(step.state, input), { state: INITIAL_STATE, changes: [] }))
    .subscribe({
      next: ({ state, changes }) => {
        if (state !== state$.value) state$.next(state); // state first, then what caused it
        if (state.synced) resolveReady();
        if (state.status.state === 'stopped') rejectReady(state.status.error ?? new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher stopped`));
        if (changes.length > 0) {
          delivered = state.portfolio;
          batches$.next(changes);
        }
      },
      error: (err: unknown) => {
        // not expected (inputs never error), but never lose it silently
        state$.next(fold(state$.value, { type: 'stopped', error: toEngineError(adapter.engine, err) }).state);
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
      subscriber.next(Object.freeze({ type: 'started', container, time, synthetic: true }));
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
    adapter.dispose();
    if (!state$.value.synced) rejectReady(new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher closed before its first synchronisation`));
    const final = fold(state$.value, { type: 'stopped' }).state;
    state$.next(final);
    state$.complete();
    batches$.complete();
  };

  return {
    ready,
    ready$: state$.pipe(
      filter((s) => s.synced || s.status.state === 'stopped'),
      take(1),
      map((s) => {
        if (!s.synced) throw s.status.state === 'stopped' && s.status.error ? s.status.error : new EngineError(adapter.engine, 'closed', `${adapter.engine} watcher stopped`);
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
    info: () => adapter.info(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
