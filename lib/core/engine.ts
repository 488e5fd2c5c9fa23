import type { Observable } from 'rxjs';
import type { Container, ContainerHealth } from '../model/container.js';

import type { EngineInfo } from '../model/engine-info.js';

export type { EngineInfo, EngineType } from '../model/engine-info.js';

/**
 * How a container ended, as far as the engine told: all fields are optional,
 * since engines report different parts (and an exit the watcher only inferred
 * from a list may carry none).
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
 */
export type EngineEvent =
  | { readonly type: 'started'; readonly container: Container; readonly time: number }
  | { readonly type: 'exited'; readonly id: string; readonly time: number; readonly exit?: ExitDetails }
  | { readonly type: 'paused'; readonly id: string; readonly time: number }
  | { readonly type: 'unpaused'; readonly id: string; readonly time: number }
  | { readonly type: 'renamed'; readonly id: string; readonly name: string; readonly time: number }
  | { readonly type: 'health'; readonly id: string; readonly health: ContainerHealth; readonly time: number };

/**
 * What an adapter's `events()` emits: first `{ type: 'listening' }` once the
 * engine has accepted the subscription (nothing that happens after it is
 * lost), then engine events in the engine's order. The watcher lists the
 * containers after every `listening`: an adapter whose events are only hints
 * (CRI) emits it again whenever it wants a resync; the picture stays live.
 */
export type EngineFeed = { readonly type: 'listening' } | EngineEvent;

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
   * Cold: opens the event stream on subscribe, emits `listening` once the engine
   * accepted it, then events; errors with an `EngineError` when the stream or the
   * engine fails; closes the stream on unsubscribe. Never completes on its own
   * unless the engine ends the stream (which is then an `EngineError` too).
   */
  events(): Observable<EngineFeed>;
  /** Cold: lists and inspects the alive containers, emits them once, completes. */
  snapshot(): Observable<readonly Container[]>;
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
