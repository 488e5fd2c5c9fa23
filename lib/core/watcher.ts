import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  type SchedulerLike,
  type Subscription,
  asapScheduler,
  asyncScheduler,
  catchError,
  concat,
  concatWith,
  connect,
  defaultIfEmpty,
  defer,
  distinctUntilChanged,
  expand,
  filter,
  forkJoin,
  from,
  ignoreElements,
  map,
  merge,
  mergeMap,
  switchMap,
  of,
  repeat,
  take,
  takeUntil,
  tap,
  throwError,
  timeout,
  timer,
  toArray,
} from 'rxjs';
import { EngineError, isEngineError } from '../errors.js';
import { latestPerBurst } from './operators/latest-per-burst.js';
import { replayThenLive } from './replay-then-live.js';
import type { Container } from '../model/container.js';
import type { ComposerProject, Portfolio } from '../model/portfolio.js';
import { type RetryOption, type RetryStrategy, backoffOnFailure, backoffOnLive, initialBackoff } from './backoff.js';
import type { ContainerList, EngineAdapter, EngineFeed, EngineInfo, ExitDetails, ListGap } from './engine.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type Step, type WatchState, type WatcherStatus, fold } from './fold.js';

/**
 * Options every watcher takes.
 *
 * @example
 * ```ts
 * import { watchDocker, type WatchOptions } from 'whalewatcher';
 * const options: WatchOptions = { retry: { maxDelay: 5_000 }, syncTimeout: 10_000 };
 * const ww = watchDocker(options);
 * await ww.close();
 * ```
 */
export interface WatchOptions {
  /**
   * How to retry after failures: a {@link RetryPolicy} (capped exponential backoff with jitter), a constant
   * delay in ms (`retry: 2000`), your own {@link RetryFunction}, or `false` to give up at the first failure.
   * Default: retry forever with capped exponential backoff ({@link DEFAULT_RETRY}).
   */
  readonly retry?: RetryOption;
  /**
   * Longest wait in ms for the whole list of alive containers (the list call
   * and every inspection) once the event stream is open; running out fails
   * the session (`degraded`, retried). Default 60,000, or twice the adapter's
   * `requestTimeout` when that is longer. The adapter's `requestTimeout`
   * bounds each call within: an inspection that runs out of it leaves only
   * its container out of the list (`live` with `incomplete`), so keep
   * `syncTimeout` above it.
   */
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
 *
 * Its observables are hot: subscribing opens nothing (they share the
 * watcher's one session); unsubscribing stops only that subscriber; `close()`
 * (or `await using`) completes them all and releases the engine connection.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * await using ww = watchDocker(); // closed when the scope ends
 * await ww.ready;
 * console.log(ww.portfolio.total, ww.status.state); // e.g. 3 live
 * const sub = ww.containers$.subscribe((cs) => console.log(cs.length, 'alive'));
 * sub.unsubscribe();
 * ```
 */
export interface Watcher extends AsyncDisposable {
  /** Resolves after the first full synchronisation; rejects (with an `EngineError`) only if the watcher stops first. Never an unhandled rejection. */
  readonly ready: Promise<void>;
  /** Emits once (`void`) after the first full synchronisation, then completes (at once for a late subscriber); errors with the `EngineError` if the watcher stops first. Hot. */
  readonly ready$: Observable<void>;
  /** The current portfolio, synchronously. */
  readonly portfolio: Portfolio;
  /** The portfolio, current value first, then every change; completes on close. Hot. */
  readonly portfolio$: Observable<Portfolio>;
  /**
   * All projects (unnamed first), current value first: `Portfolio.projects`,
   * one frozen array per portfolio version it shows, made once and shared by
   * all subscribers. Costs O(p log p) per array (p: the number of projects,
   * not of containers); a project's own `containers` are made only when read,
   * and a project the change did not touch keeps its array. Emits like
   * `containers$`: a change that comes alone at once, a burst as its first
   * and its last version. Hot; completes on close.
   */
  readonly projects$: Observable<readonly ComposerProject[]>;
  /**
   * All alive containers, current value first: `Portfolio.containers`, one
   * frozen array per portfolio version it shows, made once and shared by all
   * subscribers. A change that comes alone is passed at once (synchronously);
   * of a burst (many events in one read of the engine's stream, folded in one
   * synchronous run) the first version at once and the last when the run has
   * ended (a microtask later, no timer): a burst of k events costs two arrays,
   * not k. `portfolio$` has every version. Each array is a copy of the
   * previous one with the changes applied (no index walk, up to n/8 changes),
   * O(n) at memory speed; past 16,384 containers V8 allocates an array that
   * long as a large object, about a millisecond or more each
   * (`npm run bench -- scale`). To read the containers less often than the
   * engine changes them, e.g. `portfolio$.pipe(auditTime(100), map((p) => p.containers))`.
   * Hot; completes on close (after a burst's last version).
   */
  readonly containers$: Observable<readonly Container[]>;
  /** Synthetic `started` for every alive container, then every change; no gap, no duplicate. Hot (each subscriber gets its own replay of the current picture first); completes on close. */
  readonly lifecycle$: Observable<LifecycleEvent>;
  /** The watcher's health, current value first. Hot; completes on close. */
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
export function watchInputs(adapter: EngineAdapter, options: WatchOptions = {}, previous: () => Portfolio | undefined = () => undefined): Observable<FoldInput> {
  return sessions(adapter, options, (input) => input, previous);
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
    return sessions(
      adapter,
      options,
      (input) => {
        const step = fold(state, input);
        state = step.state;
        return step;
      },
      // a relist may reuse what the picture shows (the adapter decides what it can trust)
      () => (state.everSynced ? state.portfolio : undefined),
    );
  });
}

/**
 * Sessions retried with backoff, each input passed through `stage` inside the
 * session. Whatever fails a session (the adapter, our operators, `stage`)
 * becomes `disconnected` and the next session after the backoff, or `stopped`
 * once the policy gives up (then the output completes).
 */
function sessions<T>(adapter: EngineAdapter, options: WatchOptions, stage: (input: FoldInput) => T, previous: () => Portfolio | undefined): Observable<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const syncTimeout = options.syncTimeout ?? defaultSyncTimeout(adapter);
  return defer(() => {
    // The retry bookkeeping across this watcher's sessions (see backoff.ts): how many consecutive
    // failures count, when the latest list arrived, and whether the policy gave up.
    let backoff = initialBackoff(options.retry);
    return session(adapter, scheduler, syncTimeout, backoff.strategy, previous).pipe(
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

/** The fold input of a periodic relist: a `listening` the watcher makes itself. */
const RELISTING: FoldInput = Object.freeze({ type: 'listening' });

/** The adapter's periodic relist interval in ms, 0 when off. */
function resyncIntervalOf(adapter: EngineAdapter): number {
  const interval = adapter.resyncInterval;
  return typeof interval === 'number' && Number.isFinite(interval) && interval > 0 ? interval : 0;
}

/**
 * One connection attempt: `connecting`, then the adapter's events with a list
 * after every `listening`, and (with the adapter's `resyncInterval`) a
 * periodic relist that long after each list arrived: a `listening` of the
 * watcher's own, then a list. The period runs from the end of a list, so a
 * list slower than the period is never cancelled by the next one; a
 * `listening` of the adapter starts the cycle afresh. Never completes: an
 * event stream that ends is an error. Cold; each subscription opens the
 * adapter's streams afresh.
 */
function session(adapter: EngineAdapter, scheduler: SchedulerLike, syncTimeout: number, retry: RetryStrategy, previous: () => Portfolio | undefined): Observable<FoldInput> {
  const ended = () => new EngineError(adapter.engine, 'engine', `${adapter.engine} event stream at ${adapter.endpoint} ended`);
  const interval = resyncIntervalOf(adapter);
  // after a list, the wait before the next one (periodic relists only)
  const wait$: Observable<never> = interval === 0 ? EMPTY : timer(interval, scheduler).pipe(ignoreElements());
  // one list (`previous` is read when it starts, after the fold took its `listening`), then the wait; meanwhile
  // the containers the list could not inspect are asked for again with backoff, until they answer or the next list starts
  const list$ = fromAdapter(adapter, () => adapter.snapshot(previous())).pipe(
    take(1),
    timeout({
      first: syncTimeout,
      scheduler,
      with: () => throwError(() => new EngineError(adapter.engine, 'engine', `${adapter.engine} at ${adapter.endpoint} did not list its containers within ${syncTimeout} ms`)),
    }),
    mergeMap((containers: ContainerList): Observable<FoldInput> => {
      const gap = containers.gap;
      const time = scheduler.now();
      if (gap === undefined || gap.ids.length === 0) return concat(of<FoldInput>({ type: 'snapshot', containers, time }), wait$);
      const snapshot: FoldInput = { type: 'snapshot', containers, time, gap: Object.freeze({ ids: gap.ids, error: gap.error }) };
      const again$ = reinspections(adapter, gap, retry, scheduler, syncTimeout);
      return concat(of(snapshot), interval === 0 ? again$ : merge(again$.pipe(takeUntil(timer(interval, scheduler))), wait$));
    }),
  );
  // relist, wait, relist, … (flat: `repeat`, no nesting that grows with time); the first list comes before
  const relists$: Observable<FoldInput> = interval === 0 ? EMPTY : concat(of(RELISTING), list$).pipe(repeat());
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
              switchMap(() => concat(list$, relists$)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The default of {@link WatchOptions.syncTimeout}: 60 s, or twice the adapter's request timeout when that is longer. */
function defaultSyncTimeout(adapter: EngineAdapter): number {
  const request = adapter.requestTimeout;
  return typeof request === 'number' && Number.isFinite(request) ? Math.max(DEFAULT_SYNC_TIMEOUT, 2 * request) : DEFAULT_SYNC_TIMEOUT;
}

/** The least default of {@link WatchOptions.syncTimeout}. */
const DEFAULT_SYNC_TIMEOUT = 60_000;

/** Most containers of a list's gap asked for again at once. */
const REINSPECT_CONCURRENCY = 16;

/**
 * The containers of a list's gap, asked for again in rounds, each round after
 * the `retry` option's backoff for its attempt (1, 2, …), until none fails
 * (or the policy gives up: the status then stays incomplete until the next
 * list). One `reinspected` input per round. Cold; cancelled with the session
 * or by the next list.
 */
function reinspections(adapter: EngineAdapter, gap: ListGap, retry: RetryStrategy, scheduler: SchedulerLike, syncTimeout: number): Observable<FoldInput> {
  return defer(() => {
    // The ids still failing, and the latest failure.
    let remaining: readonly string[] = gap.ids;
    let error: EngineError = gap.error;
    // Rounds so far.
    let attempt = 0;
    const round = (): Observable<FoldInput> => {
      attempt += 1;
      let delay: unknown;
      try {
        delay = retry.delay(attempt, error);
      } catch {
        return EMPTY; // a retry function that throws: the watcher's own retries say so; here the gap just stays
      }
      if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) return EMPTY;
      type Answer = { readonly id: string; readonly container: Container | null } | { readonly id: string; readonly error: EngineError };
      return timer(delay, scheduler).pipe(
        mergeMap(() => from(remaining)),
        mergeMap(
          (id): Observable<Answer> =>
            fromAdapter(adapter, () => gap.reinspect(id)).pipe(
              take(1),
              defaultIfEmpty(null),
              timeout({ first: syncTimeout, scheduler }),
              map((container): Answer => ({ id, container })),
              catchError((err: unknown) => of<Answer>({ id, error: toEngineError(adapter.engine, err) })),
            ),
          REINSPECT_CONCURRENCY,
        ),
        toArray(),
        map((answers): FoldInput => {
          const found: Container[] = [];
          const gone: string[] = [];
          const failed: string[] = [];
          let latest: EngineError | undefined;
          for (const a of answers) {
            if ('error' in a) {
              failed.push(a.id);
              latest = a.error;
            } else if (a.container === null) gone.push(a.id);
            else found.push(a.container);
          }
          remaining = failed;
          if (latest !== undefined) error = latest;
          const input = { type: 'reinspected' as const, found, gone, failed, time: scheduler.now() };
          return latest === undefined ? input : { ...input, error: latest };
        }),
      );
    };
    return round().pipe(expand(() => (remaining.length === 0 ? EMPTY : round())));
  });
}

function toInput(feed: EngineFeed): FoldInput {
  return feed.type === 'listening' ? { type: 'listening' } : { type: 'event', event: feed };
}

/**
 * Starts watching the engine behind `adapter` at once and keeps an
 * always-current picture of its alive containers. The watcher is the only hot
 * part: it subscribes once; all its observables share that one session.
 * Hot from the call on; `close()` (or `await using`) ends the session,
 * completes its observables and disposes of the adapter.
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
  // where the end of a synchronous burst is seen (containers$, projects$): the microtask after it, or the test's scheduler
  const burstScheduler = options.scheduler ?? asapScheduler;
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

  // the picture as delivered when the subscriber joins (its containers, read before listening to the batches), then the batches
  const lifecycle$ = replayThenLive(() => delivered.containers, batches$, scheduler);

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
    // views whose every value costs an array: one per change that comes alone, one more at the end of a burst
    projects$: portfolio$.pipe(latestPerBurst(burstScheduler), map((p) => p.projects)),
    containers$: portfolio$.pipe(latestPerBurst(burstScheduler), map((p) => p.containers)),
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
