import { expect } from 'chai';
import { EMPTY, type Observable, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { orderedMergeMap } from '../../../lib/core/operators/ordered-merge-map.js';

describe('orderedMergeMap', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('keeps engine order: an exit never overtakes the slow inspect of the start it follows', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inspect = cold('-----(S|)', { S: 'started+pid' });
      const events = hot('--s-x--|', { s: 'start', x: 'die' });
      const out = events.pipe(orderedMergeMap((e): Observable<string> => (e === 'start' ? inspect : of('exited'))));
      expectObservable(out).toBe('-------(SX|)', { S: 'started+pid', X: 'exited' });
      expectSubscriptions(inspect.subscriptions).toBe('--^----!');
    });
  });

  it('runs inspections in parallel up to the limit and queues the rest', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const a = cold('---(A|)');
      const b = cold('-(B|)');
      const c = cold('-(C|)');
      const src = hot('abc|');
      const map: Record<string, Observable<string>> = { a, b, c };
      expectObservable(src.pipe(orderedMergeMap((k) => map[k]!, 2))).toBe('---(ABC|)');
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b.subscriptions).toBe('-^!');
      expectSubscriptions(c.subscriptions).toBe('--^!');
    });
  });

  it('drops a value whose projection emits nothing (a start whose container is already gone)', () => {
    ts.run(({ hot, expectObservable }) => {
      const src = hot('-a-b-c|');
      expectObservable(src.pipe(orderedMergeMap((k) => (k === 'b' ? EMPTY : of(k.toUpperCase()))))).toBe('-A---C|');
    });
  });

  it('errors at once when a projection errors, and cancels the rest', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----x');
      const src = hot('ab');
      const out = src.pipe(orderedMergeMap<string, string>((k) => (k === 'a' ? slow : throwError(() => 'bad'))));
      expectObservable(out).toBe('-#', undefined, 'bad');
      expectSubscriptions(slow.subscriptions).toBe('^!');
    });
  });

  it('unsubscribing cancels the source and all work in flight', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('------x');
      const src = hot('a-b---');
      expectObservable(src.pipe(orderedMergeMap(() => slow)), '^--!').toBe('----');
      expectSubscriptions(src.subscriptions).toBe('^--!');
      expectSubscriptions(slow.subscriptions).toBe(['^--!', '--^!']);
    });
  });
});
