import { Observable, type Subscription, map } from 'rxjs';
import type { ContainerList, ListGap } from '../../core/engine.js';
import { type EngineError, type EngineErrorCode, isEngineError } from '../../errors.js';
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
 * Failures of one inspection that are the engine's or the connection's, not
 * the container's: they fail the whole list (and the session) instead of
 * leaving one container out.
 */
const LIST_FATAL: ReadonlySet<EngineErrorCode> = new Set<EngineErrorCode>(['unreachable', 'permission', 'protocol', 'unsupported', 'closed', 'config']);

/** True when a failed inspection is the container's own trouble (an HTTP 500, a timeout, a body that does not decode): the rest of the list goes on. @internal */
export function isContainerFault(err: unknown): boolean {
  return isEngineError(err) && !LIST_FATAL.has(err.code);
}

/** `list` (frozen) with `gap` attached when there is one. @internal */
export function containerList(list: readonly Container[], gap: ListGap | undefined): ContainerList {
  return Object.freeze(gap === undefined ? list : Object.assign(list.slice(), { gap }));
}

/**
 * `list` with `f` applied to each container and to what its gap's
 * `reinspect` brings later, so that both are treated alike; a container `f`
 * maps to `null` leaves the list (a reinspection then answers `null`).
 * @internal
 */
export function mapContainerList(list: ContainerList, f: (c: Container) => Container | null): ContainerList {
  const out: Container[] = [];
  for (const c of list) {
    const mapped = f(c);
    if (mapped !== null) out.push(mapped);
  }
  const gap = list.gap;
  return containerList(out, gap === undefined ? undefined : Object.freeze({ ...gap, reinspect: (id: string) => gap.reinspect(id).pipe(map((c) => (c === null ? null : f(c)))) }));
}

/**
 * Inspects every target of a list, up to `concurrency` at once (`Infinity`
 * when the transport bounds the calls in flight itself), and emits the alive
 * containers once, in the list's order, then completes. One bad container
 * never hides the others: an inspection that fails for the container's own
 * sake ({@link isContainerFault}: an HTTP 500, a timeout, a body that does not
 * decode) leaves it out and names it (by `idOf`) in the list's `gap`, whose
 * `reinspect` asks again; any other failure fails it all. Unsubscribing
 * cancels every inspection in flight. Iterative and in callback form: a list
 * of any length neither recurses nor makes an observable per item.
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
  idOf: (target: T) => string,
  known?: (target: T) => Container | undefined,
): Observable<ContainerList> {
  return new Observable<ContainerList>((subscriber) => {
    // What each target's inspection found, by list position (null: gone, not alive, or failed).
    const found = new Array<Container | null>(targets.length).fill(null);
    // The targets whose inspection failed for their own sake, by id, and the first such failure.
    const failed = new Map<string, T>();
    let firstFailure: EngineError | undefined;
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
          if (err !== null) {
            if (!isContainerFault(err)) return subscriber.error(err);
            const target = targets[i] as T;
            failed.set(idOf(target), target);
            firstFailure ??= err;
          } else found[i] = c ?? null;
          finished += 1;
          if (!draining) drain();
        });
        if (!ended) running.set(i, cancel);
      }
      draining = false;
      if (!subscriber.closed && finished === total) {
        const alive = found.filter((c): c is Container => c !== null);
        const gap: ListGap | undefined =
          firstFailure === undefined ? undefined : Object.freeze({ ids: Object.freeze([...failed.keys()]), error: firstFailure, reinspect: reinspectOf(failed, inspect) });
        subscriber.next(containerList(alive, gap));
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

/** The `reinspect` of a gap: one more inspection of a failed target, by its id. */
function reinspectOf<T>(failed: ReadonlyMap<string, T>, inspect: InspectOne<T>): (id: string) => Observable<Container | null> {
  return (id) =>
    new Observable<Container | null>((subscriber) => {
      if (!failed.has(id)) {
        // not one of the gap's: nothing to ask, it is no container of this list
        subscriber.next(null);
        subscriber.complete();
        return;
      }
      return inspect(failed.get(id) as T, (err, c) => {
        if (err !== null) return subscriber.error(err);
        subscriber.next(c ?? null);
        subscriber.complete();
      });
    });
}
