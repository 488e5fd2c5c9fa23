import { Observable, type Subscription } from 'rxjs';
import type { Container } from '../../model/container.js';
import type { CallDone } from './engine-call.js';

/**
 * One inspection of a list in callback form: `done` once with the alive
 * container, `null` (gone or not alive) or an error; the returned function
 * cancels it. @internal
 */
export type InspectOne<T> = (target: T, done: CallDone<Container | null>) => () => void;

/**
 * An observable inspection as an {@link InspectOne} (for engines whose
 * inspection is a composition of calls). @internal
 */
export function inspectOneOf<T>(inspect: (target: T) => Observable<Container | null>): InspectOne<T> {
  return (target, done) => {
    // What the inspection found (its last value).
    let found: Container | null = null;
    // Set once it ended, also before `subscribe` returned.
    let ended = false;
    const sub: Subscription = inspect(target).subscribe({
      next: (c) => {
        found = c;
      },
      error: (e: unknown) => {
        ended = true;
        done(e as Parameters<CallDone<Container | null>>[0]);
      },
      complete: () => {
        ended = true;
        done(null, found);
      },
    });
    return () => {
      if (!ended) sub.unsubscribe();
    };
  };
}

/**
 * Inspects every target of a list, up to `concurrency` at once (`Infinity`
 * when the transport bounds the calls in flight itself), and emits the alive
 * containers once, in the list's order, then completes. The first failure
 * fails it all; unsubscribing cancels every inspection in flight. Iterative
 * and in callback form: a list of any length neither recurses nor makes an
 * observable per item.
 *
 * `known` (a relist): the container a target stands for when the list shows
 * it unchanged (the watcher's picture has it), `undefined` when it must be
 * inspected; known targets cost no call and keep their place in the order.
 * @internal
 */
export function inspectAll<T>(
  targets: readonly T[],
  inspect: InspectOne<T>,
  concurrency: number,
  known?: (target: T) => Container | undefined,
): Observable<readonly Container[]> {
  return new Observable<readonly Container[]>((subscriber) => {
    // What each target's inspection found, by list position (null: gone or not alive).
    const found = new Array<Container | null>(targets.length).fill(null);
    // The list positions to inspect: all, or those `known` does not stand for.
    let todo: readonly number[] | undefined;
    if (known !== undefined) {
      const positions: number[] = [];
      for (let i = 0; i < targets.length; i++) {
        const c = known(targets[i] as T);
        if (c === undefined) positions.push(i);
        else found[i] = c;
      }
      todo = positions;
    }
    const total = todo === undefined ? targets.length : todo.length;
    // Cancels the inspections running, by list position.
    const running = new Map<number, () => void>();
    // The next entry of `todo` (or list position) to start.
    let next = 0;
    // Inspections finished.
    let finished = 0;
    // True while the loop below runs (an inspection that answers synchronously must not start a nested loop).
    let draining = false;

    const drain = (): void => {
      if (draining) return;
      draining = true;
      while (!subscriber.closed && next < total && running.size < concurrency) {
        const i = todo === undefined ? next : (todo[next] as number);
        next += 1;
        // Set once this inspection ended, also when that happened before `inspect` returned.
        let ended = false;
        const cancel = inspect(targets[i] as T, (err, c) => {
          ended = true;
          running.delete(i);
          if (err !== null) return subscriber.error(err);
          found[i] = c ?? null;
          finished += 1;
          if (!draining) drain();
        });
        if (!ended) running.set(i, cancel);
      }
      draining = false;
      if (!subscriber.closed && finished === total) {
        subscriber.next(Object.freeze(found.filter((c): c is Container => c !== null)));
        subscriber.complete();
      }
    };
    drain();
    return () => {
      const cancels = [...running.values()];
      running.clear();
      for (const cancel of cancels) cancel();
    };
  });
}
