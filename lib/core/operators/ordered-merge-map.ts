import { Observable, type ObservableInput, type OperatorFunction, Subscription, from } from 'rxjs';

/**
 * Like `mergeMap` with a concurrency limit, but emits the results in the order
 * of the source values: work for later values runs in parallel, yet nothing
 * overtakes an earlier value whose work is still pending. Each projection may
 * emit any number of values (none drops the source value). Errors from the
 * source or any projection error the output at once; unsubscribing cancels all
 * work in flight.
 *
 * Used by engine adapters so that an event needing an inspection (Docker's
 * `start`) cannot be overtaken by a later event that needs none (its `die`).
 *
 * @internal
 */
export function orderedMergeMap<T, R>(
  project: (value: T, index: number) => ObservableInput<R>,
  concurrency = Infinity,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      interface Slot {
        done: boolean;
        readonly values: R[];
      }
      const order: Slot[] = []; // every source value not yet emitted, in source order
      const queued: { value: T; index: number; slot: Slot }[] = []; // waiting for a free place
      const work = new Subscription();
      let active = 0;
      let index = 0;
      let sourceDone = false;

      const flush = () => {
        while (order.length > 0 && order[0]!.done) {
          for (const v of order.shift()!.values) subscriber.next(v);
        }
        if (sourceDone && order.length === 0) subscriber.complete();
      };
      const start = (value: T, i: number, slot: Slot) => {
        active += 1;
        let inner: Subscription | undefined;
        let finished = false;
        const onDone = () => {
          finished = true;
          active -= 1;
          slot.done = true;
          if (inner) work.remove(inner);
          const next = queued.shift();
          if (next) start(next.value, next.index, next.slot);
          flush();
        };
        let input: ObservableInput<R>;
        try {
          input = project(value, i);
        } catch (e) {
          subscriber.error(e);
          return;
        }
        inner = from(input).subscribe({
          next: (v) => {
            // a single pending head can stream straight through
            if (order[0] === slot) subscriber.next(v);
            else slot.values.push(v);
          },
          error: (e: unknown) => subscriber.error(e),
          complete: onDone,
        });
        if (!finished) work.add(inner);
      };

      const sourceSub = source.subscribe({
        next: (value) => {
          const slot: Slot = { done: false, values: [] };
          order.push(slot);
          const i = index++;
          if (active < concurrency) start(value, i, slot);
          else queued.push({ value, index: i, slot });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          flush();
        },
      });
      return () => {
        sourceSub.unsubscribe();
        work.unsubscribe();
      };
    });
}
