import { type Observable, ReplaySubject, concatMap, defer, filter, finalize, firstValueFrom, map, of, share, take, tap } from 'rxjs';
import type { ContainerList, EngineAdapter, EngineFeed, EngineInfo, ExitDetails } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, withEngine } from '../../model/container.js';
import type { Portfolio } from '../../model/portfolio.js';
import { type AdapterOptions, type AdapterSettings, adapterSettings } from './adapter-options.js';
import { type EngineCalls, engineCalls } from './engine-call.js';
import { type EngineErrors, type EngineTerms, engineErrors } from './engine-error.js';
import { type EventReplay, NO_REPLAY, type ReplayLease } from './event-replay.js';
import { mapContainerList } from './inspect-all.js';
import { matchesLabels } from './label-selector.js';
import { resolveStarts } from './resolve-starts.js';
import type { RawFeed, StartHint } from './start-hint.js';

/** What every adapter's client has: where, how, the kit's errors and calls. An engine's client adds its own transports. @internal */
export interface AdapterBase {
  /** Engine name for errors and logs: `docker`, `containerd`, `cri`. */
  readonly engine: string;
  /** The endpoint as a URL-ish string. */
  readonly endpoint: string;
  readonly settings: AdapterSettings;
  readonly errors: EngineErrors;
  readonly calls: EngineCalls;
  /** The engine's PID, when the caller told it. */
  readonly pid: number | undefined;
}

/** How an engine's adapter base is made. @internal */
export interface AdapterBaseSpec {
  readonly terms: EngineTerms;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /** The engine's default of `concurrency`. */
  readonly concurrency: number;
  /** The engine's default of `resyncInterval` in ms. */
  readonly resyncInterval: number;
  /** The engine's error mapper. */
  readonly toError: (err: unknown, endpoint: string, what: string) => EngineError;
  /** True when a call failed because its container is gone. */
  readonly isNotFound: (err: unknown) => boolean;
}

/** The settings, errors and calls of one adapter, made the same way for every engine. @internal */
export function adapterBase(options: AdapterOptions, spec: AdapterBaseSpec): AdapterBase {
  const settings = adapterSettings(options, { concurrency: spec.concurrency, engine: spec.terms.engine, resyncInterval: spec.resyncInterval });
  const { endpoint, toError } = spec;
  const errors = engineErrors(spec.terms, endpoint);
  const calls = engineCalls({
    errors,
    scheduler: settings.scheduler,
    requestTimeout: settings.requestTimeout,
    toError: (err, what) => toError(err, endpoint, what),
    isNotFound: spec.isNotFound,
  });
  return { engine: spec.terms.engine, endpoint, settings, errors, calls, pid: options.pid };
}

/**
 * The four parts of an engine adapter, each a function of the engine's
 * client. Everything else (order, concurrency, the start → inspect →
 * `started` step, the adapter's shape) is the kit's.
 * @internal
 */
export interface AdapterParts<C extends AdapterBase, H extends StartHint> {
  /**
   * Raw events: `listening` once the engine accepted the subscription, then events and start hints in the engine's order. Cold.
   * `lease` is the stream's share of the client's {@link EventReplay} (where to ask the engine to replay from); engines
   * that cannot replay ignore it.
   */
  rawEvents(client: C, lease: ReplayLease): Observable<RawFeed<H>>;
  /**
   * The list: the alive containers, emitted once, with a `gap` naming those
   * whose inspection alone failed. Cold. `previous` (a relist only): the
   * picture the watcher shows; a container of it may stand for a list entry
   * that shows it unchanged, instead of an inspection.
   */
  list(client: C, previous?: Portfolio): Observable<ContainerList>;
  /**
   * For an engine whose list cannot show a restart that kept the container's
   * id (Docker: same id, new PID, and the list has no PID): every this many
   * relists, and at the first list after the event stream was (re)opened (a
   * gap in which the restart's events may be lost), the list gets no
   * `previous` and inspects every container. Absent: `previous` is always
   * passed on (the engine's list shows every change of identity).
   */
  readonly fullRelistEvery?: number;
  /** Inspects one started container: the alive container, or `null` when it is gone or not alive. Cold. */
  inspect(client: C, hint: H): Observable<Container | null>;
  /** The engine's identity: cold, one answer; unsubscribing cancels the calls. */
  info(client: C): Observable<EngineInfo>;
  /** Optional: how a container that is gone ended, asked after the fact (`null`: the engine no longer knows). Cold. */
  exit?(client: C, id: string): Observable<ExitDetails | null>;
}

/**
 * An {@link EngineAdapter} from an engine's client (whose `dispose` releases
 * it) and its four parts. A client with a `replay` (an engine whose event
 * stream can replay the past) hands each event stream a lease of it: replayed
 * duplicates are dropped before their starts are inspected, and what the
 * stream emits is recorded. Every container it lists or inspects carries the
 * engine's `EngineInfo` (`Container.engine`): asked once per event stream (an
 * engine restarted meanwhile may have another version), in parallel with the
 * stream and the list, so the first list waits for the slower of the two, not
 * for both; one new object per container entering the picture, none per event
 * (a relist's reused containers already carry it and stay as they are).
 *
 * @internal
 */
export function defineAdapter<C extends AdapterBase & { dispose(): void; readonly replay?: EventReplay }, H extends StartHint>(client: C, parts: AdapterParts<C, H>): EngineAdapter {
  const selectors = client.settings.labels;
  // The engine's identity for the current event stream: asked when the stream opens, shared by
  // the list and the inspections of that session (an error is not kept: the next ask retries).
  let identity$: Observable<EngineInfo> | undefined;
  // The identity last answered, kept as the same object while the engine says the same: containers a relist reuses
  // keep their object identity, and a list made while no event stream is open asks for it only the first time.
  let known: EngineInfo | undefined;
  // Event streams open now (each holds the shared ask of its identity while it is open).
  let streams = 0;
  const freshIdentity = (): Observable<EngineInfo> =>
    (identity$ = defer(() => parts.info(client)).pipe(
      map((info) => (known !== undefined && sameEngine(known, info) ? known : (known = info))),
      share({ connector: () => new ReplaySubject<EngineInfo>(1), resetOnError: true, resetOnComplete: false, resetOnRefCountZero: true }),
    ));
  const identity = (): Observable<EngineInfo> => (streams === 0 && known !== undefined ? of(known) : (identity$ ?? freshIdentity()));
  const stamp = (c: Container): Observable<Container> => identity().pipe(map((info) => withEngine(c, info)));
  const stampAll = (all: ContainerList): Observable<ContainerList> => {
    const gap = all.gap;
    if (all.length === 0 && gap === undefined) return of(all);
    // what a gap's reinspection brings is stamped the same way
    return identity().pipe(map((info) => mapContainerList(all, (c) => withEngine(c, info))));
  };
  // what the engine could not filter itself is filtered here: a start of a container that does not match yields nothing
  const inspectRaw =
    selectors.length === 0
      ? (hint: H) => parts.inspect(client, hint)
      : (hint: H) => parts.inspect(client, hint).pipe(map((c) => (c !== null && matchesLabels(c.labels, selectors) ? c : null)));
  const inspect = (hint: H) => inspectRaw(hint).pipe(concatMap((c) => (c === null ? of(null) : stamp(c))));
  const listRaw =
    selectors.length === 0
      ? (previous?: Portfolio) => parts.list(client, previous)
      : (previous?: Portfolio) =>
          // what is asked again is filtered the same way: a container that does not match is no container of the list
          parts.list(client, previous).pipe(map((all) => mapContainerList(all, (c) => (matchesLabels(c.labels, selectors) ? c : null))));
  // every container of a list carries the engine, also those a gap's reinspection brings later
  const list = (previous?: Portfolio): Observable<ContainerList> => listRaw(previous).pipe(concatMap(stampAll));
  const fullEvery = parts.fullRelistEvery;
  // relists since the last full list (counted only when fullEvery is set); a new event stream wants a full one
  let sinceFull = 0;
  let fullDue = true;
  const snapshot = (previous?: Portfolio): Observable<ContainerList> =>
    defer(() => {
      if (fullEvery === undefined) return list(previous);
      if (previous === undefined || fullDue || ++sinceFull >= fullEvery) {
        fullDue = false;
        sinceFull = 0;
        return list(undefined);
      }
      return list(previous);
    });
  const starts = resolveStarts<H>(inspect, client.settings.concurrency);
  const exit = parts.exit;
  const replay = client.replay;
  const { scheduler } = client.settings;
  const replayed = (memory: EventReplay): Observable<EngineFeed> =>
    defer(() => {
      const lease = memory.open(scheduler.now());
      return parts.rawEvents(client, lease).pipe(
        filter((item) => lease.fresh(item)),
        starts,
        tap((item) => lease.delivered(item)),
        finalize(() => lease.release(scheduler.now())),
      );
    });
  const adapter: EngineAdapter = {
    engine: client.engine,
    endpoint: client.endpoint,
    requestTimeout: client.settings.requestTimeout,
    events: (): Observable<EngineFeed> =>
      defer(() => {
        // a new event stream: the gap before it may have lost a restart's events, so the next list is a full one
        fullDue = true;
        // the identity is asked at once, so that it runs while the stream opens and the list is made, and held while
        // the stream is open (closing it cancels a call still in flight); its failure shows where it is used
        streams += 1;
        const early = freshIdentity().subscribe({ error: () => undefined });
        const feed$ = replay === undefined ? parts.rawEvents(client, NO_REPLAY).pipe(starts) : replayed(replay);
        return feed$.pipe(
          finalize(() => {
            streams -= 1;
            early.unsubscribe();
          }),
        );
      }),
    snapshot,
    resyncInterval: client.settings.resyncInterval,
    info: () => firstValueFrom(defer(() => parts.info(client))),
    ...(exit === undefined ? {} : { exitDetails: (id: string) => exit(client, id) }),
    dispose: () => client.dispose(),
  };
  IDENTITIES.set(adapter, () => identity$ ?? freshIdentity());
  return adapter;
}

/** True when two answers of an engine's identity say the same. */
function sameEngine(a: EngineInfo, b: EngineInfo): boolean {
  return a.id === b.id && a.type === b.type && a.version === b.version && a.api === b.api && a.pid === b.pid && a.product === b.product;
}

/** The identity of each adapter made by {@link defineAdapter}: its current event stream's, shared. */
const IDENTITIES = new WeakMap<EngineAdapter, () => Observable<EngineInfo>>();

/**
 * The engine's `EngineInfo` as the containers of an adapter made by
 * {@link defineAdapter} carry it: the answer its current event stream asked
 * for (no round trip of its own once that is in), or a new ask when no
 * stream is open. Cold, one value; undefined for other adapters.
 *
 * @internal
 */
export function adapterIdentity(adapter: EngineAdapter): Observable<EngineInfo> | undefined {
  const identity = IDENTITIES.get(adapter);
  return identity === undefined ? undefined : defer(identity).pipe(take(1));
}
