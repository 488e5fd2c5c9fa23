import { type Observable, type SchedulerLike, Subscription, take, throwError, timeout, timer } from 'rxjs';
import type { EngineErrors } from './engine-error.js';

/** What a probe's failure was doing, for the engine's error mapper. @internal */
export const DEAD_PEER_WHAT = 'checking that the silent event stream is still connected';

/** What {@link deadPeerCheck} needs of an event stream. @internal */
export interface DeadPeerWatch {
  /** `deadPeerTimeout` in ms; 0 (or less): no check. */
  readonly bound: number;
  readonly scheduler: SchedulerLike;
  readonly errors: EngineErrors;
  /** When the stream last received anything (scheduler time). */
  heard(): number;
  /**
   * Cold: makes the peer prove it is there (Docker: `GET /_ping`; containerd:
   * a heartbeat published that comes back on the stream). Emits or completes
   * once proven; an error is a dead peer too.
   */
  probe(): Observable<unknown>;
  /** Fails the stream: with the `deadPeer` error, or with the probe's own failure (map it as for {@link DEAD_PEER_WHAT}). */
  fail(err: unknown): void;
  /**
   * Drops the connection the dead peer was on, so that the reconnect after
   * `fail` opens a new one instead of waiting on the dead one (a gRPC
   * channel: `GrpcConnection.reset()`). Called just before `fail`.
   */
  drop?(): void;
}

/**
 * The one dead-peer check of every engine's event stream: a peer that vanished
 * without closing the connection (a NAT or firewall timeout, a host gone, a
 * stalled proxy) sends nothing, and an idle stream carries no traffic of its
 * own. Every third of the bound, a stream silent for a third gets a probe that
 * must answer within another third: so a dead peer is noticed within
 * `deadPeerTimeout` of the last traffic and the stream fails with a
 * `deadPeer` error (code `unreachable`; the watcher reconnects) after the
 * connection was dropped (`drop`), so the reconnect does not wait on it. One probe at a
 * time; all time on the scheduler; the check ends after telling a dead peer.
 * Unsubscribing stops the timer and a probe in flight.
 *
 * @internal
 */
export function deadPeerCheck(watch: DeadPeerWatch): Subscription {
  const { bound, scheduler, errors } = watch;
  if (!(bound > 0)) return Subscription.EMPTY;
  const third = Math.max(1, Math.floor(bound / 3));
  // The probe in flight, if any.
  let probing: Subscription | undefined;
  const check = timer(third, third, scheduler).subscribe(() => {
    if (probing !== undefined || scheduler.now() - watch.heard() < third) return;
    // Set once the probe answered or failed (also when that happened before subscribe returned).
    let over = false;
    const sub = watch
      .probe()
      .pipe(
        take(1),
        timeout({ first: third, scheduler, with: () => throwError(() => errors.deadPeer(DEAD_PEER_WHAT, bound)) }),
      )
      .subscribe({
        error: (err: unknown) => {
          over = true;
          // a dead peer is told once: the check ends with it
          check.unsubscribe();
          watch.drop?.();
          watch.fail(err);
        },
        complete: () => {
          over = true;
          probing = undefined;
        },
      });
    if (!over) probing = sub;
  });
  check.add(() => probing?.unsubscribe());
  return check;
}
