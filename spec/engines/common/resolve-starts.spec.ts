import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import sinon from 'sinon';
import type { EngineFeed } from '../../../lib/core/engine.js';
import { resolveStarts } from '../../../lib/engines/common/resolve-starts.js';
import { LISTENING, type RawFeed, type StartHint } from '../../../lib/engines/common/start-hint.js';
import { type Container, newContainer } from '../../../lib/model/container.js';

const box = (id: string): Container => newContainer({ id, name: id, pid: 7 });
const hint = (id: string, time: number): StartHint => Object.freeze({ type: 'inspect', id, time });
const exited = (id: string, time: number): EngineFeed => Object.freeze({ type: 'exited', id, time });

describe('resolveStarts (start hint → inspect → started, in engine order, for every engine)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('an exit never overtakes the slow inspection of the start it follows; the start keeps the event\'s time', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inspection = cold('----(c|)', { c: box('a') });
      const raw = hot<RawFeed>('l-s-x-|', { l: LISTENING, s: hint('a', 11), x: exited('a', 12) });
      const out = raw.pipe(resolveStarts(() => inspection, 8));
      expectObservable(out).toBe('l-----(SX|)', { l: LISTENING, S: { type: 'started', container: box('a'), time: 11 }, X: exited('a', 12) });
      expectSubscriptions(inspection.subscriptions).toBe('--^---!');
    });
  });

  it('a start whose container is gone or not alive any more yields nothing', () => {
    ts.run(({ hot, cold, expectObservable }) => {
      const inspection = cold<Container | null>('-(n|)', { n: null });
      const raw = hot<RawFeed>('s-x|', { s: hint('a', 1), x: exited('a', 2) });
      expectObservable(raw.pipe(resolveStarts(() => inspection, 8))).toBe('--x|', { x: exited('a', 2) });
    });
  });

  it('a hint that `resolvesTo` a rename (its new name lost) becomes `renamed` with the inspected name and the event\'s time, in engine order; gone: nothing', () => {
    ts.run(({ hot, cold, expectObservable }) => {
      const renamedHint: StartHint = Object.freeze({ type: 'inspect', id: 'a', time: 5, resolvesTo: 'renamed' });
      const inspections: Record<string, Observable<Container | null>> = {
        a: cold('--(c|)', { c: newContainer({ id: 'a', name: 'fresh', pid: 7 }) }),
        g: cold<Container | null>('-(n|)', { n: null }),
      };
      const raw = hot<RawFeed>('r-g-x|', { r: renamedHint, g: { ...renamedHint, id: 'g', time: 6 }, x: exited('a', 12) });
      expectObservable(raw.pipe(resolveStarts((h) => inspections[h.id]!, 8))).toBe('--R-X|', { R: { type: 'renamed', id: 'a', name: 'fresh', time: 5 }, X: exited('a', 12) });
    });
  });

  it('inspects up to `concurrency` starts at once, and hands each hint to the engine\'s inspection', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inspection = cold('--(c|)', { c: box('x') });
      const inspect = sinon.spy((_h: StartHint): Observable<Container | null> => inspection);
      const raw = hot<RawFeed>('abc|', { a: hint('a', 1), b: hint('b', 2), c: hint('c', 3) });
      const S = (t: number) => ({ type: 'started', container: box('x'), time: t });
      expectObservable(raw.pipe(resolveStarts(inspect, 2))).toBe('--AB(C|)', { A: S(1), B: S(2), C: S(3) });
      // the third waits for a free place: it starts when the first inspection ends
      expectSubscriptions(inspection.subscriptions).toBe(['^-!', '-^-!', '--^-!']);
      ts.flush();
      expect(inspect.args.map(([h]) => h.id)).to.deep.equal(['a', 'b', 'c']);
    });
  });

  it('errors of an inspection error the feed (the watcher then reconnects)', () => {
    ts.run(({ hot, cold, expectObservable }) => {
      const raw = hot<RawFeed>('-s-x', { s: hint('a', 1), x: exited('a', 2) });
      const boom = new Error('boom');
      expectObservable(raw.pipe(resolveStarts(() => cold('-#', undefined, boom), 8))).toBe('--#', undefined, boom);
    });
  });
});
