import { Observable, type Subscription } from 'rxjs';
import type { Container } from '../../model/container.js';

/**
 * Inspects every target of a list, up to `concurrency` at once (`Infinity`
 * when the transport bounds the calls in flight itself), and emits the alive
 * containers once, in the list's order, then completes. The first failure
 * fails it all; unsubscribing cancels every inspection in flight. Iterative:
 * a list of any length neither recurses nor copies per item.
 * @internal
 */
export function inspectAll<T>(targets: readonly T[], inspect: (target: T) => Observable<Container | null>, concurrency: number): Observable<readonly Container[]> {
  return new Observable<readonly Container[]>((subscriber) => {
    // What each target's inspection found, by list position (null: gone or not alive).
    const found = new Array<Container | null>(targets.length).fill(null);
    // Inspections running, by list position.
    const running = new Map<number, Subscription>();
    // The next list position to start.
    let next = 0;
    // Inspections finished.
    let finished = 0;
    // True while the loop below runs (an inspection that answers synchronously must not start a nested loop).
    let draining = false;

    const drain = (): void => {
      if (draining) return;
      draining = true;
      while (!subscriber.closed && next < targets.length && running.size < concurrency) {
        const i = next++;
        // Set once this inspection ended, also when that happened before `subscribe` returned.
        let ended = false;
        const sub = inspect(targets[i] as T).subscribe({
          next: (c) => {
            found[i] = c;
          },
          error: (e: unknown) => subscriber.error(e),
          complete: () => {
            ended = true;
            running.delete(i);
            finished += 1;
            if (!draining) drain();
          },
        });
        if (!ended) running.set(i, sub);
      }
      draining = false;
      if (!subscriber.closed && finished === targets.length) {
        subscriber.next(Object.freeze(found.filter((c): c is Container => c !== null)));
        subscriber.complete();
      }
    };
    drain();
    return () => {
      for (const sub of running.values()) sub.unsubscribe();
      running.clear();
    };
  });
}
