// The per-stream memory of recent OOM kills, for every engine whose events say
// "the OOM killer struck" apart from the exit (Docker `oom`, containerd
// `/tasks/oom`): the exit that follows is reported with `oomKilled`. Pure.

import type { EngineEvent } from '../../core/engine.js';
import { type StartHint, hintedType } from './start-hint.js';

/**
 * An engine event that is not an exit by itself: `oom` (the kernel's OOM
 * killer struck in the container; an exec's process may have been the victim
 * and the container lives on) or `kill` (someone signalled the container, so
 * the exit that follows is the kill's). @internal
 */
export interface OomMark {
  readonly type: 'oom' | 'kill';
  readonly id: string;
  /** The engine's time of the event, in ms since the epoch. */
  readonly time: number;
}

/** Options of {@link OomNotes}. @internal */
export interface OomNotesOptions {
  /** How long (engine time, ms) after an `oom` an exit still counts as its OOM kill (default: no limit). */
  readonly window?: number;
  /** How many notes a stream keeps at most; the oldest go first (default 1,024). */
  readonly max?: number;
}

/**
 * The OOM notes of one event stream: turns the normaliser's results into what
 * the stream emits. An `oom` is remembered (not emitted); the next `exited` of
 * that container within the window gets `exit.oomKilled`; a `kill` or a start
 * hint (`inspect`) of the container forgets it. At most `max` notes are kept.
 * No clock: engine times only.
 *
 * @internal
 */
export class OomNotes {
  // Container id → engine time (ms) of its last oom not yet followed by its exit, start or kill; oldest first.
  private readonly recent = new Map<string, number>();
  private readonly window: number;
  private readonly max: number;

  constructor(options: OomNotesOptions = {}) {
    this.window = options.window ?? Infinity;
    this.max = options.max ?? 1_024;
  }

  /** Notes remembered now (for specs). */
  get size(): number {
    return this.recent.size;
  }

  /** One normalised result in, what to emit out (`null` for nothing). */
  apply<T extends { readonly type: string }>(result: T | OomMark | null): Exclude<T, OomMark> | null {
    if (result === null) return null;
    if (isMark(result)) {
      this.recent.delete(result.id);
      if (result.type === 'oom') {
        this.recent.set(result.id, result.time);
        if (this.recent.size > this.max) this.recent.delete(this.recent.keys().next().value as string);
      }
      return null;
    }
    const item = result as Exclude<T, OomMark>;
    // starts (hints) and exits carry the container's id; nothing else touches the notes (a rename resolved by an inspection neither)
    if (item.type === 'inspect') {
      if (hintedType(item as unknown as StartHint) === 'started') this.recent.delete((item as unknown as { readonly id: string }).id);
    } else if (item.type === 'exited') {
      const id = (item as unknown as { readonly id: string }).id;
      const at = this.recent.get(id);
      if (at === undefined) return item;
      this.recent.delete(id);
      const exited = item as unknown as EngineEvent & { readonly type: 'exited' };
      if (!(exited.time >= at && exited.time - at <= this.window)) return item;
      return Object.freeze({ ...exited, exit: Object.freeze({ ...exited.exit, oomKilled: true }) }) as unknown as Exclude<T, OomMark>;
    }
    return item;
  }
}

function isMark(item: { readonly type: string }): item is OomMark {
  return item.type === 'oom' || item.type === 'kill';
}
