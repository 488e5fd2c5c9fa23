// The watcher's periodic relist (resyncInterval) and live, honest events during every kind of list,
// in virtual time: marbles stand in for the engine, everything above them is the real watcher.
import { expect } from 'chai';
import { type Observable, defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { EngineAdapter, EngineFeed, EngineInfo } from '../../lib/core/engine.js';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import { type Watcher, watch } from '../../lib/core/watcher.js';
import { EngineError } from '../../lib/errors.js';
import { type Container, newContainer } from '../../lib/model/container.js';
import type { Portfolio } from '../../lib/model/portfolio.js';
import { BEFORE, CHANGES, unexplained } from '../helpers/relist-cases.js';

const c = (id: string, pid = 100, paused = false): Container => newContainer({ id, name: `n-${id}`, pid, paused });
const feed = {
  L: { type: 'listening' },
  n: { type: 'started', container: c('n', 7), time: 1_000 },
  x: { type: 'exited', id: 'a', time: 1_001 },
  p: { type: 'paused', id: 'b', time: 1_002 },
  r: { type: 'started', container: c('a', 200), time: 1_003 },
} satisfies Record<string, EngineFeed>;
const boom = new EngineError('fake', 'unreachable', 'fake engine gone');

/** An adapter over marbles that records each snapshot call: when, and the size of the picture it was given. */
function relistAdapter(
  events: readonly Observable<EngineFeed>[],
  lists: readonly Observable<readonly Container[]>[],
  resyncInterval: number | undefined,
  now: () => number,
): EngineAdapter & { readonly calls: string[] } {
  let e = 0;
  let s = 0;
  const calls: string[] = [];
  return {
    engine: 'fake',
    endpoint: 'unix:///fake.sock',
    calls,
    ...(resyncInterval === undefined ? {} : { resyncInterval }),
    events: () => events[Math.min(e++, events.length - 1)]!,
    snapshot: (previous?: Portfolio) =>
      defer(() => {
        calls.push(`${now()}:${previous === undefined ? '-' : previous.total}`);
        return lists[Math.min(s++, lists.length - 1)]!;
      }),
    info: async (): Promise<EngineInfo> => ({ id: 'fake', type: 'docker.com', version: '0', api: 'unix:///fake.sock' }),
    dispose: () => undefined,
  };
}

/** `frame:type id[*]`: when lifecycle$ delivered each change. */
function recordLife(ww: Watcher, now: () => number): string[] {
  const seen: string[] = [];
  ww.lifecycle$.subscribe((e: LifecycleEvent) => seen.push(`${now()}:${e.type} ${e.container.id}${e.synthetic ? '*' : ''}`));
  return seen;
}

describe('watcher: periodic relist and live events during lists (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('relists resyncInterval after each list ends (the first list gets no picture, relists the current one), and nothing after close', () => {
    ts.run(({ cold, flush }) => {
      const adapter = relistAdapter([cold('L', feed)], [cold('--(l|)', { l: [c('a'), c('b')] })], 10, () => ts.now());
      const ww = watch(adapter, { scheduler: ts });
      ts.schedule(() => void ww.close(), 45);
      // bounded: a periodic relist left running after close stays in ts.actions instead of looping flush() forever
      ts.maxFrames = 1_000;
      flush();
      // lists end at 2, 14, 26, 38: each relist 10 after the previous list ended
      expect(adapter.calls).to.deep.equal(['0:-', '12:2', '24:2', '36:2']);
      expect(ts.actions.length, 'timers left after close').to.equal(0);
    });
  });

  it('a day of periodic relists (1,440 at 60 s): each exactly the period after the previous list ended, no drift, nothing left after close', () => {
    ts.run(({ cold, flush }) => {
      const DAY = 24 * 60 * 60 * 1_000;
      const adapter = relistAdapter([cold('L', feed)], [cold('--(l|)', { l: [c('a'), c('b')] })], 60_000, () => ts.now());
      const ww = watch(adapter, { scheduler: ts });
      ts.schedule(() => void ww.close(), DAY);
      ts.maxFrames = DAY + 1_000;
      flush();
      // list k starts at k × (60,000 + 2): each list takes 2, the period runs from its end
      const expected = Array.from({ length: Math.floor(DAY / 60_002) + 1 }, (_, k) => `${k * 60_002}:${k === 0 ? '-' : 2}`);
      expect(adapter.calls).to.have.length(1_440);
      expect(adapter.calls).to.deep.equal(expected);
      expect(ww.status.state).to.equal('stopped');
      expect(ts.actions.length, 'timers left after close').to.equal(0);
    });
  });

  it('a list slower than the period is never cancelled by the next one: the period runs from its end', () => {
    ts.run(({ cold, flush, expectSubscriptions }) => {
      const list = cold('---------------(l|)', { l: [c('a')] });
      const adapter = relistAdapter([cold('L', feed)], [list], 10, () => ts.now());
      const ww = watch(adapter, { scheduler: ts });
      ts.schedule(() => void ww.close(), 60);
      flush();
      expect(adapter.calls).to.deep.equal(['0:-', '25:1', '50:1']);
      expectSubscriptions(list.subscriptions).toBe(['^--------------!', '-------------------------^--------------!', '--------------------------------------------------^---------!']);
    });
  });

  it('no resyncInterval (or 0): lists only on the adapter\'s listening', () => {
    for (const interval of [undefined, 0]) {
      ts = new TestScheduler((actual, expected) => {
        expect(actual).to.deep.equal(expected);
      });
      ts.run(({ cold, flush }) => {
        const adapter = relistAdapter([cold('L-------------------L', feed)], [cold('-(l|)', { l: [c('a')] })], interval, () => ts.now());
        const ww = watch(adapter, { scheduler: ts });
        ts.schedule(() => void ww.close(), 100);
        flush();
        expect(adapter.calls).to.deep.equal(['0:-', '20:1']);
      });
    }
  });

  it("an adapter's listening starts the cycle afresh (the period counts from its list)", () => {
    ts.run(({ cold, flush }) => {
      const adapter = relistAdapter([cold('L-----L', feed)], [cold('-(l|)', { l: [c('a')] })], 10, () => ts.now());
      const ww = watch(adapter, { scheduler: ts });
      ts.schedule(() => void ww.close(), 30);
      flush();
      // 0: first list (ends 1); 6: the adapter's resync (ends 7) cancels the wait for 11; then 17, 28
      expect(adapter.calls).to.deep.equal(['0:-', '6:1', '17:1', '28:1']);
    });
  });

  it('periodic relist: an exit, a pause and a start during the list are delivered when they arrive, real; the list (taken before them) undoes none; only a silent change is synthetic', () => {
    ts.run(({ cold, flush }) => {
      // first list at 0 (ends 1); relist at 11, its list ends at 16; x, p, n arrive at 12, 13, 14
      const events = cold('L-----------xpn', feed);
      const lists = [cold('-(l|)', { l: [c('a'), c('b')] }), cold('-----(l|)', { l: [c('a'), c('b'), c('u')] })];
      const adapter = relistAdapter([events], lists, 10, () => ts.now());
      const ww = watch(adapter, { scheduler: ts });
      const seen = recordLife(ww, () => ts.now());
      const totals: string[] = [];
      for (const t of [12, 13, 14]) ts.schedule(() => totals.push(`${t}:${ww.portfolio.total}`), t);
      ts.schedule(() => void ww.close(), 20);
      flush();
      expect(seen).to.deep.equal(['1:started a*', '1:started b*', '12:exited a', '13:paused b', '14:started n', '16:started u*']);
      expect(totals).to.deep.equal(['12:1', '13:1', '14:2']);
      expect(ww.portfolio.containers.map((x) => `${x.id}${x.paused ? ' paused' : ''}`).sort()).to.deep.equal(['b paused', 'n', 'u']);
      expect(ww.status.state).to.equal('stopped');
    });
  });

  it('periodic relist: a restart (exit, start with a new PID) during the list, the list taken between them, keeps the new process; both changes real, at arrival', () => {
    ts.run(({ cold, flush }) => {
      const events = cold('L-----------x-r', feed);
      const lists = [cold('-(l|)', { l: [c('a'), c('b')] }), cold('-----(l|)', { l: [c('b')] })];
      const ww = watch(relistAdapter([events], lists, 10, () => ts.now()), { scheduler: ts });
      const seen = recordLife(ww, () => ts.now());
      ts.schedule(() => void ww.close(), 20);
      flush();
      expect(seen).to.deep.equal(['1:started a*', '1:started b*', '12:exited a', '14:started a']);
      expect(ww.portfolio.byIdOnly('a')?.pid).to.equal(200);
    });
  });

  it('reconnect: events during the relist after the reconnect are live and real; what happened while away is synthetic', () => {
    ts.run(({ cold, flush }) => {
      const first = cold('L----#', feed, boom);
      const second = cold('L-p', feed);
      // while away: a exited silently, g started silently; the relist (at 105, ends 109) shows that
      const lists = [cold('(l|)', { l: [c('a'), c('b')] }), cold('----(l|)', { l: [c('b'), c('g')] })];
      const adapter = relistAdapter([first, second], lists, undefined, () => ts.now());
      const ww = watch(adapter, { scheduler: ts, retry: { random: () => 0, initialDelay: 100 }, exitDetailsTimeout: 0 });
      const seen = recordLife(ww, () => ts.now());
      const states: string[] = [];
      ww.status$.subscribe((s) => states.push(`${ts.now()}:${s.state}`));
      ts.schedule(() => void ww.close(), 200);
      flush();
      expect(seen).to.deep.equal(['0:started a*', '0:started b*', '107:paused b', '109:exited a*', '109:started g*']);
      expect(states).to.deep.equal(['0:connecting', '0:syncing', '0:live', '5:degraded', '105:syncing', '109:live', '200:stopped']);
      // the relist after the reconnect was given the last good picture
      expect(adapter.calls).to.deep.equal(['0:-', '105:2']);
    });
  });

  it('first sync: events during the list wait for it; a container only an event brought is a real start (at the event\'s time), an exit during the list leaves nothing', () => {
    ts.run(({ cold, flush }) => {
      const events = cold('L-xn', feed);
      const lists = [cold('-----(l|)', { l: [c('a'), c('b')] })];
      const ww = watch(relistAdapter([events], lists, undefined, () => ts.now()), { scheduler: ts });
      const changes: LifecycleEvent[] = [];
      ww.lifecycle$.subscribe((e) => changes.push(e));
      const totals: number[] = [];
      for (const t of [2, 3, 4]) ts.schedule(() => totals.push(ww.portfolio.total), t);
      ts.schedule(() => void ww.close(), 10);
      flush();
      expect(totals).to.deep.equal([0, 0, 0]);
      expect(changes.map((e) => `${e.type} ${e.container.id}${e.synthetic ? '*' : ''} @${e.time.getTime()}`)).to.deep.equal(['started b* @5', 'started n @1000']);
    });
  });
});

describe('watcher: every interleaving of an engine change with a relist, in marbles (virtual time)', () => {
  /** A marble of `length` frames with `at[frame] = char`. */
  const marble = (length: number, at: ReadonlyMap<number, string>) => Array.from({ length }, (_, f) => at.get(f) ?? '-').join('');
  const view = (cs: readonly Container[]) => cs.map((x) => `${x.id}:${x.pid}:${x.name}${x.paused ? ':paused' : ''}`).sort();

  for (const scenario of ['periodic relist', 'relist after a reconnect'] as const) {
    describe(scenario, () => {
      for (const change of CHANGES) {
        const n = change.steps.length;
        const placements: { name: string; where: 'before' | 'during' | 'after'; listSees: number }[] = [{ name: 'before the list', where: 'before', listSees: n }];
        for (let k = 0; k <= n; k++) placements.push({ name: k === 0 ? 'during the list, taken before it' : k === n ? 'during the list, taken after it' : `during the list, taken after ${k} of its ${n} events`, where: 'during', listSees: k });
        placements.push({ name: 'after the list', where: 'after', listSees: 0 });
        for (const at of placements) {
          it(`${change.name} ${at.name}: each event delivered at its frame, real; the list adds only the silent changes, synthetic`, () => {
            const ts = new TestScheduler((actual, expected) => {
              expect(actual).to.deep.equal(expected);
            });
            ts.run(({ cold, flush }) => {
              const world = (k: number) => (k === 0 ? BEFORE : change.steps[k - 1]!.after);
              const values: Record<string, EngineFeed> = { L: feed.L };
              change.steps.forEach((s, i) => (values[String(i)] = s.event));
              // periodic: one session; the first list ends at 1, the relist starts at 11 and its list arrives at 15.
              // reconnect: the first session fails at 6, the second starts at 16 (backoff 10), its list arrives at 20.
              const periodic = scenario === 'periodic relist';
              const relistAt = periodic ? 11 : 16;
              const listArrives = relistAt + 4;
              const frames = at.where === 'before' ? [3, 4] : at.where === 'during' ? [relistAt + 1, relistAt + 2] : [listArrives + 2, listArrives + 3];
              const first = new Map<number, string>([[0, 'L']]);
              const second = new Map<number, string>([[0, 'L']]);
              frames.slice(0, n).forEach((f, i) => {
                if (periodic || f < relistAt) first.set(f, String(i));
                else second.set(f - relistAt, String(i));
              });
              const sessions = periodic ? [cold(marble(30, first), values)] : [cold(`${marble(6, first)}#`, values, boom), cold(marble(20, second), values)];
              const listed = at.where === 'during' ? unexplained(world(at.listSees)) : at.where === 'before' ? unexplained(world(n)) : unexplained(BEFORE);
              const lists = [cold('-(l|)', { l: BEFORE }), cold('----(l|)', { l: listed })];
              const adapter = relistAdapter(sessions, lists, periodic ? 10 : undefined, () => ts.now());
              const ww = watch(adapter, { scheduler: ts, retry: { random: () => 0, initialDelay: 10 }, exitDetailsTimeout: 0 });
              const seen = recordLife(ww, () => ts.now());
              ts.schedule(() => void ww.close(), 24);
              flush();
              const expected: string[] = [];
              const silent = [`${listArrives}:exited g*`, `${listArrives}:started u*`];
              const events = change.steps.map((s, i) => s.live.map((l) => `${frames[i]}:${l}`));
              if (at.where === 'after') expected.push(...silent, ...events.flat());
              else expected.push(...events.flat(), ...silent);
              expect(seen.filter((s) => !s.startsWith('1:'))).to.deep.equal(expected);
              expect(view(ww.portfolio.containers)).to.deep.equal(view(unexplained(world(n))));
              expect(adapter.calls.map((call) => call.split(':')[0])).to.deep.equal(['0', String(relistAt)]);
            });
          });
        }
      }
    });
  }
});
