import { Observable, type SchedulerLike } from 'rxjs';
import type { Container } from '../model/container.js';
import type { LifecycleEvent } from './fold.js';

/**
 * One subscriber's lifecycle stream: a synthetic `started` (at the
 * scheduler's now) for every container of `current`, read when the
 * subscription starts, then every change `changes$` emits after that moment,
 * with no gap and no duplicate: changes that arrive while the replay is still
 * being delivered (a subscriber that reacts by changing the engine) are held
 * and delivered after it, in order. `changes$` emits batches (one fold step's
 * changes). Completes when `changes$` does; unsubscribing stops both. The one
 * replay of the watcher's and the host view's `lifecycle$`.
 *
 * @internal
 */
export function replayThenLive(current: () => Iterable<Container>, changes$: Observable<readonly LifecycleEvent[]>, scheduler: SchedulerLike): Observable<LifecycleEvent> {
  return new Observable<LifecycleEvent>((subscriber) => {
    const replay = current();
    // Changes that arrived before the replay was delivered; null once it was.
    let held: LifecycleEvent[] | null = [];
    const inner = changes$.subscribe({
      next: (changes) => {
        for (const c of changes) {
          if (held !== null) held.push(c);
          else subscriber.next(c);
        }
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    const time = new Date(scheduler.now());
    for (const container of replay) {
      if (subscriber.closed) break;
      subscriber.next(Object.freeze(container.engine === undefined ? { type: 'started', container, time, synthetic: true } : { type: 'started', container, time, synthetic: true, engine: container.engine }));
    }
    const queued = held;
    held = null;
    for (const c of queued) {
      if (subscriber.closed) break;
      subscriber.next(c);
    }
    return inner;
  });
}
