import { type Observable, type OperatorFunction, filter, map, of } from 'rxjs';
import type { EngineFeed } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import type { Container } from '../../model/container.js';
import { type RawFeed, type StartHint, hintedType, isStartHint } from './start-hint.js';

/**
 * Resolves the start hints of a raw event stream: each hint is inspected
 * (`inspect`, up to `concurrency` at once) and becomes `started` with the
 * hint's time (`renamed` with the inspected name for a hint that
 * `resolvesTo` it), or nothing when the container is gone or no longer alive (its
 * exit follows anyway); every other item passes unchanged. Output keeps the
 * engine's order: nothing overtakes an earlier start still being inspected.
 * @internal
 */
export function resolveStarts<H extends StartHint>(inspect: (hint: H) => Observable<Container | null>, concurrency: number): OperatorFunction<RawFeed<H>, EngineFeed> {
  return orderedMergeMap((item: RawFeed<H>): Observable<EngineFeed> => {
    if (!isStartHint(item)) return of(item);
    const time = item.time;
    const renamed = hintedType(item) === 'renamed';
    return inspect(item).pipe(
      filter((container): container is Container => container !== null),
      // a rename that lost its new name: the name the inspection shows, as the rename event would have told it
      map((container): EngineFeed => Object.freeze(renamed ? { type: 'renamed', id: item.id, name: container.name, time } : { type: 'started', container, time })),
    );
  }, concurrency);
}
