import { Observable, type SchedulerLike, type Subscriber, asyncScheduler, of } from 'rxjs';
import type { EngineAdapter, EngineEvent, EngineFeed, EngineInfo, ExitDetails } from '../core/engine.js';
import { EngineError } from '../errors.js';
import { type Container, type ContainerHealth, type ContainerInit, newContainer, withHealth, withName, withPaused } from '../model/container.js';

/**
 * Options of {@link fakeEngine}.
 *
 * @example
 * ```ts
 * import { fakeEngine, type FakeEngineOptions } from 'whalewatcher/testing';
 * const options: FakeEngineOptions = {
 *   engine: 'docker',
 *   containers: [{ id: 'c1', name: 'shop-web-1', pid: 4242, labels: { 'com.docker.compose.project': 'shop' } }],
 *   info: { product: 'podman', version: '5.4.2' },
 * };
 * const fake = fakeEngine(options);
 * console.log(fake.containers.length, (await fake.adapter.info()).product); // 1 podman
 * ```
 */
export interface FakeEngineOptions {
  /** The adapter's engine name, in errors and logs (default `fake`). */
  readonly engine?: string;
  /** The adapter's endpoint (default `memory://fake`). */
  readonly endpoint?: string;
  /** The containers alive from the start (listed by the first `snapshot()`, no events for them). */
  readonly containers?: readonly ContainerInit[];
  /** What `adapter.info()` answers; the defaults fill in what is left out (type `docker.com`, version `0.0.0`). */
  readonly info?: Partial<EngineInfo>;
  /** The clock of the event times (`scheduler.now()`); give the watcher's `TestScheduler` in virtual-time tests. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * A scripted engine in memory, for testing code that uses a watcher
 * without any container engine: `watch(fake.adapter)` behaves as over a real
 * one (the event stream says `listening`, then the watcher lists; events in
 * the order you make them; failures and reconnects), and every method changes
 * the engine's truth and tells the open event streams at once, synchronously.
 * Events that happen while no event stream is open are lost, as with a real
 * engine, and the next list shows their outcome.
 *
 * @example
 * ```ts
 * import { watch } from 'whalewatcher';
 * import { fakeEngine, type FakeEngine } from 'whalewatcher/testing';
 * const fake: FakeEngine = fakeEngine();
 * const ww = watch(fake.adapter);
 * await ww.ready;
 * fake.start({ id: 'c1', name: 'web', pid: 4242 }); // the watcher sees it at once
 * console.log(ww.portfolio.total, fake.streams); // 1 1
 * fake.exit('c1', { code: 0 });
 * console.log(ww.portfolio.total); // 0
 * await ww.close();
 * console.log(fake.streams, fake.disposed); // 0 true
 * ```
 */
export interface FakeEngine {
  /** The adapter to give to `watch`: cold, like a real one (each `events()` subscription is a stream of its own; unsubscribing closes it). */
  readonly adapter: EngineAdapter;
  /** The engine's truth: the alive containers, in the order they started. */
  readonly containers: readonly Container[];
  /** How many event streams are open now (0 once the watcher is closed or disconnected). */
  readonly streams: number;
  /** How many lists were asked for and not delivered yet (held by {@link FakeEngine.holdList}). */
  readonly pendingLists: number;
  /** True once `adapter.dispose()` was called. */
  readonly disposed: boolean;
  /** Starts a container (a `started` event); throws when its id is alive already. Returns the container as the engine reports it. */
  start(init: ContainerInit): Container;
  /** Ends an alive container (an `exited` event with `exit`, which `adapter.exitDetails` answers later too); throws for an unknown id. */
  exit(id: string, exit?: ExitDetails): void;
  /** Pauses an alive, running container (a `paused` event); throws when it is unknown or paused already. */
  pause(id: string): void;
  /** Unpauses a paused container (an `unpaused` event); throws when it is unknown or not paused. */
  unpause(id: string): void;
  /** Renames an alive container (a `renamed` event); throws for an unknown id. */
  rename(id: string, name: string): void;
  /** Sets the health check result of an alive container (a `health` event); throws for an unknown id. */
  health(id: string, health: ContainerHealth): void;
  /**
   * Breaks every open event stream with `error` (default: an `EngineError` of
   * code `unreachable`), as when the engine goes away: the watcher goes
   * `degraded` and reconnects after its backoff; the next `events()`
   * subscription works again (unless {@link FakeEngine.refuse} says otherwise).
   */
  disconnect(error?: EngineError): void;
  /**
   * Makes the next `count` subscriptions to `events()` fail at once with
   * `error` (default: an `EngineError` of code `unreachable`), as an engine
   * that is down: the watcher stays `degraded` and retries. `Infinity` keeps
   * it down, `0` brings it back; open streams are not touched (see
   * {@link FakeEngine.disconnect}).
   */
  refuse(count: number, error?: EngineError): void;
  /**
   * Holds the lists: a list asked for from now on is read when asked (or, with
   * `{ read: 'released' }`, when released) but delivered only when the returned
   * function is called (and every other hold is released too). Events made in
   * between happen "during the list": exit during the list (`read: 'asked'`,
   * the list still has the container), start seen by both the events and the
   * list (`read: 'released'`). The release function is idempotent.
   */
  holdList(options?: { readonly read?: 'asked' | 'released' }): () => void;
}

/** A list asked for and not delivered yet. */
interface PendingList {
  readonly subscriber: Subscriber<readonly Container[]>;
  /** What the list says, when it was read at the time it was asked. */
  readonly asked: readonly Container[];
  /** True when the list is read at release instead. */
  readonly readAtRelease: boolean;
}

/**
 * Makes a {@link FakeEngine}: an engine in memory whose containers and
 * failures you script, for tests of your code that runs a watcher. No I/O and
 * no timers: it works with real time and under `TestScheduler` alike.
 *
 * @example
 * ```ts
 * import { watch } from 'whalewatcher';
 * import { fakeEngine } from 'whalewatcher/testing';
 * const fake = fakeEngine({ containers: [{ id: 'c1', name: 'web', pid: 4242 }] });
 * const ww = watch(fake.adapter, { retry: 1 });
 * await ww.ready;
 * fake.pause('c1');
 * console.log(ww.portfolio.container('web')?.paused); // true
 * fake.disconnect(); // the watcher goes degraded and reconnects after 1 ms
 * await ww.close();
 * console.log(fake.streams); // 0
 * ```
 */
export function fakeEngine(options: FakeEngineOptions = {}): FakeEngine {
  const engine = options.engine ?? 'fake';
  const endpoint = options.endpoint ?? 'memory://fake';
  const scheduler = options.scheduler ?? asyncScheduler;
  const info: EngineInfo = { id: engine, type: 'docker.com', version: '0.0.0', api: endpoint, ...options.info };
  // The alive containers by id, in the order they started (the engine's truth).
  const alive = new Map<string, Container>();
  // How the containers that exited ended, for exitDetails (by id; the latest exit wins).
  const exits = new Map<string, ExitDetails>();
  // The open event streams.
  const streams = new Set<Subscriber<EngineFeed>>();
  // Lists asked for while held, in the order asked.
  const pending: PendingList[] = [];
  // How many holds are in force.
  let holds = 0;
  // How many of the holds in force read their lists at release.
  let readAtRelease = 0;
  // How many more events() subscriptions fail at once, and with what.
  let refusals = 0;
  let refusal: EngineError | undefined;
  let disposed = false;

  for (const init of options.containers ?? []) {
    const c = newContainer(init);
    if (alive.has(c.id)) throw new Error(`fakeEngine: container ${c.id} given twice`);
    alive.set(c.id, c);
  }

  const unreachable = (what: string): EngineError => new EngineError(engine, 'unreachable', `${engine} at ${endpoint}: ${what}`, { endpoint });
  const emit = (event: EngineEvent): void => {
    for (const s of [...streams]) s.next(event);
  };
  const known = (id: string, what: string): Container => {
    const c = alive.get(id);
    if (c === undefined) throw new Error(`fakeEngine: cannot ${what} ${id}: no such alive container`);
    return c;
  };
  const update = (c: Container): Container => {
    alive.set(c.id, c);
    return c;
  };

  const adapter: EngineAdapter = {
    engine,
    endpoint,
    events: () =>
      new Observable<EngineFeed>((subscriber) => {
        if (refusals > 0) {
          refusals -= 1;
          subscriber.error(refusal ?? unreachable('connection refused'));
          return;
        }
        streams.add(subscriber);
        subscriber.next({ type: 'listening' });
        return () => {
          streams.delete(subscriber);
        };
      }),
    snapshot: () =>
      new Observable<readonly Container[]>((subscriber) => {
        const asked = [...alive.values()];
        if (holds === 0) {
          subscriber.next(asked);
          subscriber.complete();
          return;
        }
        const entry: PendingList = { subscriber, asked, readAtRelease: readAtRelease > 0 };
        pending.push(entry);
        return () => {
          const i = pending.indexOf(entry);
          if (i >= 0) pending.splice(i, 1);
        };
      }),
    info: async () => info,
    exitDetails: (id: string) => of(exits.get(id) ?? null),
    dispose: () => {
      disposed = true;
    },
  };

  const deliver = (): void => {
    // each list leaves the queue before it is delivered: a delivery may ask for another list
    while (holds === 0 && pending.length > 0) {
      const entry = pending.shift()!;
      entry.subscriber.next(entry.readAtRelease ? [...alive.values()] : entry.asked);
      entry.subscriber.complete();
    }
  };

  return {
    adapter,
    get containers() {
      return [...alive.values()];
    },
    get streams() {
      return streams.size;
    },
    get pendingLists() {
      return pending.length;
    },
    get disposed() {
      return disposed;
    },
    start(init) {
      const c = newContainer(init);
      if (alive.has(c.id)) throw new Error(`fakeEngine: cannot start ${c.id}: it is alive already`);
      alive.set(c.id, c);
      emit({ type: 'started', container: c, time: scheduler.now() });
      return c;
    },
    exit(id, exit) {
      known(id, 'exit');
      alive.delete(id);
      exits.set(id, exit ?? {});
      emit(exit === undefined ? { type: 'exited', id, time: scheduler.now() } : { type: 'exited', id, time: scheduler.now(), exit });
    },
    pause(id) {
      const c = known(id, 'pause');
      if (c.paused) throw new Error(`fakeEngine: cannot pause ${id}: it is paused already`);
      update(withPaused(c, true));
      emit({ type: 'paused', id, time: scheduler.now() });
    },
    unpause(id) {
      const c = known(id, 'unpause');
      if (!c.paused) throw new Error(`fakeEngine: cannot unpause ${id}: it is not paused`);
      update(withPaused(c, false));
      emit({ type: 'unpaused', id, time: scheduler.now() });
    },
    rename(id, name) {
      update(withName(known(id, 'rename'), name));
      emit({ type: 'renamed', id, name, time: scheduler.now() });
    },
    health(id, health) {
      update(withHealth(known(id, 'set the health of'), health));
      emit({ type: 'health', id, health, time: scheduler.now() });
    },
    disconnect(error) {
      const e = error ?? unreachable('connection lost');
      for (const s of [...streams]) {
        streams.delete(s);
        s.error(e);
      }
    },
    refuse(count, error) {
      refusals = count;
      refusal = error;
    },
    holdList(holdOptions = {}) {
      const atRelease = holdOptions.read === 'released';
      holds += 1;
      if (atRelease) readAtRelease += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds -= 1;
        if (atRelease) readAtRelease -= 1;
        deliver();
      };
    },
  };
}
