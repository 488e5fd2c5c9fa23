// The event replay of an adapter, written once: where a reopened event stream
// asks the engine to start (`since`), and which of the replayed events were
// delivered already. Pure bookkeeping: no I/O, times are handed in.

import type { EngineFeed } from '../../core/engine.js';
import { type RawFeed, type StartHint, hintedType } from './start-hint.js';

/** Default of `eventReplayWindow`: the longest outage in ms after which a reopened stream still asks for the gap's events. @internal */
export const DEFAULT_EVENT_REPLAY_WINDOW = 300_000;
/**
 * How far before the last delivered event (and, on the first open over a unix
 * socket, before now) a stream asks the engine to replay, in ms: covers
 * events the engine logged slightly out of time order, `since` written to the
 * millisecond, and Podman 4.3's instant between sending the stream's headers
 * and running its event reader. Replayed events already delivered are dropped.
 * @internal
 */
export const EVENT_REPLAY_SLACK = 1_000;
/** Most event identities remembered for telling replayed events from new ones. @internal */
export const EVENT_REPLAY_MEMORY = 4_096;

/** How an adapter's {@link EventReplay} behaves. @internal */
export interface EventReplayOptions {
  /** Longest outage in ms (scheduler time, from the end of one stream to the opening of the next) that is still replayed; 0: never replay. */
  readonly window: number;
  /** See {@link EVENT_REPLAY_SLACK}. */
  readonly slack?: number;
  /** See {@link EVENT_REPLAY_MEMORY}. */
  readonly memory?: number;
}

/**
 * One event stream's share of an adapter's {@link EventReplay}, from its
 * subscription to its end.
 * @internal
 */
export interface ReplayLease {
  /**
   * The engine time in ms to ask the engine to replay from, or `undefined`
   * for none. `engineNow` is the engine's clock as far as the caller can
   * tell without asking (our own clock on a unix socket; `undefined` over
   * tcp): only a first open uses it.
   */
  since(engineNow: number | undefined): number | undefined;
  /** The stream is open; `engineNow` is the engine's clock then (e.g. the HTTP `Date` of its answer), if known. */
  opened(engineNow: number | undefined): void;
  /** False for an event (or start hint) this adapter delivered already: a replayed duplicate, to drop. */
  fresh(item: RawFeed<StartHint>): boolean;
  /** Records an event the adapter delivered. */
  delivered(item: EngineFeed): void;
  /** The stream ended (failed or unsubscribed) at scheduler time `now`. Idempotent. */
  release(now: number): void;
}

/**
 * The identity of an event for duplicate detection: engine time (to the microsecond: an integer writes
 * faster than a fraction), container and kind (a start hint is the `started` or `renamed` it resolves to).
 */
function identity(item: { readonly type: string; readonly id: string; readonly time: number }): string {
  return `${Math.round(item.time * 1000)}|${item.id}|${item.type === 'inspect' ? hintedType(item as StartHint) : item.type}`;
}

/** The id and time of a feed item, or undefined for `listening`. */
function keyed(item: RawFeed<StartHint>): { readonly type: string; readonly id: string; readonly time: number } | undefined {
  switch (item.type) {
    case 'listening':
      return undefined;
    case 'started':
      return { type: item.type, id: item.container.id, time: item.time };
    default:
      return item;
  }
}

/** @internal A lease that replays nothing and drops nothing: an engine that cannot replay, replay off, or a second stream at the same time. */
export const NO_REPLAY: ReplayLease = Object.freeze({
  since: () => undefined,
  opened: () => undefined,
  fresh: () => true,
  delivered: () => undefined,
  release: () => undefined,
});

/**
 * What one adapter remembers across the re-subscriptions of its event stream
 * (the watcher re-subscribes after every failure), so that a reopened stream
 * asks the engine for the events of the gap (Docker's and Podman's `since`)
 * and the ones delivered already are not delivered twice.
 *
 * - The engine time of the events it delivered is what the next stream asks
 *   for: the engine's own clock, so it holds over tcp too, where the
 *   engine's clock may differ from ours. It asks from {@link EVENT_REPLAY_SLACK}
 *   before the newest delivered event.
 * - Replayed events at or before the newest delivered one are dropped when
 *   their identity (engine time, container, kind) was delivered, or when
 *   they are older than what it still remembers (the `floor`); events after
 *   it are new. So one stream's events are never checked against each other.
 * - After an outage longer than the window (or with the window 0) it forgets
 *   everything: the stream opens as a first one and the relist alone brings
 *   the picture back.
 * - A first open asks for the last {@link EVENT_REPLAY_SLACK} ms by the engine's clock when
 *   the caller knows it (a unix socket: the same clock as ours).
 * - Only one stream at a time holds the memory; a second stream open at the
 *   same time gets a lease that replays and drops nothing beyond a first open's.
 *
 * @internal
 */
export class EventReplay {
  private readonly window: number;
  private readonly slack: number;
  private readonly memory: number;
  /** Engine time in ms below which every event counts as delivered; NaN while unknown. */
  private floor = Number.NaN;
  /** The newest engine time delivered; -Infinity before any. */
  private newest = Number.NEGATIVE_INFINITY;
  /** Identities of delivered events (with their time) at or after `floor`. */
  private readonly seen = new Map<string, number>();
  /** The same identities in the order they were delivered (from `head` on): what to forget first. */
  private order: { readonly key: string; readonly time: number }[] = [];
  /** Index of the oldest identity of `order` still remembered. */
  private head = 0;
  /** Scheduler time when the last stream that held the memory ended; undefined before any, and while one holds it. */
  private lostAt: number | undefined;
  /** True while a stream holds the memory. */
  private held = false;

  constructor(options: EventReplayOptions) {
    this.window = Math.max(0, options.window);
    this.slack = Math.max(0, options.slack ?? EVENT_REPLAY_SLACK);
    this.memory = Math.max(1, options.memory ?? EVENT_REPLAY_MEMORY);
  }

  /** Where replay would start now (engine ms), for specs and messages; undefined when nothing is known. */
  get from(): number | undefined {
    return Number.isNaN(this.floor) ? undefined : this.floor;
  }

  /** How many delivered identities it remembers. */
  get remembered(): number {
    return this.seen.size;
  }

  /** A stream opens at scheduler time `now`: its lease. */
  open(now: number): ReplayLease {
    if (this.window === 0) return NO_REPLAY;
    if (this.held) return { ...NO_REPLAY, since: (engineNow) => this.firstSince(engineNow) };
    if (this.lostAt !== undefined && now - this.lostAt > this.window) this.forget();
    this.held = true;
    // An outage lasts from the end of the last stream that opened: attempts that never opened do not end it.
    const lostBefore = this.lostAt;
    this.lostAt = undefined;
    // Events at or before this were delivered by earlier streams: only they can be replayed duplicates.
    const replayedUpTo = this.newest;
    // What a first open asked for (the floor once the stream opens).
    let asked: number | undefined;
    let isOpen = false;
    let released = false;
    return {
      since: (engineNow) => {
        if (!Number.isNaN(this.floor)) return this.floor;
        asked = this.firstSince(engineNow);
        return asked;
      },
      opened: (engineNow) => {
        isOpen = true;
        if (!Number.isNaN(this.floor)) return;
        if (asked !== undefined) this.floor = asked;
        else if (engineNow !== undefined && Number.isFinite(engineNow)) this.floor = engineNow - this.slack;
      },
      fresh: (item) => {
        const k = keyed(item);
        if (k === undefined || !(k.time <= replayedUpTo)) return true;
        if (k.time < this.floor) return false;
        return !this.seen.has(identity(k));
      },
      delivered: (item) => {
        if (released) return;
        const k = keyed(item);
        if (k !== undefined) this.remember(k);
      },
      release: (at) => {
        if (released) return;
        released = true;
        this.held = false;
        this.lostAt = isOpen ? at : lostBefore;
      },
    };
  }

  private firstSince(engineNow: number | undefined): number | undefined {
    return engineNow === undefined || !Number.isFinite(engineNow) ? undefined : Math.max(0, engineNow - this.slack);
  }

  private remember(k: { readonly type: string; readonly id: string; readonly time: number }): void {
    if (!Number.isFinite(k.time)) return;
    if (k.time > this.newest) this.newest = k.time;
    if (!(k.time >= this.floor) && !Number.isNaN(this.floor)) return; // counts as delivered already
    const key = identity(k);
    if (this.seen.has(key)) return;
    this.seen.set(key, k.time);
    this.order.push({ key, time: k.time });
    // Keep what a replay from `newest - slack` can bring back, and at most `memory` identities:
    // what is forgotten raises the floor past it (1 µs is above a double's step at today's epoch ms).
    const cutoff = this.newest - this.slack;
    let floor = Number.isNaN(this.floor) ? cutoff : Math.max(this.floor, cutoff);
    while (this.head < this.order.length) {
      const oldest = this.order[this.head]!;
      if (oldest.time >= cutoff && this.seen.size <= this.memory) break;
      this.head += 1;
      this.seen.delete(oldest.key);
      if (oldest.time >= floor) floor = oldest.time + 0.001;
    }
    if (this.head > 1_024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    this.floor = floor;
  }

  private forget(): void {
    this.floor = Number.NaN;
    this.newest = Number.NEGATIVE_INFINITY;
    this.seen.clear();
    this.order = [];
    this.head = 0;
  }
}
