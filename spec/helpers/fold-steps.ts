/**
 * Runs fold inputs through the pure fold, for the fold's table specs (fold, list gap, relist): the end
 * state, every change, and the changes of each step.
 */
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type WatchState, fold } from '../../lib/core/fold.js';

/** The changes as `type id`, a synthetic one marked `*`. */
export function summary(changes: readonly LifecycleEvent[]): string[] {
  return changes.map((ch) => `${ch.type} ${ch.container.id}${ch.synthetic ? '*' : ''}`);
}

/** Folds `inputs` one by one from `from`: the end state, every change in order, and each step's changes ({@link summary}). */
export function run(inputs: readonly FoldInput[], from: WatchState = INITIAL_STATE): { state: WatchState; changes: LifecycleEvent[]; steps: string[][] } {
  let state = from;
  const changes: LifecycleEvent[] = [];
  const steps: string[][] = [];
  for (const input of inputs) {
    const step = fold(state, input);
    state = step.state;
    changes.push(...step.changes);
    steps.push(summary(step.changes));
  }
  return { state, changes, steps };
}
