// What `whalewatcher watch` draws, and when: the engines' pictures, the recent
// events and the terminal's size combined into frames, throttled, with a tick
// for the clock and the uptimes. RxJS only, all time on the given scheduler
// (marble-tested in spec/cli/view-frames.spec.ts); no terminal here.

import {
  type Observable,
  type SchedulerLike,
  auditTime,
  catchError,
  combineLatest,
  filter,
  first,
  from,
  interval,
  map,
  merge,
  of,
  scan,
  startWith,
  switchMap,
} from 'rxjs';
import type { Watcher } from '../core/watcher.js';
import { type ViewEngine, type ViewEvent, type ViewModel, footerEvent } from './live-view.js';

/** @internal What the live view watches: the engines' pictures and one stream of lifecycle events. */
export interface ViewSource {
  /** Every engine's current picture, again on every change. */
  readonly engines$: Observable<readonly ViewEngine[]>;
  /** The lifecycle events of all engines, labelled with their engine. */
  readonly lifecycle$: Observable<ViewEvent>;
}

/** @internal A terminal's size. */
export interface TermSize {
  readonly width: number;
  readonly height: number;
}

/** @internal One frame to draw: the model, the size, and the time it is drawn for. */
export interface Frame extends TermSize {
  readonly model: ViewModel;
  readonly now: number;
}

/** @internal Options of {@link viewFrames}. */
export interface FrameOptions {
  readonly scheduler: SchedulerLike;
  /** At most one frame per this many ms, drawn from the newest state (default 100). */
  readonly throttle?: number;
  /** A frame at least this often, for the clock, uptimes and retry countdowns (default 1,000). */
  readonly tick?: number;
  /** How many recent events the model keeps (default 50). */
  readonly keepEvents?: number;
}

/**
 * The live view's frames: the newest engines, events and size, at most one
 * frame per `throttle` ms (`auditTime`: a burst of a thousand events draws
 * once, with the last state), and one every `tick` ms when nothing changes.
 * Cold; unsubscribing stops the tick and the sources.
 *
 * @internal
 */
export function viewFrames(source: ViewSource, size$: Observable<TermSize>, options: FrameOptions): Observable<Frame> {
  const { scheduler, throttle = 100, tick = 1_000, keepEvents = 50 } = options;
  const events$ = source.lifecycle$.pipe(
    filter(footerEvent),
    // newest first, bounded: O(keepEvents) per event whatever the number of containers
    scan((list: readonly ViewEvent[], e) => [e, ...list.slice(0, keepEvents - 1)], []),
    startWith([] as readonly ViewEvent[]),
  );
  const model$ = combineLatest([source.engines$, events$]).pipe(map(([engines, events]): ViewModel => ({ engines, events })));
  const tick$ = interval(tick, scheduler).pipe(startWith(0));
  return combineLatest([model$, size$, tick$]).pipe(
    auditTime(throttle, scheduler),
    map(([model, size]): Frame => ({ model, width: size.width, height: size.height, now: scheduler.now() })),
  );
}

/**
 * @internal The live view's source over the CLI's watchers: each engine's
 * status (timed on `scheduler`), portfolio and, once it is live, its info; the
 * lifecycle events of all of them merged.
 */
export function watcherSource(watchers: readonly { readonly label: string; readonly watcher: Watcher }[], scheduler: SchedulerLike): ViewSource {
  const one = ({ label, watcher }: { readonly label: string; readonly watcher: Watcher }): Observable<ViewEngine> => {
    const info$ = watcher.status$.pipe(
      first((s) => s.state === 'live'),
      switchMap(() => from(watcher.info()).pipe(catchError(() => of(undefined)))),
      startWith(undefined),
      catchError(() => of(undefined)), // closed before it was live
    );
    const status$ = watcher.status$.pipe(map((status) => ({ status, since: scheduler.now() })));
    return combineLatest([status$, watcher.portfolio$, info$]).pipe(
      map(([s, portfolio, info]): ViewEngine => ({ label, status: s.status, statusSince: s.since, info, portfolio })),
    );
  };
  return {
    engines$: combineLatest(watchers.map(one)),
    lifecycle$: merge(...watchers.map((w) => w.watcher.lifecycle$.pipe(map((event): ViewEvent => ({ engine: w.label, event }))))),
  };
}
