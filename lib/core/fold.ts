import type { Container } from '../model/container.js';
import { withHealth, withName, withPaused } from '../model/container.js';
import { Portfolio } from '../model/portfolio.js';
import type { EngineError } from '../errors.js';
import type { EngineEvent, EngineInfo, ExitDetails } from './engine.js';

/**
 * A change in the set of alive containers.
 * `synthetic` is true when the engine did not report it as an event: the
 * watcher inferred it from a list (the first synchronisation, a relist after a
 * reconnect or a periodic one: only what no event explained) or replays the
 * current picture to a new subscriber. An event the engine reported is never
 * synthetic, also when it arrives while a list is in flight.
 *
 * @example
 * ```ts
 * import { watchDocker, type LifecycleEvent } from 'whalewatcher';
 * const ww = watchDocker();
 * const log = (e: LifecycleEvent) => console.log(e.time.toISOString(), e.type, e.container.name, e.synthetic ? '(already alive)' : '');
 * ww.lifecycle$.subscribe(log);
 * ```
 */
export interface LifecycleEvent {
  /**
   * What happened: `started` and `exited` (the container joined or left the
   * alive set), `paused` / `unpaused`, `renamed` (`container` has the new
   * name, `previousName` the old one), `health` (`container.health` is the new
   * health check result).
   */
  readonly type: 'started' | 'exited' | 'paused' | 'unpaused' | 'renamed' | 'health';
  /** The container as it is after the change (for `exited`: as it was last). */
  readonly container: Container;
  /** When it happened: the engine's timestamp, or the watcher's clock (its scheduler) for a synthetic event. */
  readonly time: Date;
  /** True when the watcher inferred the change from a list or replays the current picture, false for an engine event. */
  readonly synthetic: boolean;
  /** On `exited`: how the container ended, as far as the engine said (absent when the watcher only inferred the exit). */
  readonly exit?: ExitDetails;
  /** On `renamed`: the name before. */
  readonly previousName?: string;
  /** The engine of the container (`container.engine`), where the adapter tells it: every engine's watcher does. */
  readonly engine?: EngineInfo;
}

/**
 * The watcher's health.
 *
 * @example
 * ```ts
 * import { watchDocker, type WatcherStatus } from 'whalewatcher';
 * const ww = watchDocker();
 * const describe = (s: WatcherStatus): string => (s.state === 'degraded' ? `degraded (${s.error.code}), retry ${s.attempt} in ${s.retryIn} ms` : s.state);
 * ww.status$.subscribe((s) => console.log(describe(s)));
 * ```
 */
export type WatcherStatus =
  /** Opening the event stream for the first time. */
  | {
      /** Opening the event stream for the first time. */
      readonly state: 'connecting';
    }
  /** Event stream open; listing the alive containers. */
  | {
      /** Event stream open; listing the alive containers. */
      readonly state: 'syncing';
    }
  /**
   * In sync: the portfolio follows the engine's events. With `incomplete`, the
   * picture lacks containers the engine listed but whose inspection failed
   * (one bad container never hides the others): they are asked for again with
   * the `retry` option's backoff, and `incomplete` goes away once every one of
   * them answered or an event settled it. Code that only checks
   * `state === 'live'` keeps working.
   */
  | {
      /** In sync: the portfolio follows the engine's events. */
      readonly state: 'live';
      /** What the picture lacks: containers listed but not inspected, and why; absent when it is whole. */
      readonly incomplete?: IncompletePicture;
    }
  /**
   * The engine or its stream failed (or whalewatcher's own pipeline did: a
   * bug, and the error's message says so); the last good portfolio stays visible
   * while the watcher retries (`attempt` counts consecutive failures, `retryIn`
   * is the backoff in ms before the next try).
   */
  | {
      /** The engine, its stream or the pipeline failed; the last good portfolio stays visible. */
      readonly state: 'degraded';
      /** What failed, and what to do about it. */
      readonly error: EngineError;
      /** Consecutive failures so far, 1 for the first. */
      readonly attempt: number;
      /** The backoff in ms before the next try. */
      readonly retryIn: number;
    }
  /** The watcher gave up (only with a bounded retry policy) or was closed. */
  | {
      /** The watcher gave up or was closed: it will not change any more. */
      readonly state: 'stopped';
      /** Why it gave up (or what failed while closing); absent after a clean `close()`. */
      readonly error?: EngineError;
    };

/**
 * What a `live` picture lacks: the containers the engine listed but could not
 * inspect, and why.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * ww.status$.subscribe((s) => {
 *   if (s.state === 'live' && s.incomplete) console.warn(`${s.incomplete.ids.length} containers missing: ${s.incomplete.error.message}`);
 * });
 * await ww.close();
 * ```
 */
export interface IncompletePicture {
  /** The missing containers' ids. */
  readonly ids: readonly string[];
  /** Why they are missing (the latest failure; `decode` for an inspection lacking `State`, `engine` for an HTTP 500, …). */
  readonly error: EngineError;
}

/** @internal What drives the fold: connection milestones and engine events. */
export type FoldInput =
  | { readonly type: 'connecting' }
  | { readonly type: 'listening' }
  | { readonly type: 'event'; readonly event: EngineEvent }
  | { readonly type: 'snapshot'; readonly containers: readonly Container[]; readonly time: number; readonly gap?: IncompletePicture }
  /** A round of asking again for the containers of a list's gap: the alive ones, those gone (or not alive), those that failed again (with the error). */
  | {
      readonly type: 'reinspected';
      readonly found: readonly Container[];
      readonly gone: readonly string[];
      readonly failed: readonly string[];
      readonly error?: EngineError;
      readonly time: number;
    }
  | { readonly type: 'disconnected'; readonly error: EngineError; readonly attempt: number; readonly retryIn: number }
  | { readonly type: 'stopped'; readonly error?: EngineError };

/** Events seen while a list is in flight, newest first (a persistent cons list). */
interface Pending {
  readonly event: EngineEvent;
  readonly older: Pending | null;
}

/** @internal The watcher's state; immutable. */
export interface WatchState {
  /** The visible picture: the last good one while (re)synchronising. */
  readonly portfolio: Portfolio;
  /** The watcher's health, as `status$` shows it. */
  readonly status: WatcherStatus;
  /**
   * True once the first synchronisation has completed (a list was folded in),
   * and for good after that: it stays true while degraded, reconnecting or
   * resyncing. It is what `ready` waits for; it says nothing about now (see `status`).
   */
  readonly everSynced: boolean;
  /**
   * Events seen while the list is in flight, newest first; `null` when there
   * are none (always when no list is in flight). They are replayed on top of
   * the list when it arrives. During a relist (`everSynced`) they have been
   * applied to the visible portfolio already; during the first sync they wait.
   */
  readonly pending: Pending | null;
  /**
   * True between a `listening` and the `snapshot` that answers it: a list has
   * been asked for and events are remembered in `pending` until it arrives.
   * Also true during a resync while `status` stays `live`.
   */
  readonly listInFlight: boolean;
  /** While live: the ids of the list's gap not settled yet (`status.incomplete.ids` as a set); `null` when none. */
  readonly gap: ReadonlySet<string> | null;
}

/** @internal One fold step: the next state and what changed (empty when nothing did). */
export interface Step {
  readonly state: WatchState;
  readonly changes: readonly LifecycleEvent[];
}

const NO_CHANGES: readonly LifecycleEvent[] = Object.freeze([]);
const CONNECTING: WatcherStatus = Object.freeze({ state: 'connecting' });
const SYNCING: WatcherStatus = Object.freeze({ state: 'syncing' });
const LIVE: WatcherStatus = Object.freeze({ state: 'live' });

/** @internal The state before anything happened. */
export const INITIAL_STATE: WatchState = Object.freeze({
  portfolio: Portfolio.EMPTY,
  status: CONNECTING,
  everSynced: false,
  pending: null,
  listInFlight: false,
  gap: null,
});

function change(
  type: LifecycleEvent['type'],
  container: Container,
  time: number,
  synthetic: boolean,
  extra?: { readonly exit?: ExitDetails | undefined; readonly previousName?: string },
): LifecycleEvent {
  const event: { -readonly [K in keyof LifecycleEvent]: LifecycleEvent[K] } = { type, container, time: new Date(time), synthetic };
  if (extra?.exit !== undefined) event.exit = extra.exit;
  if (extra?.previousName !== undefined) event.previousName = extra.previousName;
  if (container.engine !== undefined) event.engine = container.engine;
  return Object.freeze(event);
}

/**
 * Applies one engine event to a portfolio. Returns the same portfolio when the
 * event changes nothing (a start already known with the same PID, an exit of an
 * unknown container, a pause of a paused one), and the lifecycle changes.
 *
 * @internal
 */
export function applyEvent(portfolio: Portfolio, event: EngineEvent, synthetic = false): { portfolio: Portfolio; changes: LifecycleEvent[] } {
  switch (event.type) {
    case 'started': {
      const c = event.container;
      const previous = portfolio.byIdOnly(c.id);
      if (previous !== undefined && previous.pid === c.pid) {
        // seen by both the list and an event: count it once; keep the newer details
        return { portfolio: portfolio.withContainer(c), changes: [] };
      }
      const changes: LifecycleEvent[] = [];
      // a new PID for a known id means we missed its exit (restart): report both
      if (previous !== undefined) changes.push(change('exited', previous, event.time, synthetic));
      changes.push(change('started', c, event.time, synthetic));
      return { portfolio: portfolio.withContainer(c), changes };
    }
    case 'exited': {
      const previous = portfolio.byIdOnly(event.id);
      if (previous === undefined) return { portfolio, changes: [] };
      return { portfolio: portfolio.withoutContainer(event.id), changes: [change('exited', previous, event.time, synthetic, { exit: event.exit })] };
    }
    case 'paused':
    case 'unpaused': {
      const previous = portfolio.byIdOnly(event.id);
      const paused = event.type === 'paused';
      if (previous === undefined || previous.paused === paused) return { portfolio, changes: [] };
      const next = withPaused(previous, paused);
      return { portfolio: portfolio.withContainer(next), changes: [change(event.type, next, event.time, synthetic)] };
    }
    case 'renamed': {
      const previous = portfolio.byIdOnly(event.id);
      if (previous === undefined || previous.name === event.name) return { portfolio, changes: [] };
      const next = withName(previous, event.name);
      return { portfolio: portfolio.withContainer(next), changes: [change('renamed', next, event.time, synthetic, { previousName: previous.name })] };
    }
    case 'health': {
      const previous = portfolio.byIdOnly(event.id);
      if (previous === undefined || previous.health === event.health) return { portfolio, changes: [] };
      const next = withHealth(previous, event.health);
      return { portfolio: portfolio.withContainer(next), changes: [change('health', next, event.time, synthetic)] };
    }
  }
}

/**
 * The true differences between two pictures, as lifecycle changes: `exited` for
 * containers gone, `started` for new ones (and exit+start for a changed PID),
 * pause changes for survivors. Costs O(n) and runs only on (re)synchronisation.
 * Survivors whose details are unchanged keep their old object identity.
 *
 * @internal
 */
export function reconcile(before: Portfolio, truth: Portfolio, time: number): { portfolio: Portfolio; changes: LifecycleEvent[] } {
  const changes: LifecycleEvent[] = [];
  if (before.total === 0) {
    // first sync (or back from empty): the truth is the new picture as it is; rebuilding it costs O(n log n) for nothing
    for (const c of truth.containers) changes.push(change('started', c, time, true));
    return { portfolio: truth, changes };
  }
  let next = before;
  for (const id of before.ids()) {
    if (truth.byIdOnly(id) === undefined) {
      changes.push(change('exited', before.byIdOnly(id) as Container, time, true));
      next = next.withoutContainer(id);
    }
  }
  for (const c of truth.containers) {
    const previous = before.byIdOnly(c.id);
    if (previous === undefined) {
      changes.push(change('started', c, time, true));
      next = next.withContainer(c);
    } else if (previous.pid !== c.pid) {
      changes.push(change('exited', previous, time, true), change('started', c, time, true));
      next = next.withContainer(c);
    } else if (!sameDetails(previous, c)) {
      if (previous.name !== c.name) changes.push(change('renamed', c, time, true, { previousName: previous.name }));
      if (previous.paused !== c.paused) changes.push(change(c.paused ? 'paused' : 'unpaused', c, time, true));
      if (previous.health !== c.health) changes.push(change('health', c, time, true));
      next = next.withContainer(c);
    }
  }
  return { portfolio: next, changes };
}

function sameDetails(a: Container, b: Container): boolean {
  if (a.name !== b.name || a.paused !== b.paused || a.project !== b.project || a.rucksack !== b.rucksack) return false;
  if (a.image !== b.image || a.health !== b.health || a.createdAt?.getTime() !== b.createdAt?.getTime() || a.startedAt?.getTime() !== b.startedAt?.getTime()) return false;
  const ka = Object.keys(a.labels);
  const kb = Object.keys(b.labels);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a.labels[k] !== b.labels[k]) return false;
  return true;
}

/**
 * The synchronisation protocol, as a pure function for `scan`.
 *
 * - `connecting`: a (re)connection attempt starts; the visible portfolio stays.
 * - `listening`: the event stream is open; a list is in flight from now on.
 *   When live already, it starts a resync (a relist) and the status stays live.
 * - `event` while a list is in flight: remembered in `pending` (the list may or
 *   may not include its effect). During a relist (the picture was synced once:
 *   periodic, an adapter's resync, after a reconnect) it is also applied to the
 *   visible portfolio at once and reported as a real, non-synthetic change:
 *   events are hints that arrive live, the list is the truth that repairs what
 *   they missed. During the first sync there is no picture to be live on yet:
 *   events wait for the list (make before break).
 * - `snapshot`: the list; the remembered events are replayed on top of it in
 *   engine order (so an exit seen during the list is not resurrected by a list
 *   taken before it, a start the list lacks is not removed, a pause seen
 *   during the list stays, a start seen by both counts once), then the visible
 *   portfolio is reconciled with the result. As the visible portfolio already
 *   shows every event, only what no event explained comes out, `synthetic`.
 *   On the first sync, a container the list shows comes out as a synthetic
 *   `started`; one that only an event during the list brought (the list lacks
 *   it, or shows an older process) comes out as that event: not synthetic,
 *   with the event's time. Events during the first list that end or change a
 *   listed container (an exit, a pause) are folded in silently: the container
 *   was never in a visible picture.
 * - `event` when live: applied directly.
 * - `disconnected` / `stopped`: status only; the last good portfolio stays.
 *
 * @internal
 */
export function fold(state: WatchState, input: FoldInput): Step {
  switch (input.type) {
    case 'connecting':
      // keep 'degraded' visible during retries; only the very first attempt says 'connecting'
      if (state.status.state === 'degraded' || state.status === CONNECTING) {
        return state.listInFlight ? { state: { ...state, listInFlight: false, pending: null }, changes: NO_CHANGES } : unchanged(state);
      }
      return { state: { ...state, status: CONNECTING, listInFlight: false, pending: null }, changes: NO_CHANGES };
    case 'listening':
      // while live, a new `listening` is a resync (an adapter relisting): stay live, buffer events
      return { state: { ...state, status: state.status.state === 'live' ? state.status : SYNCING, listInFlight: true, pending: null }, changes: NO_CHANGES };
    case 'event': {
      if (state.listInFlight) {
        const pending: Pending = { event: input.event, older: state.pending };
        // first sync: nothing is visible yet, the event waits for the list
        if (!state.everSynced) return { state: { ...state, pending }, changes: NO_CHANGES };
        // relist: the picture is live, the event is delivered now, and remembered so the list cannot undo it
        const { portfolio, changes } = applyEvent(state.portfolio, input.event);
        // it also settles a container of the gap (the list's answer takes the pending events into account too)
        return { state: { ...settledBy(state, input.event), portfolio, pending }, changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes) };
      }
      if (state.status.state !== 'live') return unchanged(state); // stray event outside a session: ignore
      const { portfolio, changes } = applyEvent(state.portfolio, input.event);
      const next = settledBy(state, input.event);
      if (portfolio === state.portfolio && changes.length === 0 && next === state) return unchanged(state);
      return { state: { ...next, portfolio }, changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes) };
    }
    case 'snapshot': {
      if (!state.listInFlight) return unchanged(state); // a list without a session: ignore
      const listed = Portfolio.of(input.containers);
      let truth = listed;
      const replayed = replayOrder(state.pending);
      // first sync: the containers an event brought (id → the time of its start), not the list
      const byEvent = state.everSynced ? undefined : new Map<string, number>();
      for (const event of replayed) {
        const applied = applyEvent(truth, event);
        truth = applied.portfolio;
        if (byEvent === undefined) continue;
        if (event.type === 'exited') byEvent.delete(event.id);
        else if (event.type === 'started' && applied.changes.length > 0) byEvent.set(event.container.id, event.time);
      }
      let gap: ReadonlySet<string> | null = null;
      if (input.gap !== undefined && input.gap.ids.length > 0) {
        // what an event seen during the list settled is no longer missing
        gap = without(new Set(input.gap.ids), replayed.filter(settles).map(eventId));
        // a missing container the picture holds from before stays as it was (no exit for a failed inspection)
        for (const id of gap) {
          const kept = state.portfolio.byIdOnly(id);
          if (kept !== undefined && truth.byIdOnly(id) === undefined) truth = truth.withContainer(kept);
        }
      }
      const { portfolio, changes } = byEvent === undefined ? reconcile(state.portfolio, truth, input.time) : firstSync(listed, truth, byEvent, input.time);
      return {
        state: withGap({ portfolio, status: LIVE, everSynced: true, pending: null, listInFlight: false, gap: null }, gap, input.gap?.error),
        changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes),
      };
    }
    case 'reinspected': {
      if (state.gap === null || state.status.state !== 'live') return unchanged(state); // settled meanwhile, or another session
      const gap = state.gap;
      let portfolio = state.portfolio;
      const changes: LifecycleEvent[] = [];
      for (const c of input.found) {
        if (!gap.has(c.id)) continue; // settled by an event while asked: the event is newer
        const step = applyEvent(portfolio, { type: 'started', container: c, time: input.time }, true);
        portfolio = step.portfolio;
        changes.push(...step.changes);
      }
      for (const id of input.gone) {
        if (!gap.has(id)) continue;
        const step = applyEvent(portfolio, { type: 'exited', id, time: input.time }, true);
        portfolio = step.portfolio;
        changes.push(...step.changes);
      }
      const rest = without(gap, [...input.found.map((c) => c.id), ...input.gone]);
      const next = withGap({ ...state, portfolio }, rest, input.error ?? gapError(state));
      if (next.status === state.status && portfolio === state.portfolio) return unchanged(state);
      return { state: next, changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes) };
    }
    case 'disconnected':
      return {
        state: {
          ...state,
          status: Object.freeze({ state: 'degraded', error: input.error, attempt: input.attempt, retryIn: input.retryIn }),
          listInFlight: false,
          pending: null,
          gap: null,
        },
        changes: NO_CHANGES,
      };
    case 'stopped':
      return {
        state: {
          ...state,
          status: Object.freeze(input.error === undefined ? { state: 'stopped' } : { state: 'stopped', error: input.error }),
          listInFlight: false,
          pending: null,
          gap: null,
        },
        changes: NO_CHANGES,
      };
  }
}

/** True for the events that settle a missing container: it started (the event has it whole) or it exited. */
function settles(event: EngineEvent): boolean {
  return event.type === 'started' || event.type === 'exited';
}

function eventId(event: EngineEvent): string {
  return event.type === 'started' ? event.container.id : event.id;
}

/** `state` without the container a start or an exit settles from its gap (the event is newer than any inspection); `state` itself when the event settles none. */
function settledBy(state: WatchState, event: EngineEvent): WatchState {
  if (state.gap === null || !settles(event)) return state;
  const id = eventId(event);
  return state.gap.has(id) ? withGap(state, without(state.gap, [id]), gapError(state)) : state;
}

/** `set` without `ids` (the same set when none of them is in it). */
function without(set: ReadonlySet<string>, ids: readonly string[]): ReadonlySet<string> {
  if (!ids.some((id) => set.has(id))) return set;
  const rest = new Set(set);
  for (const id of ids) rest.delete(id);
  return rest;
}

function gapError(state: WatchState): EngineError | undefined {
  return state.status.state === 'live' ? state.status.incomplete?.error : undefined;
}

/** A live state with `gap` (and `error`) as its missing containers: plain `live` when there are none. */
function withGap(state: WatchState, gap: ReadonlySet<string> | null, error: EngineError | undefined): WatchState {
  if (gap === null || gap.size === 0 || error === undefined) return state.status === LIVE && state.gap === null ? state : { ...state, status: LIVE, gap: null };
  const current = state.status.state === 'live' ? state.status.incomplete : undefined;
  if (current !== undefined && state.gap === gap && current.error === error) return state;
  const incomplete: IncompletePicture = Object.freeze({ ids: Object.freeze([...gap]), error });
  return { ...state, status: Object.freeze({ state: 'live', incomplete }), gap };
}

/**
 * The changes of the first sync: a `started` for every container of `truth`,
 * synthetic (at the list's `time`) unless only an event during the list
 * brought it, i.e. the list lacks it or shows another process under its id
 * (then real, at the event's time). A container the list shows as it is
 * stays synthetic, also when a start event during the list told it too.
 */
function firstSync(listed: Portfolio, truth: Portfolio, byEvent: ReadonlyMap<string, number>, time: number): { portfolio: Portfolio; changes: LifecycleEvent[] } {
  if (byEvent.size === 0) return reconcile(Portfolio.EMPTY, truth, time);
  const changes: LifecycleEvent[] = [];
  for (const c of truth.containers) {
    const at = byEvent.get(c.id);
    const real = at !== undefined && listed.byIdOnly(c.id)?.pid !== c.pid;
    changes.push(real ? change('started', c, at, false) : change('started', c, time, true));
  }
  return { portfolio: truth, changes };
}

function unchanged(state: WatchState): Step {
  return { state, changes: NO_CHANGES };
}

function replayOrder(pending: Pending | null): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (let p = pending; p !== null; p = p.older) events.push(p.event);
  return events.reverse();
}
