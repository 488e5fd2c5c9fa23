// The host view: one watcher per discovered engine, one merged picture. Pure
// RxJS wiring over three injected parts (discovery, a watcher per engine, a
// process's ancestry), so that its timing (rediscovery, the grace period, the
// synthetic exits of an engine that went away) runs under TestScheduler.
// watch-host.ts wires the real parts.

import { BehaviorSubject, EMPTY, Observable, type SchedulerLike, Subject, type Subscription, asapScheduler, asyncScheduler, distinctUntilChanged, map, take, timer } from 'rxjs';
import type { EngineInfo } from '../core/engine.js';
import type { LifecycleEvent, WatcherStatus } from '../core/fold.js';
import type { Watcher } from '../core/watcher.js';
import { latestPerBurst } from '../core/operators/latest-per-burst.js';
import { replayThenLive } from '../core/replay-then-live.js';
import type { DiscoveredEngine, Discovery } from '../discovery/discover-engines.js';
import { engineInfo } from '../engines/common/engine-info.js';
import { type Container, withEngine, withLabel } from '../model/container.js';

/**
 * Label set on the containers of an engine that runs inside a container of
 * another watched engine: the enclosing container's name, prefixed with its
 * own prefix and `/` when that engine is nested too (`outer/inner`). The same
 * name and value as the label turtlefinder (siemens/turtlefinder) sets.
 *
 * @example
 * ```ts
 * import { PREFIX_LABEL, watchHost } from 'whalewatcher';
 * const host = watchHost();
 * await host.ready;
 * // the containers of engines that run inside another engine's container, with that container's name
 * for (const c of host.containers) if (c.labels[PREFIX_LABEL] !== undefined) console.log(`${c.labels[PREFIX_LABEL]}: ${c.name}`);
 * await host.close();
 * ```
 */
export const PREFIX_LABEL = 'turtlefinder/container/prefix';

/** Where a nested engine runs: the container of another watched engine its process descends from. *
 * @example
 * ```ts
 * import { watchHost } from 'whalewatcher';
 * const host = watchHost();
 * await host.ready;
 * for (const e of host.engines) if (e.parent) console.log(`${e.key} runs in ${e.parent.container} of ${e.parent.key}`);
 * await host.close();
 * ```
 */
export interface HostEngineParent {
  /** The {@link HostEngine.key} of the engine of the enclosing container. */
  readonly key: string;
  /** That engine's identity. */
  readonly engine: EngineInfo;
  /** The enclosing container's id. */
  readonly containerId: string;
  /** The enclosing container's name. */
  readonly container: string;
  /** The value of {@link PREFIX_LABEL} on this engine's containers. */
  readonly prefix: string;
}

/** One engine of a {@link HostWatcher}: a snapshot, replaced in `engines$` whenever something of it changes. *
 * @example
 * ```ts
 * import { watchHost } from 'whalewatcher';
 * const host = watchHost();
 * host.engines$.subscribe((engines) => {
 *   for (const e of engines) console.log(e.info.product ?? e.info.type, e.info.api, e.status.state);
 * });
 * await host.ready;
 * await host.close();
 * ```
 */
export interface HostEngine {
  /** Stable for the engine's life in the host view: its type and endpoint (`containerd.io unix:///run/containerd/containerd.sock`). */
  readonly key: string;
  /**
   * The engine's identity, the same object its containers carry in
   * `Container.engine` once its watcher has synchronised; before that,
   * what discovery learnt (no Docker id yet).
   */
  readonly info: EngineInfo;
  /** How discovery found it (the first time). */
  readonly discovered: DiscoveredEngine;
  /** The engine's own watcher (do not close it: the host view does). */
  readonly watcher: Watcher;
  /** The watcher's status when this snapshot was made. */
  readonly status: WatcherStatus;
  /** Scheduler time (ms) since when discovery has no longer found the engine; absent while it is found. */
  readonly missingSince?: number;
  /** The container of another watched engine this engine runs in, when it does. */
  readonly parent?: HostEngineParent;
}

/**
 * Every engine of a host, watched at once: one merged, always-current
 * picture of all their alive containers and one lifecycle stream. Hot from
 * creation until {@link HostWatcher.close}.
 *
 * @example
 * ```ts
 * import { watchHost } from 'whalewatcher';
 * const host = watchHost();
 * // every engine's events, each telling its engine: no hand-tagging
 * host.lifecycle$.subscribe((e) => console.log(e.engine?.product ?? e.engine?.type, e.type, e.container.name));
 * await host.ready;
 * console.log(`${host.containers.length} containers alive on ${host.engines.length} engines`);
 * await host.close();
 * ```
 */
export interface HostWatcher extends AsyncDisposable {
  /** The engines watched now, in the order they were found. */
  readonly engines: readonly HostEngine[];
  /** The engines, current value first, then on every change (an engine found or dropped, a status, identity or nesting change). */
  readonly engines$: Observable<readonly HostEngine[]>;
  /** All alive containers of all engines, each with its `engine`. */
  readonly containers: readonly Container[];
  /**
   * All alive containers, current value first, then on a change of any
   * engine's picture: a change that comes alone at once, of a burst the first
   * and the last merged array (each costs one pass over all engines' containers).
   */
  readonly containers$: Observable<readonly Container[]>;
  /**
   * Every engine's lifecycle, each event with its `engine`: a new subscriber
   * first gets a synthetic `started` for every alive container, then the
   * changes, with no gap and no duplicate; an engine dropped after its grace
   * period ends each of its containers with a synthetic `exited`.
   */
  readonly lifecycle$: Observable<LifecycleEvent>;
  /** The latest discovery (undefined until the first one is done): what was found, what could not be read, what did not answer. */
  readonly discovery: Discovery | undefined;
  /**
   * Resolves once every engine the first discovery found has synchronised
   * once, or was given up on (its first connection failed, its watcher
   * stopped, or it was dropped). Never rejects.
   */
  readonly ready: Promise<void>;
  /** Asks for a discovery now (besides the periodic ones): new engines are watched, missing ones start their grace period. */
  rediscover(): void;
  /** Closes every engine's watcher and completes all observables. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** The parts a {@link hostWatcher} runs on. @internal */
export interface HostParts {
  /** One discovery: emits once and completes. */
  discover(): Observable<Discovery>;
  /** Starts watching one discovered engine; `identity` gives the EngineInfo its containers carry (when it can). Throws when it cannot. */
  watch(engine: DiscoveredEngine): { readonly watcher: Watcher; readonly identity?: (() => Observable<EngineInfo>) | undefined };
  /** `pid` and its ancestors, nearest first. Emits once. */
  ancestry(pid: number): Observable<readonly number[]>;
}

/** The timing of a {@link hostWatcher}. @internal */
export interface HostTiming {
  /** ms between periodic discoveries; 0 or Infinity: none. */
  readonly rediscoverInterval: number;
  /** ms an engine may be missing from discovery (and not live) before it is dropped. */
  readonly goneGrace: number;
  /** Only engines this accepts are watched. */
  readonly filter?: ((engine: DiscoveredEngine) => boolean) | undefined;
  readonly scheduler?: SchedulerLike | undefined;
}

/** What the host view keeps of one engine. */
interface Entry {
  readonly key: string;
  readonly discovered: DiscoveredEngine;
  readonly watcher: Watcher;
  readonly identity: (() => Observable<EngineInfo>) | undefined;
  info: EngineInfo;
  status: WatcherStatus;
  missingSince: number | undefined;
  parent: HostEngineParent | undefined;
  /** The engine process and its ancestors, nearest first, once read. */
  ancestry: readonly number[] | undefined;
  /** The containers as the host view shows them (engine stamped, prefix label), by the engine's own object. */
  decorated: WeakMap<Container, Container>;
  /** The engine's containers (its watcher's objects) delivered on lifecycle$ and not exited since, by id: what a new subscriber's replay and a drop's exits are made of. */
  readonly delivered: Map<string, Container>;
  /** The engine's watcher's subscriptions and the ancestry ask. */
  readonly subscriptions: Subscription[];
  /** The latest ask of the engine's identity (one at a time: a new one, after a reconnect, replaces it). */
  identityAsk: Subscription | undefined;
  grace: Subscription | undefined;
  /** Counted once for `ready` (synced, failed or dropped). */
  settled: boolean;
  snapshot: HostEngine | undefined;
}

/** The key of an engine in the host view. */
function keyOf(engine: DiscoveredEngine): string {
  return `${engine.type} ${engine.endpoint}`;
}

/**
 * The host view over `parts`. See {@link HostWatcher}.
 *
 * @internal
 */
export function hostWatcher(parts: HostParts, timing: HostTiming): HostWatcher {
  const scheduler = timing.scheduler ?? asyncScheduler;
  // The engines watched now, in the order they were found.
  const entries = new Map<string, Entry>();
  const engines$ = new BehaviorSubject<readonly HostEngine[]>(Object.freeze([]));
  // The merged picture is made when read (containers, containers$), at most once per change: a change
  // costs O(1) until someone reads; reading after it costs one pass over the engines' containers.
  const changed$ = new BehaviorSubject<number>(0);
  let merged: { readonly version: number; readonly containers: readonly Container[] } = { version: 0, containers: Object.freeze([]) };
  const changes$ = new Subject<LifecycleEvent>();
  // The watchers of dropped engines still closing (close() waits for them).
  const closing = new Set<Promise<void>>();
  let discovery: Discovery | undefined;
  let closed = false;
  // A discovery is running; `again`: another was asked for meanwhile.
  let discovering = false;
  let again = false;
  let current: Subscription | undefined;

  // ready: the engines of the first discovery, until each settled
  let firstDone = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const checkReady = (): void => {
    if (firstDone && [...entries.values()].every((e) => e.settled)) resolveReady();
  };
  const settle = (e: Entry): void => {
    if (e.settled) return;
    e.settled = true;
    checkReady();
  };

  // --- the merged picture

  const decorate = (e: Entry, c: Container): Container => {
    // the common case: an engine of its own (not nested) whose adapter stamped its containers: nothing to do, nothing to remember
    if (e.parent === undefined && c.engine !== undefined) return c;
    const known = e.decorated.get(c);
    if (known !== undefined) return known;
    let out = c.engine === undefined ? withEngine(c, e.info) : c;
    if (e.parent !== undefined) out = withLabel(out, PREFIX_LABEL, e.parent.prefix);
    e.decorated.set(c, out);
    return out;
  };

  const decorateEvent = (e: Entry, event: LifecycleEvent): LifecycleEvent => {
    const container = decorate(e, event.container);
    return container === event.container && event.engine === container.engine ? event : Object.freeze({ ...event, container, engine: container.engine as EngineInfo });
  };

  const publishContainers = (): void => {
    if (!closed) changed$.next(changed$.value + 1);
  };
  const currentContainers = (): readonly Container[] => {
    const version = changed$.value;
    if (merged.version === version) return merged.containers;
    const all: Container[] = [];
    for (const e of entries.values()) for (const c of e.watcher.portfolio.containers) all.push(decorate(e, c));
    merged = { version, containers: Object.freeze(all) };
    return merged.containers;
  };

  const snapshotOf = (e: Entry): HostEngine => {
    const s = e.snapshot;
    if (s !== undefined && s.info === e.info && s.status === e.status && s.missingSince === e.missingSince && s.parent === e.parent) return s;
    const next: HostEngine = Object.freeze({
      key: e.key,
      info: e.info,
      discovered: e.discovered,
      watcher: e.watcher,
      status: e.status,
      ...(e.missingSince === undefined ? {} : { missingSince: e.missingSince }),
      ...(e.parent === undefined ? {} : { parent: e.parent }),
    });
    e.snapshot = next;
    return next;
  };
  const publishEngines = (): void => {
    if (closed) return;
    const next = [...entries.values()].map(snapshotOf);
    const shown = engines$.value;
    // a rediscovery that changed nothing publishes nothing
    if (next.length === shown.length && next.every((x, i) => x === shown[i])) return;
    engines$.next(Object.freeze(next));
  };

  // --- nesting

  /** Finds each engine's enclosing container (closest ancestor first); republishes what changed. */
  const resolveParents = (): void => {
    if (closed) return;
    const byPid = new Map<number, { entry: Entry; container: Container }>();
    for (const e of entries.values()) for (const c of e.watcher.portfolio.containers) if (!byPid.has(c.pid)) byPid.set(c.pid, { entry: e, container: c });
    const enclosing = (e: Entry): { entry: Entry; container: Container } | undefined => {
      for (const pid of e.ancestry ?? []) {
        const hit = byPid.get(pid);
        if (hit !== undefined && hit.entry !== e && hit.entry.discovered.pid !== e.discovered.pid) return hit;
      }
      return undefined;
    };
    // prefixes of nested engines depend on their parents' prefixes: resolve recursively, each once
    const resolved = new Map<Entry, HostEngineParent | undefined>();
    const visiting = new Set<Entry>();
    const parentOf = (e: Entry): HostEngineParent | undefined => {
      if (resolved.has(e)) return resolved.get(e);
      if (visiting.has(e)) return undefined; // a cycle cannot be nesting
      visiting.add(e);
      const hit = enclosing(e);
      let parent: HostEngineParent | undefined;
      if (hit !== undefined) {
        const outer = parentOf(hit.entry);
        const prefix = outer === undefined ? hit.container.name : `${outer.prefix}/${hit.container.name}`;
        const same = e.parent !== undefined && e.parent.key === hit.entry.key && e.parent.containerId === hit.container.id && e.parent.prefix === prefix && e.parent.engine === hit.entry.info;
        parent = same ? e.parent : Object.freeze({ key: hit.entry.key, engine: hit.entry.info, containerId: hit.container.id, container: hit.container.name, prefix });
      }
      visiting.delete(e);
      resolved.set(e, parent);
      return parent;
    };
    let changed = false;
    for (const e of entries.values()) {
      const parent = parentOf(e);
      if (parent !== e.parent) {
        if (parent?.prefix !== e.parent?.prefix) e.decorated = new WeakMap();
        e.parent = parent;
        changed = true;
      }
    }
    if (changed) {
      publishContainers();
      publishEngines();
    }
  };

  // --- engines coming and going

  const add = (d: DiscoveredEngine): void => {
    const key = keyOf(d);
    let started: ReturnType<HostParts['watch']>;
    try {
      started = parts.watch(d);
    } catch {
      return; // an engine no watcher can be made for (bad endpoint): not watched
    }
    const { watcher } = started;
    const e: Entry = {
      key,
      discovered: d,
      watcher,
      identity: started.identity,
      info: engineInfo({ id: d.id ?? '', type: d.type, version: d.version, api: d.endpoint, pid: d.pid, product: d.product }),
      status: watcher.status,
      missingSince: undefined,
      parent: undefined,
      ancestry: undefined,
      decorated: new WeakMap(),
      delivered: new Map(),
      subscriptions: [],
      identityAsk: undefined,
      grace: undefined,
      settled: false,
      snapshot: undefined,
    };
    entries.set(key, e);
    // The state of the status before the current one (none before the first).
    let previous: WatcherStatus['state'] | undefined;
    // the picture first, then the changes that made it (a watcher emits its portfolio before its lifecycle)
    e.subscriptions.push(watcher.portfolio$.subscribe(() => entries.get(key) === e && publishContainers()));
    e.subscriptions.push(
      watcher.status$.pipe(distinctUntilChanged()).subscribe((status) => {
        if (entries.get(key) !== e) return;
        const was = previous;
        previous = status.state;
        e.status = status;
        publishEngines();
        if (status.state === 'live' && was !== 'live') {
          settle(e);
          askIdentity(e);
          resolveParents();
        } else if (status.state === 'degraded' || status.state === 'stopped') {
          settle(e); // given up on, for `ready`: its first connection failed
          // an engine whose process went away fails its stream: look again at once
          if (was !== 'degraded' && was !== 'stopped') discoverNow();
        }
      }),
    );
    // The engine's lifecycle, once its ancestry is known (its first events then carry its nesting
    // where the enclosing engine is synchronised already); the watcher replays what is alive by then.
    const forward = (): void => {
      e.subscriptions.push(
        watcher.lifecycle$.subscribe((event) => {
          if (entries.get(key) !== e) return;
          if (event.engine !== undefined && event.engine !== e.info) setInfo(e, event.engine);
          if (event.type === 'exited') e.delivered.delete(event.container.id);
          else e.delivered.set(event.container.id, event.container);
          changes$.next(decorateEvent(e, event));
        }),
      );
    };
    if (d.pid === undefined) forward();
    else {
      const asked = parts.ancestry(d.pid).pipe(take(1)).subscribe({
        next: (chain) => {
          e.ancestry = chain;
          resolveParents();
        },
        error: () => undefined, // no ancestry: not nested, as far as the host view can tell
      });
      // forward once the ask is over, answered or not (not when the engine was dropped meanwhile)
      asked.add(() => entries.get(key) === e && !closed && forward());
      e.subscriptions.push(asked);
    }
    publishEngines();
  };

  const setInfo = (e: Entry, info: EngineInfo): void => {
    if (e.info === info) return;
    e.info = info;
    e.decorated = new WeakMap();
    if (e.watcher.portfolio.total > 0) publishContainers();
    publishEngines();
  };

  const askIdentity = (e: Entry): void => {
    if (e.identity === undefined) return;
    e.identityAsk?.unsubscribe();
    e.identityAsk = e.identity().pipe(take(1)).subscribe({
      next: (info) => entries.get(e.key) === e && setInfo(e, info),
      error: () => undefined, // the watcher shows engine trouble in its status
    });
  };

  /** Removes an engine: its containers leave the picture, then lifecycle$ tells each exit. */
  const drop = (e: Entry): void => {
    if (entries.get(e.key) !== e) return;
    entries.delete(e.key);
    e.grace?.unsubscribe();
    e.identityAsk?.unsubscribe();
    for (const s of e.subscriptions) s.unsubscribe();
    publishContainers();
    publishEngines();
    const time = new Date(scheduler.now());
    for (const raw of e.delivered.values()) {
      const container = decorate(e, raw);
      changes$.next(Object.freeze({ type: 'exited', container, time, synthetic: true, engine: container.engine as EngineInfo }));
    }
    e.delivered.clear();
    const done = e.watcher.close().catch(() => undefined);
    closing.add(done);
    void done.then(() => closing.delete(done));
    settle(e);
    checkReady();
  };

  const graceOver = (e: Entry): void => {
    e.grace = undefined;
    if (entries.get(e.key) !== e || e.missingSince === undefined) return;
    // still live: discovery missed an engine that answers its watcher (a slow probe); keep it
    if (e.status.state === 'live') {
      e.missingSince = undefined;
      publishEngines();
      return;
    }
    drop(e);
  };

  const apply = (found: Discovery): void => {
    if (closed) return;
    discovery = found;
    const seen = new Set<string>();
    for (const d of found.engines) {
      if (timing.filter !== undefined && !timing.filter(d)) continue;
      const key = keyOf(d);
      if (seen.has(key)) continue;
      seen.add(key);
      const e = entries.get(key);
      if (e === undefined) add(d);
      else if (e.missingSince !== undefined) {
        e.missingSince = undefined;
        e.grace?.unsubscribe();
        e.grace = undefined;
      }
    }
    const now = scheduler.now();
    for (const e of [...entries.values()]) {
      if (seen.has(e.key) || e.missingSince !== undefined) continue;
      e.missingSince = now;
      e.grace = timer(timing.goneGrace, scheduler).subscribe(() => graceOver(e));
    }
    publishEngines();
    resolveParents();
    if (!firstDone) {
      firstDone = true;
      checkReady();
    }
  };

  const discoverNow = (): void => {
    if (closed) return;
    if (discovering) {
      again = true;
      return;
    }
    discovering = true;
    again = false;
    const sub = parts.discover().pipe(take(1)).subscribe({
      next: apply,
      error: () => {
        // discovery says what it cannot read instead of failing; if it fails anyway, nothing is known more
        if (!firstDone && !closed) {
          firstDone = true;
          checkReady();
        }
      },
    });
    sub.add(() => {
      discovering = false;
      if (current === sub) current = undefined;
      if (!firstDone && !closed) {
        firstDone = true; // completed without an answer
        checkReady();
      }
      if (again && !closed) discoverNow();
    });
    if (!sub.closed) current = sub;
  };

  const interval = timing.rediscoverInterval;
  const periodic = interval > 0 && Number.isFinite(interval) ? timer(interval, interval, scheduler).subscribe(() => discoverNow()) : EMPTY.subscribe();
  discoverNow();

  // every engine's picture as delivered when the subscriber joins, then every change
  const lifecycle$ = replayThenLive(
    () => {
      const replay: Container[] = [];
      for (const e of entries.values()) for (const c of e.delivered.values()) replay.push(decorate(e, c));
      return replay;
    },
    changes$.pipe(map((c) => [c])),
    scheduler,
  );

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    periodic.unsubscribe();
    current?.unsubscribe();
    const watchers: Promise<void>[] = [...closing];
    for (const e of entries.values()) {
      e.grace?.unsubscribe();
      e.identityAsk?.unsubscribe();
      for (const s of e.subscriptions) s.unsubscribe();
      watchers.push(e.watcher.close().catch(() => undefined));
    }
    resolveReady();
    await Promise.all(watchers);
    engines$.complete();
    changed$.complete();
    changes$.complete();
  };

  return {
    get engines() {
      return engines$.value;
    },
    engines$: engines$.asObservable(),
    get containers() {
      return currentContainers();
    },
    // one merged array per change that comes alone, one more at the end of a burst (see latestPerBurst)
    containers$: changed$.pipe(latestPerBurst(timing.scheduler ?? asapScheduler), map(currentContainers)),
    lifecycle$,
    get discovery() {
      return discovery;
    },
    ready,
    rediscover: discoverNow,
    close,
    [Symbol.asyncDispose]: close,
  };
}
