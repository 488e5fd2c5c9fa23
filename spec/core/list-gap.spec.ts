/**
 * One bad container never hides the others: the fold's and the watcher's handling of a list's gap (the
 * containers listed but not inspected), in pure steps and in virtual time, one marble spec per race.
 */
import { expect } from 'chai';
import { NEVER, type Observable, defer, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ContainerList, EngineAdapter, EngineFeed, EngineInfo } from '../../lib/core/engine.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type WatchState, type WatcherStatus, fold } from '../../lib/core/fold.js';
import { watch } from '../../lib/core/watcher.js';
import { EngineError } from '../../lib/errors.js';
import { type Container, newContainer } from '../../lib/model/container.js';
import { run, summary as steps } from '../helpers/fold-steps.js';

const c = (id: string, pid = 100): Container => newContainer({ id, name: `n-${id}`, pid });
const boom = new EngineError('fake', 'engine', 'inspecting container g answered HTTP 500');
const worse = new EngineError('fake', 'decode', 'the inspection of container g has no State object');
/** The changes as strings; those of one step sorted (a list's order within one batch is not the point here). */
const summary = (changes: readonly LifecycleEvent[]) => steps(changes).sort();
const ids = (s: WatchState) => s.portfolio.containers.map((x) => x.id).sort();
const missing = (s: WatcherStatus) => (s.state === 'live' ? (s.incomplete?.ids ?? []) : null);

const gapped = (containers: Container[], gap: string[], error = boom): FoldInput => ({ type: 'snapshot', containers, time: 5, gap: { ids: gap, error } });
const reinspected = (found: Container[], gone: string[] = [], failed: string[] = [], error?: EngineError): FoldInput => ({
  type: 'reinspected',
  found,
  gone,
  failed,
  time: 9,
  ...(error === undefined ? {} : { error }),
});
const ev = (event: Extract<FoldInput, { type: 'event' }>['event']): FoldInput => ({ type: 'event', event });

describe('list gap: the fold', () => {
  const live = run([{ type: 'connecting' }, { type: 'listening' }, gapped([c('a'), c('b')], ['g', 'h'])]);

  it('goes live without the missing containers, status live with incomplete ids and error', () => {
    expect(ids(live.state)).to.deep.equal(['a', 'b']);
    expect(live.state.status).to.deep.equal({ state: 'live', incomplete: { ids: ['g', 'h'], error: boom } });
    expect(live.state.everSynced).to.equal(true);
    expect(summary(live.changes)).to.deep.equal(['started a*', 'started b*']);
  });

  const table: { name: string; inputs: FoldInput[]; ids: string[]; missing: string[]; changes: string[]; error?: EngineError }[] = [
    { name: 'an answer folds the container in (synthetic start)', inputs: [reinspected([c('g')], [], ['h'])], ids: ['a', 'b', 'g'], missing: ['h'], changes: ['started g*'] },
    { name: 'gone answers drop them, no change', inputs: [reinspected([], ['g', 'h'])], ids: ['a', 'b'], missing: [], changes: [] },
    { name: 'a failure again keeps them, with the newer error', inputs: [reinspected([], [], ['g', 'h'], worse)], ids: ['a', 'b'], missing: ['g', 'h'], changes: [], error: worse },
    { name: 'an exit event settles one: a later alive answer does not resurrect it', inputs: [ev({ type: 'exited', id: 'g', time: 6 }), reinspected([c('g'), c('h')])], ids: ['a', 'b', 'h'], missing: [], changes: ['started h*'] },
    {
      name: 'a start event settles one: the event counts, a later answer is no second start',
      inputs: [ev({ type: 'started', container: c('g', 200), time: 6 }), reinspected([c('g', 100)], [], ['h'])],
      ids: ['a', 'b', 'g'],
      missing: ['h'],
      changes: ['started g'],
    },
    { name: 'a pause of a missing container changes nothing', inputs: [ev({ type: 'paused', id: 'g', time: 6 })], ids: ['a', 'b'], missing: ['g', 'h'], changes: [] },
    { name: 'a resync list without a gap makes it complete', inputs: [{ type: 'listening' }, { type: 'snapshot', containers: [c('a'), c('b'), c('g')], time: 7 }, reinspected([c('h')])], ids: ['a', 'b', 'g'], missing: [], changes: ['started g*'] },
    { name: 'a disconnect forgets the gap: answers of the old session are ignored', inputs: [{ type: 'disconnected', error: boom, attempt: 1, retryIn: 10 }, reinspected([c('g')])], ids: ['a', 'b'], missing: [], changes: [] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const { state, changes } = run(t.inputs, live.state);
      expect(ids(state)).to.deep.equal(t.ids);
      if (t.name.startsWith('a disconnect')) expect(state.status.state).to.equal('degraded');
      else expect(missing(state.status)).to.deep.equal(t.missing);
      expect(summary(changes)).to.deep.equal(t.changes);
      if (t.error !== undefined && state.status.state === 'live') expect(state.status.incomplete?.error).to.equal(t.error);
      if (t.missing.length === 0 && state.status.state === 'live') expect(state.status).to.deep.equal({ state: 'live' });
    });
  }

  it('an event seen during the list settles a missing container before it is ever missing', () => {
    const { state, changes } = run([{ type: 'connecting' }, { type: 'listening' }, ev({ type: 'started', container: c('g'), time: 4 }), gapped([c('a')], ['g'])]);
    expect(state.status).to.deep.equal({ state: 'live' });
    expect(ids(state)).to.deep.equal(['a', 'g']);
    // the first sync reports what only an event during the list brought as the engine's own start (not synthetic)
    expect(summary(changes)).to.deep.equal(['started a*', 'started g']);
  });

  it('a resync whose list cannot inspect a container the picture holds keeps it (no exit for a failed inspection)', () => {
    const before = run([{ type: 'connecting' }, { type: 'listening' }, { type: 'snapshot', containers: [c('a'), c('g')], time: 1 }]).state;
    const { state, changes } = run([{ type: 'listening' }, gapped([c('a')], ['g'])], before);
    expect(ids(state)).to.deep.equal(['a', 'g']);
    expect(missing(state.status)).to.deep.equal(['g']);
    expect(changes).to.deep.equal([]);
    // and gone when it answers gone
    const after = run([reinspected([], ['g'])], state);
    expect(summary(after.changes)).to.deep.equal(['exited g*']);
    expect(after.state.status).to.deep.equal({ state: 'live' });
  });

  it('a step that settles nothing returns the same state', () => {
    const step = fold(live.state, reinspected([c('x')], ['y']));
    expect(step.state).to.equal(live.state);
  });
});

/** An adapter over marbles: one event stream and one list whose gap's `reinspect` answers from `answers`, in turn. */
function gapAdapter(events: Observable<EngineFeed>, list: Observable<ContainerList>): EngineAdapter {
  return {
    engine: 'fake',
    endpoint: 'unix:///fake.sock',
    events: () => events,
    snapshot: () => list,
    info: async (): Promise<EngineInfo> => ({ id: 'fake', type: 'docker.com', version: '0', api: 'unix:///fake.sock' }),
    dispose: () => undefined,
  };
}

describe('list gap: the watcher (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  const withGap = (containers: Container[], gap: string[], reinspect: (id: string) => Observable<Container | null>): ContainerList =>
    Object.assign(containers, { gap: { ids: gap, error: boom, reinspect } });

  it('asks again with the retry backoff (100, 200, 400 ms) until it answers; one round per attempt; status says it all along', () => {
    ts.run(({ cold, flush, expectSubscriptions }) => {
      const answers = [cold<Container | null>('-#', undefined, boom), cold<Container | null>('-#', undefined, worse), cold<Container | null>('-(g|)', { g: c('g') })];
      let asked = 0;
      const list = cold<ContainerList>('-(l|)', { l: withGap([c('a')], ['g'], () => answers[asked++]!) });
      const ww = watch(gapAdapter(cold<EngineFeed>('L', { L: { type: 'listening' } }), list), {
        scheduler: ts,
        retry: { initialDelay: 100, factor: 2, jitter: 0 },
      });
      const statuses: string[] = [];
      ww.status$.subscribe((s) => statuses.push(`${ts.now()} ${s.state}${s.state === 'live' && s.incomplete ? ` missing ${s.incomplete.ids.join()} (${s.incomplete.error.code})` : ''}`));
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(`${ts.now()} ${e.type} ${e.container.id}`));
      flush();
      // the list at 1; asked at 101 (fails at 102), 302 (fails at 303), 703 (answers at 704)
      expectSubscriptions(answers[0]!.subscriptions).toBe('101ms ^!');
      expectSubscriptions(answers[1]!.subscriptions).toBe('302ms ^!');
      expectSubscriptions(answers[2]!.subscriptions).toBe('703ms ^!');
      expect(statuses).to.deep.equal(['0 connecting', '0 syncing', '1 live missing g (engine)', '303 live missing g (decode)', '704 live']);
      expect(seen).to.deep.equal(['1 started a', '704 started g']);
      void ww.close();
    });
  });

  it('a container that never answers is asked again for a day (no periodic relist): delays capped at maxDelay, one round each, incomplete all along, nothing left after close', () => {
    ts.run(({ cold, flush }) => {
      const DAY = 24 * 60 * 60 * 1_000;
      const asks: number[] = [];
      const list = cold<ContainerList>('-(l|)', {
        l: withGap([c('a')], ['g'], () =>
          defer(() => {
            asks.push(ts.now());
            return cold<Container | null>('-#', undefined, boom);
          }),
        ),
      });
      const ww = watch(gapAdapter(cold<EngineFeed>('L', { L: { type: 'listening' } }), list), {
        scheduler: ts,
        retry: { initialDelay: 500, factor: 2, maxDelay: 30_000, jitter: 0 },
      });
      const incomplete: boolean[] = [];
      ww.status$.subscribe((st) => incomplete.push(st.state === 'live' && st.incomplete !== undefined));
      ts.schedule(() => void ww.close(), DAY);
      ts.maxFrames = DAY + 1_000;
      flush();
      // 500, 1,000, …, 16,000, then every 30,000 (each round also takes the 1 frame its answer takes)
      const gaps = asks.slice(1).map((t, i) => t - asks[i]! - 1);
      expect(gaps.slice(0, 6)).to.deep.equal([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
      expect(gaps.slice(5).every((g) => g === 30_000)).to.equal(true);
      // the list ends at 1, the first ask 500 later; each round takes 1 more frame (its answer) before the next delay
      let at = 501;
      let expected = 0;
      for (let delay = 1_000; at < DAY; delay = Math.min(delay * 2, 30_000)) {
        expected += 1;
        at += 1 + delay;
      }
      expect(asks.length).to.equal(expected);
      // connecting, syncing, then live and incomplete until the close
      expect(incomplete.slice(0, 2)).to.deep.equal([false, false]);
      expect(incomplete.slice(2, -1).every(Boolean) && incomplete.length > 3).to.equal(true);
      expect(ts.actions.length, 'timers left after close').to.equal(0);
    });
  });

  it('race: the container exits while it is asked again; the late alive answer does not resurrect it', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L 150ms x', { L: { type: 'listening' }, x: { type: 'exited', id: 'g', time: 150 } });
      // asked at 11, the exit at 151, the (stale) answer at 211
      const list = cold<ContainerList>('-(l|)', { l: withGap([c('a')], ['g'], () => cold<Container | null>('200ms (g|)', { g: c('g') })) });
      const ww = watch(gapAdapter(events, list), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(`${e.type} ${e.container.id}`));
      flush();
      expect(ww.portfolio.containers.map((x) => x.id)).to.deep.equal(['a']);
      expect(ww.status).to.deep.equal({ state: 'live' });
      expect(seen).to.deep.equal(['started a']);
      void ww.close();
    });
  });

  it('race: a start event of the container while it is asked again counts once, with the event\'s PID', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L 50ms s', { L: { type: 'listening' }, s: { type: 'started', container: c('g', 200), time: 50 } });
      const list = cold<ContainerList>('-(l|)', { l: withGap([c('a')], ['g'], () => cold<Container | null>('100ms (g|)', { g: c('g', 100) })) });
      const ww = watch(gapAdapter(events, list), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(`${e.type} ${e.container.id} ${e.container.pid}`));
      flush();
      expect(ww.portfolio.container('g')?.pid).to.equal(200);
      expect(seen).to.deep.equal(['started a 100', 'started g 200']);
      void ww.close();
    });
  });

  it('a resync cancels the asking of the old gap; the new list decides', () => {
    ts.run(({ cold, flush, expectSubscriptions }) => {
      const slow = cold<Container | null>('1000ms (g|)', { g: c('g') });
      const lists = [cold<ContainerList>('-(l|)', { l: withGap([c('a')], ['g'], () => slow) }), cold<ContainerList>('-(l|)', { l: [c('a')] })];
      let n = 0;
      const adapter: EngineAdapter = { ...gapAdapter(cold<EngineFeed>('L 200ms L', { L: { type: 'listening' } }), lists[0]!), snapshot: () => lists[n++]! };
      const ww = watch(adapter, { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
      flush();
      expectSubscriptions(slow.subscriptions).toBe('11ms ^ 189ms !');
      expect(ww.status).to.deep.equal({ state: 'live' });
      expect(ww.portfolio.containers.map((x) => x.id)).to.deep.equal(['a']);
      void ww.close();
    });
  });

  it('with retry: false the gap is not asked again, and the status stays incomplete', () => {
    ts.run(({ cold, flush }) => {
      let asked = 0;
      const list = cold<ContainerList>('-(l|)', {
        l: withGap([c('a')], ['g'], () => {
          asked += 1;
          return of(c('g'));
        }),
      });
      const ww = watch(gapAdapter(cold<EngineFeed>('L', { L: { type: 'listening' } }), list), { scheduler: ts, retry: false });
      flush();
      expect(asked).to.equal(0);
      expect(ww.status).to.deep.equal({ state: 'live', incomplete: { ids: ['g'], error: boom } });
      void ww.close();
    });
  });
});

describe('sync timeout and request timeout (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  const cases: { name: string; requestTimeout?: number; syncTimeout?: number; fails: number }[] = [
    { name: 'default: 60 s for an adapter that does not say', fails: 60_000 },
    { name: 'default: 60 s over a 30 s request timeout', requestTimeout: 30_000, fails: 60_000 },
    { name: 'default: twice a request timeout of 100 s (never below the calls it bounds)', requestTimeout: 100_000, fails: 200_000 },
    { name: 'explicit: as given', requestTimeout: 100_000, syncTimeout: 5_000, fails: 5_000 },
  ];
  for (const t of cases) {
    it(`a list that never comes fails the session after the sync timeout — ${t.name}`, () => {
      ts.run(({ cold, flush }) => {
        const adapter: EngineAdapter = {
          ...gapAdapter(cold<EngineFeed>('L', { L: { type: 'listening' } }), NEVER),
          ...(t.requestTimeout === undefined ? {} : { requestTimeout: t.requestTimeout }),
        };
        const ww = watch(adapter, { scheduler: ts, retry: false, ...(t.syncTimeout === undefined ? {} : { syncTimeout: t.syncTimeout }) });
        let failedAt: number | undefined;
        ww.status$.subscribe((s) => {
          if (s.state === 'stopped' && failedAt === undefined) failedAt = ts.now();
        });
        flush();
        expect(failedAt).to.equal(t.fails);
        expect(ww.status.state === 'stopped' && ww.status.error?.message).to.match(new RegExp(`did not list its containers within ${t.fails} ms`));
        void ww.close();
      });
    });
  }
});
