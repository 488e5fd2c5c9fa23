// The engine changes every relist spec plays against a list (fold tables, watcher marbles): each with its
// events, the world after each event, and the lifecycle changes each event must make when it arrives.
import type { EngineEvent } from '../../lib/core/engine.js';
import { type Container, newContainer } from '../../lib/model/container.js';

export const c = (id: string, pid = 100, extra: { paused?: boolean; name?: string } = {}): Container =>
  newContainer({ id, name: extra.name ?? `n-${id}`, pid, paused: extra.paused ?? false });

/** The world before: a and g running, b paused. */
export const BEFORE: readonly Container[] = [c('a'), c('b', 100, { paused: true }), c('g')];
/** What no event tells: g exits and u starts silently (only a list shows it). */
export const unexplained = (world: readonly Container[]): Container[] => [...world.filter((x) => x.id !== 'g'), c('u', 900)];

/** One engine change: its events, the world after each, and the lifecycle changes each event must make at once. */
export interface Change {
  readonly name: string;
  readonly steps: readonly { readonly event: EngineEvent; readonly after: readonly Container[]; readonly live: readonly string[] }[];
}
export const replace = (world: readonly Container[], id: string, next: Container | undefined) => {
  const out = world.filter((x) => x.id !== id);
  return next === undefined ? out : [...out, next];
};
export const CHANGES: readonly Change[] = [
  { name: 'start', steps: [{ event: { type: 'started', container: c('n', 7), time: 10 }, after: [...BEFORE, c('n', 7)], live: ['started n'] }] },
  { name: 'exit', steps: [{ event: { type: 'exited', id: 'a', time: 10 }, after: replace(BEFORE, 'a', undefined), live: ['exited a'] }] },
  { name: 'pause', steps: [{ event: { type: 'paused', id: 'a', time: 10 }, after: replace(BEFORE, 'a', c('a', 100, { paused: true })), live: ['paused a'] }] },
  { name: 'unpause', steps: [{ event: { type: 'unpaused', id: 'b', time: 10 }, after: replace(BEFORE, 'b', c('b')), live: ['unpaused b'] }] },
  { name: 'rename', steps: [{ event: { type: 'renamed', id: 'a', name: 'fresh', time: 10 }, after: replace(BEFORE, 'a', c('a', 100, { name: 'fresh' })), live: ['renamed a'] }] },
  {
    name: 'restart with a new PID',
    steps: [
      { event: { type: 'exited', id: 'a', time: 10 }, after: replace(BEFORE, 'a', undefined), live: ['exited a'] },
      { event: { type: 'started', container: c('a', 200), time: 11 }, after: replace(BEFORE, 'a', c('a', 200)), live: ['started a'] },
    ],
  },
  {
    name: 'restart whose exit the engine did not send (a start with a new PID)',
    steps: [{ event: { type: 'started', container: c('a', 200), time: 11 }, after: replace(BEFORE, 'a', c('a', 200)), live: ['exited a', 'started a'] }],
  },
];

