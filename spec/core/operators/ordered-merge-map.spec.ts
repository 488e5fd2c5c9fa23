import { expect } from 'chai';
import { EMPTY, type Observable, type ObservableInput, Subject, defer, from, map, of, range, tap, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import sinon from 'sinon';
import { orderedMergeMap } from '../../../lib/core/operators/ordered-merge-map.js';
import { type Recording, record } from '../../helpers/observe.js';

/** Far more than any unit test needs: a recursive drain overflows the stack long before this. */
const LONG = 200_000;

/** `undefined` when `values` is exactly 0, 1, …, n-1; else where and how it differs (a short message, not a 200,000-item diff). */
function notCounting(values: readonly number[], n: number): string | undefined {
  if (values.length !== n) return `${values.length} values instead of ${n} (last: ${values[values.length - 1]})`;
  const at = values.findIndex((v, i) => v !== i);
  return at < 0 ? undefined : `values[${at}] is ${values[at]}`;
}

/** `n` hot inners that the spec completes by hand, each emitting its own index. */
function gates(n: number): Subject<number>[] {
  return Array.from({ length: n }, () => new Subject<number>());
}

function release(gate: Subject<number>, value: number): void {
  gate.next(value);
  gate.complete();
}

function expectCompletedCounting(out: Recording<number>, n: number): void {
  expect(out.error).to.equal(undefined);
  expect(notCounting(out.values, n)).to.equal(undefined);
  expect(out.completed, 'completed').to.equal(true);
}

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

  it('a pending head streams its values straight through; later results wait for it', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-x-y-|');
      const b = cold('z|');
      const src = hot('a--b|');
      const map: Record<string, Observable<string>> = { a, b };
      expectObservable(src.pipe(orderedMergeMap((k) => map[k]!))).toBe('-x-y-(z|)');
      expectSubscriptions(src.subscriptions).toBe('^---!');
      expectSubscriptions(a.subscriptions).toBe('^----!');
      expectSubscriptions(b.subscriptions).toBe('---^!');
    });
  });

  it('a head that buffered values while waiting emits them before the ones it streams afterwards', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const a = cold('--(A|)');
      const b = cold('x------y|');
      const src = hot('-ab|');
      const map: Record<string, Observable<string>> = { a, b };
      expectObservable(src.pipe(orderedMergeMap((k) => map[k]!))).toBe('---(Ax)--y|');
      expectSubscriptions(a.subscriptions).toBe('-^-!');
      expectSubscriptions(b.subscriptions).toBe('--^-------!');
    });
  });

  it('with concurrency 1 runs one inner after the other and completes after the last', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('--(X|)');
      const src = hot('abc|');
      expectObservable(src.pipe(orderedMergeMap((k) => inner.pipe(map((x) => `${k}${x}`)), 1))).toBe('--a-b-(c|)', { a: 'aX', b: 'bX', c: 'cX' });
      expectSubscriptions(src.subscriptions).toBe('^--!');
      expectSubscriptions(inner.subscriptions).toBe(['^-!', '--^-!', '----^-!']);
    });
  });

  it('passes each source value its own index, also when it had to wait', () => {
    ts.run(({ hot, cold, expectObservable }) => {
      const src = hot('(abcd|)');
      const out = src.pipe(orderedMergeMap((k, i) => cold('-----(v|)', { v: `${k}${i}` }), 2));
      expectObservable(out).toBe('-----(ab)-(cd|)', { a: 'a0', b: 'b1', c: 'c2', d: 'd3' });
    });
  });

  it('completes only once the source has completed and every result is out', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('-(X|)');
      const src = hot('a----|');
      expectObservable(src.pipe(orderedMergeMap(() => inner))).toBe('-X---|');
      expectSubscriptions(src.subscriptions).toBe('^----!');
      expectSubscriptions(inner.subscriptions).toBe('^!');
    });
  });

  it('a source error errors the output at once and cancels the inners in flight', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('------x');
      const src = hot('a-b-#');
      expectObservable(src.pipe(orderedMergeMap(() => slow))).toBe('----#');
      expectSubscriptions(src.subscriptions).toBe('^---!');
      expectSubscriptions(slow.subscriptions).toBe(['^---!', '--^-!']);
    });
  });

  it('a projection that throws errors the output and cancels the inners in flight', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----x');
      const src = hot('a-b');
      const out = src.pipe(
        orderedMergeMap((k) => {
          if (k === 'b') throw new Error('projection failed');
          return slow;
        }),
      );
      expectObservable(out).toBe('--#', undefined, new Error('projection failed'));
      expectSubscriptions(src.subscriptions).toBe('^-!');
      expectSubscriptions(slow.subscriptions).toBe('^-!');
    });
  });

  it('a projection that returns no ObservableInput errors the output and cancels the inners in flight', () => {
    const slow = new Subject<string>();
    const src = new Subject<string>();
    let error: unknown;
    src.pipe(orderedMergeMap((k) => (k === 'b' ? (42 as unknown as Observable<string>) : slow))).subscribe({ error: (e: unknown) => (error = e) });
    src.next('a');
    src.next('b');
    expect(error).to.be.instanceOf(TypeError);
    expect(slow.observed, 'inner still subscribed').to.equal(false);
    expect(src.observed, 'source still subscribed').to.equal(false);
  });

  describe('long queues', () => {
    for (const kind of ['hot', 'async'] as const) {
      it(`drains ${LONG} synchronous inners queued behind a full set of slow (${kind}) ones, in source order`, async () => {
        const slots = 8;
        const held = gates(slots);
        const source = new Subject<number>();
        // counted by hand: a sinon spy recording 200,000 calls costs ten times the operator
        let calls = 0;
        let wrongIndex = 0;
        const project = (v: number, i: number): ObservableInput<number> => {
          calls += 1;
          if (i !== v) wrongIndex += 1;
          if (v >= slots) return of(v);
          // hot: completed by the spec; async: the same, seen through a promise (a later microtask)
          return kind === 'hot' ? held[v]! : from(new Promise<number>((resolve) => held[v]!.subscribe(resolve)));
        };
        const out = record(source.pipe(orderedMergeMap(project, slots)));
        for (let v = 0; v < LONG + slots; v++) source.next(v);
        source.complete();
        expect(calls, 'only a full set started').to.equal(slots);
        // the slow ones finish last first: everything queued runs behind the head, which holds it back
        for (let v = slots - 1; v >= 1; v--) release(held[v]!, v);
        if (kind === 'async') await Promise.resolve().then();
        expect(out.values).to.deep.equal([]);
        release(held[0]!, 0);
        await out.finished;
        expectCompletedCounting(out, LONG + slots);
        expect(calls).to.equal(LONG + slots);
        expect(wrongIndex, 'projections given the wrong index').to.equal(0);
      });
    }

    it('mixed synchronous and asynchronous inners keep the source order and the concurrency bound', async () => {
      const concurrency = 4;
      let live = 0;
      let most = 0;
      const out = record(
        range(0, LONG).pipe(
          orderedMergeMap(
            (v) =>
              defer(() => {
                live += 1;
                most = Math.max(most, live);
                // one in a thousand waits for a macrotask, the rest answer at once
                return v % 1000 === 0 ? timer(0).pipe(map(() => v)) : of(v);
              }).pipe(tap({ complete: () => (live -= 1) })),
            concurrency,
          ),
        ),
      );
      await out.finished;
      expectCompletedCounting(out, LONG);
      expect(most).to.equal(concurrency);
      expect(live).to.equal(0);
    });

    it('a synchronous source that emits everything and completes, with concurrency 1', () => {
      const out = record(range(0, LONG).pipe(orderedMergeMap((v, i) => of(v, i), 1)));
      expect(out.completed).to.equal(true);
      expect(out.values.length).to.equal(2 * LONG);
      expect(out.values.findIndex((v, i) => v !== Math.floor(i / 2))).to.equal(-1);
    });

    it('an inner that errors while the queue is long errors the output once; nothing else runs', () => {
      const slots = 4;
      const held = gates(slots);
      const source = new Subject<number>();
      const project = sinon.spy((v: number): Observable<number> => (v < slots ? held[v]! : of(v)));
      const observer = { next: sinon.spy(), error: sinon.spy(), complete: sinon.spy() };
      source.pipe(orderedMergeMap(project, slots)).subscribe(observer);
      for (let v = 0; v < LONG; v++) source.next(v);
      const failure = new Error('inspection failed');
      held[2]!.error(failure);
      expect(held.map((g) => g.observed), 'inners still subscribed').to.deep.equal([false, false, false, false]);
      expect(source.observed, 'source still subscribed').to.equal(false);
      // nothing that happens afterwards reaches the output
      held[1]!.error(new Error('a second failure'));
      release(held[0]!, 0);
      source.complete();
      expect(observer.error.callCount, 'errors').to.equal(1);
      expect(observer.error.firstCall.args[0]).to.equal(failure);
      expect(observer.next.callCount, 'values').to.equal(0);
      expect(observer.complete.callCount, 'completions').to.equal(0);
      expect(project.callCount, 'projections').to.equal(slots);
    });

    it('a queued inner that errors in the middle of the drain stops it there', () => {
      const slots = 4;
      const failing = LONG / 2;
      const held = gates(slots);
      const source = new Subject<number>();
      let calls = 0;
      const project = (v: number): Observable<number> => {
        calls += 1;
        if (v < slots) return held[v]!;
        return v === failing ? throwError(() => new Error(`inner ${v} failed`)) : of(v);
      };
      const out = record(source.pipe(orderedMergeMap(project, slots)));
      for (let v = 0; v < LONG; v++) source.next(v);
      source.complete();
      release(held[0]!, 0);
      expect((out.error as Error | undefined)?.message).to.equal(`inner ${failing} failed`);
      expect(out.values).to.deep.equal([0]);
      expect(calls, 'projections').to.equal(failing + 1);
      expect(held.map((g) => g.observed)).to.deep.equal([false, false, false, false]);
    });

    it('unsubscribing in the middle of a long drain calls no further projection', () => {
      const held = gates(1);
      const source = new Subject<number>();
      const project = sinon.spy((v: number): Observable<number> => (v === 0 ? held[0]! : of(v)));
      const values: number[] = [];
      const sub = source.pipe(orderedMergeMap(project, 1)).subscribe((v) => {
        values.push(v);
        if (v === 1000) sub.unsubscribe();
      });
      for (let v = 0; v < LONG; v++) source.next(v);
      source.complete();
      expect(project.callCount).to.equal(1);
      release(held[0]!, 0);
      expect(notCounting(values, 1001)).to.equal(undefined);
      expect(project.callCount, 'projections').to.equal(1001);
      expect(sub.closed).to.equal(true);
    });

    it('unsubscribing while a long run of finished results is emitted stops the emission', () => {
      const slots = 4;
      const held = gates(slots);
      const source = new Subject<number>();
      const values: number[] = [];
      const sub = source.pipe(orderedMergeMap((v: number): Observable<number> => (v < slots ? held[v]! : of(v)), slots)).subscribe((v) => {
        values.push(v);
        if (v === 1000) sub.unsubscribe();
      });
      for (let v = 0; v < LONG; v++) source.next(v);
      for (let v = slots - 1; v >= 1; v--) release(held[v]!, v);
      expect(values).to.deep.equal([]);
      release(held[0]!, 0);
      expect(notCounting(values, 1001)).to.equal(undefined);
      expect(source.observed).to.equal(false);
    });
  });
});
