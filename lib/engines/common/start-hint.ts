// The one hint type all engines' raw event streams use for a start that needs
// an inspection, and the one `listening` marker.

import type { EngineFeed } from '../../core/engine.js';

/**
 * A container start the engine reported without everything the picture needs
 * (Docker's `start` has no PID, containerd's `/tasks/start` no labels, a CRI
 * STARTED may be stale): the adapter inspects the container before it emits
 * `started`, keeping the engine's order. `X` is what an engine's event adds
 * for its own inspection. @internal
 */
export type StartHint<X extends object = object> = {
  readonly type: 'inspect';
  /** whalewatcher's id of the container. */
  readonly id: string;
  /** The event's engine time in ms since the epoch. */
  readonly time: number;
  /**
   * `renamed`: the hint stands for a rename whose new name the event lost (a
   * Docker event line too long to read whole): the inspection resolves it to
   * `renamed` with the inspected name, never to `started`. Absent: a start.
   */
  readonly resolvesTo?: 'renamed';
} & Readonly<X>;

/** What an engine's raw event stream emits: the feed, with start hints still to inspect. @internal */
export type RawFeed<H extends StartHint = StartHint> = EngineFeed | H;

/** The one `listening` marker of every adapter. @internal */
export const LISTENING: EngineFeed = Object.freeze({ type: 'listening' });

/** The event a hint stands for once inspected: `started`, or `renamed` (see {@link StartHint}'s `resolvesTo`). @internal */
export function hintedType(hint: StartHint): 'started' | 'renamed' {
  return hint.resolvesTo ?? 'started';
}

/** True for a start hint (as opposed to a finished feed item). @internal */
export function isStartHint<H extends StartHint>(item: RawFeed<H>): item is H {
  return item.type === 'inspect';
}
