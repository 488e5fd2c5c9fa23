import type { Container } from '../model/container.js';
import { withHealth, withName, withPaused } from '../model/container.js';
import { Portfolio } from '../model/portfolio.js';
import type { EngineError } from '../errors.js';
import type { EngineEvent, EngineInfo, ExitDetails } from './engine.js';

/**
 * A change in the set of alive containers.
 * `synthetic` is true when the engine did not report it as an event: the
 * watcher inferred it from a list (the first synchronisation, a resynchronisation
 * after a reconnect) or replays the current picture to a new subscriber.
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
  readonly time: Date;
  readonly synthetic: boolean;
  /** On `exited`: how the container ended, as far as the engine said (absent when the watcher only inferred the exit). */
  readonly exit?: ExitDetails;
  /** On `renamed`: the name before. */
  readonly previousName?: string;
  /** The engine of the container (`container.engine`), where the adapter tells it: every engine's watcher does. */
  readonly engine?: EngineInfo;
}

/** The watcher's health. */
export type WatcherStatus =
  /** Opening the event stream for the first time. */
  | { readonly state: 'connecting' }
  /** Event stream open; listing the alive containers. */
  | { readonly state: 'syncing' }
  /** In sync: the portfolio follows the engine's events. */
  | { readonly state: 'live' }
  /**
   * The engine or its stream failed (or whalewatcher's own pipeline did: a
   * bug, and the error's message says so); the last good portfolio stays visible
   * while the watcher retries (`attempt` counts consecutive failures, `retryIn`
   * is the backoff in ms before the next try).
   */
  | { readonly state: 'degraded'; readonly error: EngineError; readonly attempt: number; readonly retryIn: number }
  /** The watcher gave up (only with a bounded retry policy) or was closed. */
  | { readonly state: 'stopped'; readonly error?: EngineError };

/** @internal What drives the fold: connection milestones and engine events. */
export type FoldInput =
  | { readonly type: 'connecting' }
  | { readonly type: 'listening' }
  | { readonly type: 'event'; readonly event: EngineEvent }
  | { readonly type: 'snapshot'; readonly containers: readonly Container[]; readonly time: number }
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
  /** Events seen while the list is in flight, newest first; `null` when there are none (always when no list is in flight). */
  readonly pending: Pending | null;
  /**
   * True between a `listening` and the `snapshot` that answers it: a list has
   * been asked for and events are buffered in `pending` until it arrives.
   * Also true during a resync while `status` stays `live`.
   */
  readonly listInFlight: boolean;
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
 * - `listening`: the event stream is open; events are buffered from now on.
 *   When live already, it starts a resync (the adapter relists) and the status stays live.
 * - `event` while a list is in flight: buffered (the list may or may not include its effect).
 * - `snapshot`: the list; the buffered events are replayed on top of it in
 *   engine order (so an exit seen during the list is not resurrected by it, a
 *   pause seen during the list is applied, a start seen by both counts once),
 *   then the visible portfolio is reconciled with the result (make before break).
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
      return { state: { ...state, status: state.status === LIVE ? LIVE : SYNCING, listInFlight: true, pending: null }, changes: NO_CHANGES };
    case 'event': {
      if (state.listInFlight) {
        return { state: { ...state, pending: { event: input.event, older: state.pending } }, changes: NO_CHANGES };
      }
      if (state.status !== LIVE) return unchanged(state); // stray event outside a session: ignore
      const { portfolio, changes } = applyEvent(state.portfolio, input.event);
      if (portfolio === state.portfolio && changes.length === 0) return unchanged(state);
      return { state: { ...state, portfolio }, changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes) };
    }
    case 'snapshot': {
      if (!state.listInFlight) return unchanged(state); // a list without a session: ignore
      let truth = Portfolio.of(input.containers);
      for (const event of replayOrder(state.pending)) truth = applyEvent(truth, event).portfolio;
      const { portfolio, changes } = reconcile(state.portfolio, truth, input.time);
      return {
        state: { portfolio, status: LIVE, everSynced: true, pending: null, listInFlight: false },
        changes: changes.length === 0 ? NO_CHANGES : Object.freeze(changes),
      };
    }
    case 'disconnected':
      return {
        state: {
          ...state,
          status: Object.freeze({ state: 'degraded', error: input.error, attempt: input.attempt, retryIn: input.retryIn }),
          listInFlight: false,
          pending: null,
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
        },
        changes: NO_CHANGES,
      };
  }
}

function unchanged(state: WatchState): Step {
  return { state, changes: NO_CHANGES };
}

function replayOrder(pending: Pending | null): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (let p = pending; p !== null; p = p.older) events.push(p.event);
  return events.reverse();
}
