// Polling and recording helpers shared by the engine specs.
import type { Observable, Subscription } from 'rxjs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` until it returns a truthy value (returned) or throws
 * nothing; gives up after `timeout` ms with `what` in the message. Not a timed
 * assertion: the bound only keeps a broken spec from hanging.
 */
export async function eventually<T>(condition: () => T | Promise<T>, what: string, timeout = 20_000, interval = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`gave up waiting for ${what} after ${timeout} ms (last: ${detail})`);
    }
    await sleep(interval);
  }
}

/** Everything an observable did, for assertions. */
export interface Recording<T> {
  readonly values: T[];
  error: unknown;
  completed: boolean;
  readonly subscription: Subscription;
  /** Resolves when the observable errored or completed. */
  readonly finished: Promise<void>;
}

export function record<T>(source$: Observable<T>): Recording<T> {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const rec = { values: [] as T[], error: undefined as unknown, completed: false, finished } as Recording<T> & { subscription: Subscription };
  rec.subscription = source$.subscribe({
    next: (v) => rec.values.push(v),
    error: (e: unknown) => {
      rec.error = e;
      finish();
    },
    complete: () => {
      rec.completed = true;
      finish();
    },
  });
  return rec;
}
