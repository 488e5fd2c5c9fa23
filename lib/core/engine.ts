import type { Observable } from 'rxjs';
import type { EngineError } from '../errors.js';
import type { Container, ContainerHealth } from '../model/container.js';
import type { Portfolio } from '../model/portfolio.js';

import type { EngineInfo } from '../model/engine-info.js';

export type { EngineInfo, EngineType } from '../model/engine-info.js';

/**
 * How a container ended, as far as the engine told: all fields are optional,
 * since engines report different parts (and an exit the watcher only inferred
 * from a list may carry none).
 *
 * @example
 * ```ts
 * import { watchDocker, type ExitDetails } from 'whalewatcher';
 * const ww = watchDocker();
 * ww.lifecycle$.subscribe((e) => {
 *   const exit: ExitDetails | undefined = e.exit;
 *   if (e.type === 'exited') console.log(e.container.name, exit?.code, exit?.oomKilled ? 'OOM' : '');
 * });
 * ```
 */
export interface ExitDetails {
  /** The exit code of the container's initial process (137 for a kill by SIGKILL). */
  readonly code?: number;
  /** When it ended, by the engine's clock. */
  readonly time?: Date;
  /** True when the kernel's OOM killer ended it. */
  readonly oomKilled?: boolean;
  /** The engine's word for why (CRI `reason`, e.g. `Completed`, `Error`, `OOMKilled`). */
  readonly reason?: string;
}

/**
 * A normalised engine change. `time` is the engine's own timestamp in
 * milliseconds since the epoch (fractions allowed); adapters that have none
 * use the scheduler's `now()`.
 *
 * @example
 * ```ts
 * import { NEVER, concat, from } from 'rxjs';
 * import { newContainer, type EngineEvent, type EngineFeed } from 'whalewatcher';
 * // what an adapter's events() may emit: listening first, then engine events in the engine's order
 * const started: EngineEvent = { type: 'started', container: newContainer({ id: 'c1', name: 'web', pid: 4242 }), time: Date.now() };
 * const exited: EngineEvent = { type: 'exited', id: 'c1', time: Date.now(), exit: { code: 0 } };
 * const feed: EngineFeed[] = [{ type: 'listening' }, started, exited];
 * concat(from(feed), NEVER).subscribe((f) => console.log(f.type));
 * ```
 */
export type EngineEvent =
  | {
      /** The container became alive. */
      readonly type: 'started';
      /** The container, inspected by the adapter (with its PID). */
      readonly container: Container;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
    }
  | {
      /** The container's initial process ended (an exec's exit is not the container's). */
      readonly type: 'exited';
      /** The container's id. */
      readonly id: string;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
      /** How it ended, as far as the event says. */
      readonly exit?: ExitDetails;
    }
  | {
      /** The container was paused (frozen). */
      readonly type: 'paused';
      /** The container's id. */
      readonly id: string;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
    }
  | {
      /** The container was unpaused. */
      readonly type: 'unpaused';
      /** The container's id. */
      readonly id: string;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
    }
  | {
      /** The container was renamed. */
      readonly type: 'renamed';
      /** The container's id. */
      readonly id: string;
      /** The container's new name. */
      readonly name: string;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
    }
  | {
      /** The container's health check changed its state. */
      readonly type: 'health';
      /** The container's id. */
      readonly id: string;
      /** The new state of the health check. */
      readonly health: ContainerHealth;
      /** The engine's timestamp, ms since the epoch. */
      readonly time: number;
    };

/**
 * What an adapter's `events()` emits: first `{ type: 'listening' }` once the
 * engine has accepted the subscription (nothing that happens after it is
 * lost), then engine events in the engine's order. The watcher lists the
 * containers after every `listening`: an adapter whose events are only hints
 * (CRI) emits it again whenever it wants a resync; the picture stays live.
 * Periodic relists are the watcher's (see `EngineAdapter.resyncInterval`).
 *
 * @example
 * ```ts
 * import { NEVER, type Observable, concat, of } from 'rxjs';
 * import type { EngineFeed } from 'whalewatcher';
 * // an engine with no events at all: listening once, then silence until unsubscribed
 * const events = (): Observable<EngineFeed> => concat(of({ type: 'listening' } as const), NEVER);
 * events().subscribe((f) => console.log(f.type)); // listening
 * ```
 */
export type EngineFeed =
  | {
      /** The engine accepted the subscription: list now (and again after every further `listening`). */
      readonly type: 'listening';
    }
  | EngineEvent;

/**
 * The containers a list found but could not inspect (an inspection answered
 * HTTP 500, timed out, or with a body lacking `State`): one bad container
 * never hides the others. The watcher goes live without them, says so in
 * `status$` (`live` with `incomplete`), and asks `reinspect` again for each,
 * with the `retry` option's backoff, until it answers (alive: folded in as a
 * synthetic `started`; gone or not alive: dropped) or an event of the
 * container settles it.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { EngineError, type ContainerList, newContainer } from 'whalewatcher';
 * const list: ContainerList = Object.assign([newContainer({ id: 'c1', name: 'web', pid: 4242 })], {
 *   gap: {
 *     ids: ['c2'],
 *     error: new EngineError('static', 'engine', 'inspecting container c2 answered HTTP 500'),
 *     reinspect: (id: string) => of(newContainer({ id, name: 'db', pid: 4343 })),
 *   },
 * });
 * console.log(list.length, list.gap?.ids); // 1 [ 'c2' ]
 * ```
 */
export interface ListGap {
  /** whalewatcher ids of the containers the list found but could not inspect, in list order. */
  readonly ids: readonly string[];
  /** Why (the first failure; `ids.length` tells how many failed). */
  readonly error: EngineError;
  /** Cold: inspects one of `ids` again: the alive container, or `null` when it is gone or not alive; errors when it still fails. */
  reinspect(id: string): Observable<Container | null>;
}

/**
 * What {@link EngineAdapter.snapshot} emits: the alive containers, and `gap` when some could not be inspected.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { type ContainerList, newContainer } from 'whalewatcher';
 * // a whole list: a plain array is a ContainerList
 * const list: ContainerList = [newContainer({ id: 'c1', name: 'web', pid: 4242 })];
 * of(list).subscribe((l) => console.log(l.length, l.gap === undefined)); // 1 true
 * ```
 */
export type ContainerList = readonly Container[] & {
  /** The containers the list found but could not inspect, and why; absent when every inspection answered. */
  readonly gap?: ListGap;
};

/**
 * The seam between I/O and the pure core. An adapter is the only code that
 * talks to an engine; it turns the engine into two cold observables. Give one
 * of your own to `watch`.
 *
 * @example
 * ```ts
 * import { NEVER, concat, of } from 'rxjs';
 * import { type EngineAdapter, newContainer, watch } from 'whalewatcher';
 * // an engine that never changes: listening at once, one container
 * const adapter: EngineAdapter = {
 *   engine: 'static',
 *   endpoint: 'memory://static',
 *   events: () => concat(of({ type: 'listening' } as const), NEVER),
 *   snapshot: () => of([newContainer({ id: 'c1', name: 'web', pid: 4242 })]),
 *   info: async () => ({ id: 'static', type: 'docker.com', version: '1.0', api: 'memory://static' }),
 *   dispose: () => {},
 * };
 * const ww = watch(adapter);
 * await ww.ready;
 * console.log(ww.portfolio.container('web')?.pid); // 4242
 * await ww.close();
 * ```
 */
export interface EngineAdapter {
  /** Short engine name for errors and logs, e.g. `docker`, `containerd`, `cri`. */
  readonly engine: string;
  /** Endpoint as a URL-ish string (`unix:///…`, `tcp://…`). */
  readonly endpoint: string;
  /**
   * Optional: the adapter's longest wait in ms for one answer (its
   * `requestTimeout` option). The watcher's default `syncTimeout`, which
   * bounds a whole list, is at least twice this.
   */
  readonly requestTimeout?: number;
  /**
   * Cold: opens the event stream on subscribe, emits `listening` once the engine
   * accepted it, then events; errors with an `EngineError` when the stream or the
   * engine fails; closes the stream on unsubscribe. Never completes on its own
   * unless the engine ends the stream (which is then an `EngineError` too).
   */
  events(): Observable<EngineFeed>;
  /**
   * Cold: lists and inspects the alive containers, emits them once, completes.
   * Containers whose inspection alone failed are left out and named in the
   * list's `gap` (see {@link ListGap}); a failure of the engine (the list
   * call, the connection) fails it all.
   *
   * `previous` is the picture the watcher shows when it relists (absent for
   * the first sync): an adapter may reuse a container of it, instead of
   * inspecting it again, for a list entry that shows the same container
   * unchanged (same id, and the same PID or state where the list tells them).
   * Ignoring it is always correct, only dearer.
   */
  snapshot(previous?: Portfolio): Observable<ContainerList>;
  /**
   * Optional. Time in ms from the end of one list to the next periodic relist
   * (anti-entropy: events are hints, the list is the truth); `0` or absent:
   * no periodic relist. The built-in adapters take it from their
   * `resyncInterval` option (default per engine).
   */
  readonly resyncInterval?: number;
  /** Asks the engine for its identity and version. */
  info(): Promise<EngineInfo>;
  /**
   * Optional. Cold: how a container that left the alive set ended, asked after
   * the fact (for exits the watcher only inferred from a list); `null` when
   * the engine no longer knows (the container was removed). Never required
   * for the picture: the watcher waits for it only a short while.
   */
  exitDetails?(id: string): Observable<ExitDetails | null>;
  /** Releases client-level resources (channels, agents). Idempotent. */
  dispose(): void;
}
