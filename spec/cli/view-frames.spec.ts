import { expect } from 'chai';
import { concat, map, of, range, switchMap, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import type { ViewEngine, ViewEvent } from '../../lib/cli/live-view.js';
import { type Frame, type TermSize, viewFrames } from '../../lib/cli/view-frames.js';
import { newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

const container = (n: number) => newContainer({ id: `c${n}`, name: `c${n}`, pid: n + 1 });
const engineWith = (n: number): readonly ViewEngine[] => [
  { label: 'docker', status: { state: 'live' }, statusSince: 0, info: undefined, portfolio: Portfolio.of(Array.from({ length: n }, (_, i) => container(i))) },
];
const ev = (n: number, synthetic = false, type: LifecycleEvent['type'] = 'exited'): ViewEvent => ({
  engine: 'docker',
  event: { type, container: container(n), time: new Date(0), synthetic },
});
/** A frame in short: containers/events/width x height @ time. */
const short = (f: Frame) => `${f.model.engines[0]?.portfolio.total ?? '-'}/${f.model.events.length}/${f.width}x${f.height}@${f.now}`;
const SIZE: TermSize = { width: 80, height: 24 };

describe('CLI live view frames (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('draws once per throttle with the newest state (a burst draws once), and on every tick when nothing changes', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const engines = hot<readonly ViewEngine[]>('a 19ms b c d', { a: engineWith(1), b: engineWith(2), c: engineWith(3), d: engineWith(4) });
      const lifecycle = hot<ViewEvent>('-');
      const size = cold<TermSize>('s', { s: SIZE });
      const frames = viewFrames({ engines$: engines, lifecycle$: lifecycle }, size, { scheduler: ts, throttle: 10, tick: 100 }).pipe(map(short));
      expectObservable(frames, '^ 250ms !').toBe('10ms a 19ms d 79ms t 99ms u', {
        a: '1/0/80x24@10',
        d: '4/0/80x24@30',
        t: '4/0/80x24@110',
        u: '4/0/80x24@210',
      });
      expectSubscriptions(engines.subscriptions).toBe('^ 250ms !');
      expectSubscriptions(lifecycle.subscriptions).toBe('^ 250ms !');
    });
  });

  it('follows a resize with one frame of the new size', () => {
    ts.run(({ hot, expectObservable }) => {
      const engines = hot<readonly ViewEngine[]>('a', { a: engineWith(2) });
      const size = hot<TermSize>('s 49ms r', { s: SIZE, r: { width: 132, height: 40 } });
      const frames = viewFrames({ engines$: engines, lifecycle$: hot<ViewEvent>('-') }, size, { scheduler: ts, throttle: 10, tick: 1_000 }).pipe(map(short));
      expectObservable(frames, '^ 100ms !').toBe('10ms a 49ms r', { a: '2/0/80x24@10', r: '2/0/132x40@60' });
    });
  });

  it('a burst of 10,000 events draws once, keeping the newest 50 (newest first), without the replayed starts', () => {
    let last: Frame | undefined;
    ts.run(({ hot, cold, expectObservable }) => {
      const engines = hot<readonly ViewEngine[]>('a', { a: engineWith(1) });
      // at virtual time 5: 10,000 events, every other one the synthetic replay of a start, then one more exit
      const many = range(0, 10_000).pipe(map((i) => (i % 2 === 0 ? ev(i, true, 'started') : ev(i))));
      const lifecycle = cold('-----x').pipe(switchMap(() => concat(many, of(ev(-1)))));
      const frames = viewFrames({ engines$: engines, lifecycle$: lifecycle }, cold<TermSize>('s', { s: SIZE }), { scheduler: ts, throttle: 10, tick: 1_000 });
      expectObservable(
        frames.pipe(
          tap((f) => (last = f)),
          map(short),
        ),
        '^ 1100ms !',
      ).toBe('10ms a 999ms t', { a: '1/50/80x24@10', t: '1/50/80x24@1010' });
    });
    const names = last!.model.events.map((e) => e.event.container.name);
    expect(names[0]).to.equal('c-1');
    expect(names.slice(1, 4)).to.deep.equal(['c9999', 'c9997', 'c9995']);
    expect(last!.model.events.every((e) => !(e.event.synthetic && e.event.type === 'started'))).to.equal(true);
  });
});
