import { Observable, type ObservableInput, type OperatorFunction, type Subscription, from } from 'rxjs';

/** One source value on its way through {@link orderedMergeMap}. */
interface Slot<T, R> {
  /** The source value, until its projection starts. */
  value: T | undefined;
  /** Its index in the source, for the projection. */
  readonly index: number;
  /** Results that could not be emitted yet because an earlier slot is still pending. */
  values: R[] | null;
  /** The inner subscription while it runs. */
  inner: Subscription | undefined;
  /** The inner has completed: once every earlier slot is out, so is this one. */
  done: boolean;
}

/** Slots emitted (or queued) before this many are dropped from the front of the list in one go. */
const COMPACT_AFTER = 1024;

/**
 * Like `mergeMap` with a concurrency limit, but emits the results in the order
 * of the source values: work for later values runs in parallel, yet nothing
 * overtakes an earlier value whose work is still pending. Each projection may
 * emit any number of values (none drops the source value). Errors from the
 * source or any projection error the output at once; unsubscribing cancels all
 * work in flight.
 *
 * Queued work is started and finished results are emitted by one loop, never
 * by recursion, so any number of projections that complete synchronously
 * (events that need no inspection) may wait behind slow ones.
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
      // Every source value not emitted yet, in source order. Projections start in
      // source order too, so the list is: slots[head..next) started (running or
      // done), slots[next..] waiting for a free place. Both ends move by index
      // (no shift()); the front is cut off now and then.
      let slots: (Slot<T, R> | undefined)[] = [];
      // The first slot whose results are not all out: the only one that may emit at once.
      let head = 0;
      // The first slot whose projection has not started.
      let next = 0;
      // The number of inners running.
      let active = 0;
      // The index of the next source value.
      let index = 0;
      // Whether the source has completed.
      let sourceDone = false;
      // Whether `pump` is running further up the stack: an inner that completes
      // inside it (synchronously) leaves the work to that loop instead of nesting one.
      let pumping = false;

      /** Subscribes to the projection of `slot`; its completion hands control back to {@link pump}. */
      const start = (slot: Slot<T, R>): void => {
        const value = slot.value as T;
        slot.value = undefined;
        active += 1;
        let input$: Observable<R>;
        try {
          input$ = from(project(value, slot.index)); // from() throws on what is no ObservableInput
        } catch (e) {
          subscriber.error(e);
          return;
        }
        const inner = input$.subscribe({
          next: (v) => {
            if (subscriber.closed) return;
            // the head streams straight through, once what it buffered while waiting is out
            if (slots[head] === slot && slot.values === null) subscriber.next(v);
            else (slot.values ??= []).push(v);
          },
          error: (e: unknown) => subscriber.error(e),
          complete: () => {
            slot.done = true;
            slot.inner = undefined;
            active -= 1;
            pump();
          },
        });
        // unsubscribed while the inner was still emitting synchronously: the teardown could not reach it
        if (subscriber.closed) inner.unsubscribe();
        else if (!slot.done) slot.inner = inner;
      };

      /** The loop of {@link pump}: one step per iteration, never a nested call. */
      const drain = (): void => {
        while (!subscriber.closed) {
          const first = slots[head];
          if (first !== undefined && first.values !== null) {
            // read the length each time: a value emitted here may make this slot buffer more
            const values = first.values;
            for (let i = 0; i < values.length && !subscriber.closed; i++) subscriber.next(values[i] as R);
            first.values = null;
            continue;
          }
          if (first?.done) {
            slots[head] = undefined; // let it go
            head += 1;
            continue;
          }
          const waiting = slots[next];
          if (waiting !== undefined && active < concurrency) {
            next += 1;
            start(waiting);
            continue;
          }
          break;
        }
      };

      /**
       * Emits the finished results at the front and starts waiting projections
       * while there is room, in one loop; completes when nothing is left.
       */
      const pump = (): void => {
        if (pumping) return;
        pumping = true;
        try {
          drain();
        } finally {
          pumping = false;
        }
        if (head === slots.length) {
          slots = [];
          head = next = 0;
          if (sourceDone && !subscriber.closed) subscriber.complete();
        } else if (head > COMPACT_AFTER && head * 2 > slots.length) {
          slots = slots.slice(head);
          next -= head;
          head = 0;
        }
      };

      const sourceSub = source.subscribe({
        next: (value) => {
          if (subscriber.closed) return;
          slots.push({ value, index: index++, values: null, inner: undefined, done: false });
          pump();
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
      return () => {
        sourceSub.unsubscribe();
        for (let i = head; i < next; i++) slots[i]?.inner?.unsubscribe();
      };
    });
}
