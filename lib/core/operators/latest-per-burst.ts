import { type MonoTypeOperatorFunction, type SchedulerLike, asapScheduler, throttleTime } from 'rxjs';

/**
 * Passes a value that comes alone at once, and of the values that follow it
 * in the same synchronous run of code (one read of an engine's event stream
 * that held many events, a list folded in) only the last, once that run has
 * ended: `throttleTime(0, scheduler, { leading: true, trailing: true })`.
 * Nothing is lost but intermediate values nobody could have seen apart (they
 * came at the same moment), and nothing waits behind a timer: the trailing
 * value comes at the end of the run's microtasks (`asapScheduler`), or in the
 * same virtual frame under a `TestScheduler`. On completion the trailing value
 * (if any) comes first, at the end of the run.
 *
 * For the derived views whose every value costs O(n) to make (`containers$`
 * of a watcher and of the host view): a burst of k events costs two arrays,
 * not k.
 *
 * @internal
 */
export function latestPerBurst<T>(scheduler: SchedulerLike = asapScheduler): MonoTypeOperatorFunction<T> {
  return throttleTime<T>(0, scheduler, { leading: true, trailing: true });
}
