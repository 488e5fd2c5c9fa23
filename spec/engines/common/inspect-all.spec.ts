import { expect } from 'chai';
import { type Observable, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import sinon from 'sinon';
import { inspectAll, inspectOneOf } from '../../../lib/engines/common/inspect-all.js';
import { type Container, newContainer } from '../../../lib/model/container.js';

const box = (id: string): Container => newContainer({ id, name: id, pid: 1 });

describe('inspectAll (the list\'s inspections, for every engine)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('emits the alive containers once, in the list\'s order whatever order the answers came in, and leaves out the gone', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('---(a|)', { a: box('a') });
      const b = cold('-(b|)', { b: null });
      const c = cold('--(c|)', { c: box('c') });
      const by: Record<string, Observable<Container | null>> = { a, b, c };
      expectObservable(inspectAll(['a', 'b', 'c'], inspectOneOf((t: string) => by[t]!), Infinity, (t) => String(t))).toBe('---(x|)', { x: [box('a'), box('c')] });
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b.subscriptions).toBe('^!');
    });
  });

  it('keeps at most `concurrency` inspections in flight and starts the next as one ends', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('---(a|)', { a: box('a') });
      const b = cold('-(b|)', { b: box('b') });
      const c = cold('-(c|)', { c: box('c') });
      const by: Record<string, Observable<Container | null>> = { a, b, c };
      expectObservable(inspectAll(['a', 'b', 'c'], inspectOneOf((t: string) => by[t]!), 2, (t) => String(t))).toBe('---(x|)', { x: [box('a'), box('b'), box('c')] });
      expectSubscriptions(c.subscriptions).toBe('-^!');
    });
  });

  it('an empty list is an empty picture at once', () => {
    ts.run(({ expectObservable }) => {
      expectObservable(inspectAll([], inspectOneOf(() => of(null)), 4, (t) => String(t))).toBe('(x|)', { x: [] });
    });
  });

  it('fails at the first failure and cancels the inspections still in flight', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----(a|)', { a: box('a') });
      const bad = cold<Container | null>('--#', undefined, new Error('boom'));
      const by: Record<string, Observable<Container | null>> = { slow, bad };
      expectObservable(inspectAll(['slow', 'bad'], inspectOneOf((t: string) => by[t]!), Infinity, (t) => String(t))).toBe('--#', undefined, new Error('boom'));
      expectSubscriptions(slow.subscriptions).toBe('^-!');
    });
  });

  it('unsubscribing cancels every inspection in flight and starts no more', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----(a|)', { a: box('a') });
      const project = sinon.spy(() => slow);
      expectObservable(inspectAll(['1', '2', '3'], inspectOneOf(project), 2, (t) => String(t)), '^--!').toBe('---');
      expectSubscriptions(slow.subscriptions).toBe(['^--!', '^--!']);
      ts.flush();
      expect(project.callCount).to.equal(2);
    });
  });

  it('200,000 inspections answering synchronously: no recursion, no stall, all in order', () => {
    const n = 200_000;
    const ids = Array.from({ length: n }, (_, i) => `c${i}`);
    let running = 0;
    let most = 0;
    // the callback form, answering before it returns
    const inspect = (id: string, done: (err: null, c: Container | null) => void) => {
      running += 1;
      most = Math.max(most, running);
      done(null, id.endsWith('7') ? null : box(id));
      running -= 1;
      return () => undefined;
    };
    let got: readonly Container[] | undefined;
    inspectAll(ids, inspect, 64, (t) => String(t)).subscribe((v) => (got = v));
    expect(got).to.have.length(n - n / 10);
    expect(got![0]!.id).to.equal('c0');
    expect(got![got!.length - 1]!.id).to.equal(`c${n - 1}`);
    expect(got!.every((c, i, all) => i === 0 || Number(c.id.slice(1)) > Number(all[i - 1]!.id.slice(1)))).to.equal(true);
    expect(most).to.equal(1);
  });

  it('a long list behind slow inspections, mixed with synchronous ones: all answered, in order', () => {
    ts.run(({ cold, expectObservable }) => {
      const n = 20_000;
      const ids = Array.from({ length: n }, (_, i) => i);
      const inspect = (i: number) => (i % 1000 === 0 ? cold('5ms (c|)', { c: box(`c${i}`) }) : throwErrorIf(i));
      const want = ids.map((i) => box(`c${i}`));
      // 20 slow ones, 16 places: the last 4 slow ones start when the first slow ones end, at 5 ms
      expectObservable(inspectAll(ids, inspectOneOf(inspect), 16, (t) => String(t))).toBe('10ms (x|)', { x: want });
    });
  });
});

function throwErrorIf(i: number): Observable<Container | null> {
  return i < 0 ? throwError(() => new Error('never')) : of(box(`c${i}`));
}
