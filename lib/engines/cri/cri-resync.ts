import { Observable, type ObservableInput, type OperatorFunction, type Subscription, from } from 'rxjs';

/** @internal Options of {@link criResync}. */
export interface CriResyncOptions<M> {
  /** The value to insert (the adapter's `{ type: 'listening' }`). */
  readonly marker: M;
  /**
   * Subscribed right after the source; the first marker waits for its first
   * value (or its completion), and source values that come earlier are held
   * back until just after it. Its error errors the output. Default: open at once.
   */
  readonly gate$?: ObservableInput<unknown>;
}

/**
 * Inserts resync markers into an event stream whose subscription cannot be
 * confirmed (CRI `GetContainerEvents` sends nothing, not even headers, until
 * its first event) and whose events are only hints (containerd 1.7 replays,
 * splits and swallows them). The output is the source's values plus `marker`:
 *
 * - once when the gate opens (after subscribing to the source): the first sync;
 *   source values that arrived before are emitted right after this marker, so
 *   the output always starts with a marker;
 * - once right after the source's first value, if the gate is open by then:
 *   that value proves the stream is registered, so a relist now misses nothing.
 *
 * Periodic relists are the watcher's (`resyncInterval`), for every engine.
 * Source errors and completion pass through; unsubscribing ends the source
 * and the gate.
 *
 * @internal
 */
export function criResync<T, M>(options: CriResyncOptions<M>): OperatorFunction<T, T | M> {
  const { marker } = options;
  return (source) =>
    new Observable<T | M>((subscriber) => {
      let open = false;
      let seen = false;
      let early: T[] = []; // source values before the gate opened
      let gateSub: Subscription | undefined;

      const mark = (): void => {
        if (!subscriber.closed) subscriber.next(marker);
      };
      const openGate = (): void => {
        if (open) return;
        open = true;
        gateSub?.unsubscribe();
        mark();
        const held = early;
        early = [];
        for (const value of held) {
          if (subscriber.closed) break;
          subscriber.next(value);
        }
      };

      const sourceSub = source.subscribe({
        next: (value) => {
          if (!open) {
            // the gate's marker will come after this value arrived: it needs no mark of its own
            seen = true;
            early.push(value);
            return;
          }
          subscriber.next(value);
          if (!seen) {
            seen = true;
            mark();
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });

      if (!subscriber.closed) {
        if (options.gate$ === undefined) openGate();
        else {
          gateSub = from(options.gate$).subscribe({
            next: openGate,
            error: (e: unknown) => subscriber.error(e),
            complete: openGate,
          });
          if (open) gateSub.unsubscribe(); // opened synchronously, before `gateSub` was assigned
        }
      }

      return () => {
        sourceSub.unsubscribe();
        gateSub?.unsubscribe();
      };
    });
}
