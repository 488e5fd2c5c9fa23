import { expect } from 'chai';
import { NEVER, Observable, Subject, config, map, of, startWith, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import sinon from 'sinon';
import type { EngineAdapter, EngineFeed, EngineInfo, ExitDetails } from '../../lib/core/engine.js';
import type { LifecycleEvent, WatcherStatus } from '../../lib/core/fold.js';
import { watch, watchInputs } from '../../lib/core/watcher.js';
import { EngineError } from '../../lib/errors.js';
import { type Container, newContainer } from '../../lib/model/container.js';
import { type Portfolio, listStats } from '../../lib/model/portfolio.js';
import { fakeEngine } from '../../lib/testing/index.js';

const c = (id: string, pid = 100, paused = false): Container => newContainer({ id, name: `n-${id}`, pid, paused });
const L: EngineFeed = { type: 'listening' };
const feed = {
  L,
  s: { type: 'started', container: c('s'), time: 1 },
  x: { type: 'exited', id: 'a', time: 2 },
  p: { type: 'paused', id: 'b', time: 3 },
  y: { type: 'exited', id: 's', time: 4 },
} satisfies Record<string, EngineFeed>;
const boom = new EngineError('fake', 'unreachable', 'fake engine gone');

/**
 * An adapter over marble observables: attempt i of the watcher gets events[i]
 * and snapshots[i] (the last ones repeat). The observables stand in for the
 * engine; everything above them is the real watcher.
 */
function marbleAdapter(events: Observable<EngineFeed>[], snapshots: Observable<readonly Container[]>[]): EngineAdapter & { disposed: number } {
  let e = 0;
  let s = 0;
  return {
    engine: 'fake',
    endpoint: 'unix:///fake.sock',
    disposed: 0,
    events: () => events[Math.min(e++, events.length - 1)] as Observable<EngineFeed>,
    snapshot: () => snapshots[Math.min(s++, snapshots.length - 1)] as Observable<readonly Container[]>,
    info: async (): Promise<EngineInfo> => ({ id: 'fake', type: 'docker.com', version: '0', api: 'unix:///fake.sock' }),
    dispose() {
      this.disposed += 1;
    },
  };
}
const life = (e: LifecycleEvent) => `${e.type} ${e.container.id}${e.synthetic ? '*' : ''}`;
const noJitter = { random: () => 0 };

describe('watcher (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('subscribes to events before it lists, and lists only once the engine accepted the stream', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const events = cold<EngineFeed>('--L--x', feed);
      const list = cold<readonly Container[]>('---(l|)', { l: [c('a')] });
      const inputs = watchInputs(marbleAdapter([events], [list]), { scheduler: ts });
      expectObservable(inputs.pipe(map((i) => i.type[0]))).toBe('c-l--(es)', { c: 'c', l: 'l', e: 'e', s: 's' });
      expectSubscriptions(events.subscriptions).toBe('^');
      expectSubscriptions(list.subscriptions).toBe('--^--!');
    });
  });

  it('does not resurrect a container that exits while the list is in flight', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L-x', feed);
      const list = cold<readonly Container[]>('----(l|)', { l: [c('a'), c('b')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(life(e)));
      flush();
      expect(ww.portfolio.containers.map((x) => x.id)).to.deep.equal(['b']);
      expect(seen).to.deep.equal(['started b*']);
      void ww.close();
    });
  });

  it('retries an engine that stays down for a day of virtual time: capped delays, every attempt counted, one session at a time', () => {
    ts.run(({ cold, flush }) => {
      const DAY = 24 * 60 * 60 * 1000;
      let opened = 0;
      let open = 0;
      let most = 0;
      const down = new Observable<EngineFeed>((subscriber) => {
        opened += 1;
        open += 1;
        most = Math.max(most, open);
        const t = ts.schedule(() => subscriber.error(boom), 1);
        return () => {
          open -= 1;
          t.unsubscribe();
        };
      });
      const adapter = marbleAdapter([down], [cold<readonly Container[]>('-')]);
      const ww = watch(adapter, { scheduler: ts, retry: { ...noJitter } });
      const attempts: number[] = [];
      ww.status$.subscribe((st) => {
        if (st.state === 'degraded') attempts.push(st.attempt);
      });
      ts.schedule(() => void ww.close(), DAY);
      flush();
      // 500, 1000, …, 16000 ms, then 30 s each: (DAY - 31.5 s) / 30.001 s + 7 attempts, one ms of each session open
      const expected = 6 + Math.floor((DAY - 31_506) / 30_001) + 1;
      expect(attempts.length).to.be.within(expected - 1, expected + 1);
      expect(attempts.length).to.be.greaterThan(2_800);
      expect(attempts.every((a, i) => a === i + 1)).to.equal(true);
      // every failure opened one session; the last one may still be open when the day ends
      expect(opened - attempts.length).to.be.within(0, 1);
      expect(most).to.equal(1);
      expect(open).to.equal(0);
      expect(ww.status.state).to.equal('stopped');
    });
  });

  describe('exit details of inferred exits', () => {
    /** An adapter whose second session lists without `a`: its exit is inferred (synthetic). */
    function reconnecting(exitDetails: EngineAdapter['exitDetails'], second: Observable<EngineFeed>, cold: TestScheduler['createColdObservable']) {
      const first = cold<EngineFeed>('L---#', { L }, boom);
      const lists = [cold<readonly Container[]>('(l|)', { l: [c('a'), c('b')] }), cold<readonly Container[]>('(l|)', { l: [c('b')] })];
      const adapter = marbleAdapter([first, second], lists);
      return exitDetails === undefined ? adapter : Object.assign(adapter, { exitDetails });
    }

    it('asks the engine after the fact and delivers the batch with the details; the portfolio does not wait, later changes queue behind it', () => {
      ts.run(({ cold, flush }) => {
        const asked: string[] = [];
        const exitDetails = (id: string) => {
          asked.push(id);
          return cold<ExitDetails | null>('-----(e|)', { e: { code: 137 } });
        };
        const second = cold<EngineFeed>('L-x', { L, x: { type: 'exited', id: 'b', time: 9 } });
        const ww = watch(reconnecting(exitDetails, second, cold), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
        const seen: { at: number; line: string }[] = [];
        ww.lifecycle$.subscribe((e) => seen.push({ at: ts.now(), line: `${life(e)}${e.exit === undefined ? '' : ` code=${e.exit.code}`}` }));
        let goneAt = -1;
        ww.portfolio$.subscribe((p) => {
          if (goneAt < 0 && p.container('a') === undefined && p.container('b') !== undefined && ts.now() > 0) goneAt = ts.now();
        });
        flush();
        expect(asked).to.deep.equal(['a']);
        // reconnect at 14 (failure at 4 + 10 ms backoff): the list drops a at once, its exit waits 5 ms for its code
        expect(goneAt).to.equal(14);
        expect(seen.slice(0, 2).map((x) => `${x.at}:${x.line}`).sort()).to.deep.equal(['0:started a*', '0:started b*']);
        expect(seen.slice(2)).to.deep.equal([
          { at: 19, line: 'exited a* code=137' },
          { at: 19, line: 'exited b' },
        ]);
        void ww.close();
      });
    });

    it('waits at most exitDetailsTimeout, then delivers without details; 0 turns the asking off', () => {
      ts.run(({ cold, flush }) => {
        const silent = () => cold<ExitDetails | null>('-');
        const ww = watch(reconnecting(silent, cold<EngineFeed>('L', { L }), cold), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 }, exitDetailsTimeout: 100 });
        const seen: string[] = [];
        ww.lifecycle$.subscribe((e) => seen.push(`${ts.now()}:${life(e)}:${e.exit === undefined ? '-' : 'details'}`));
        flush();
        expect(seen.slice(2)).to.deep.equal(['114:exited a*:-']);
        void ww.close();
      });
      ts.run(({ cold, flush }) => {
        const never = sinon.spy(() => cold<ExitDetails | null>('-'));
        const t0 = ts.now(); // virtual time goes on from the run before
        const ww = watch(reconnecting(never, cold<EngineFeed>('L', { L }), cold), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 }, exitDetailsTimeout: 0 });
        const seen: string[] = [];
        ww.lifecycle$.subscribe((e) => seen.push(`${ts.now() - t0}:${life(e)}`));
        flush();
        expect(seen.slice(2)).to.deep.equal(['14:exited a*']);
        expect(never.called).to.equal(false);
        void ww.close();
      });
    });

    it('close() delivers what still waits, without details, and cancels the asking', () => {
      ts.run(({ cold, flush }) => {
        const pending = cold<ExitDetails | null>('-');
        const ww = watch(reconnecting(() => pending, cold<EngineFeed>('L', { L }), cold), { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
        const seen: string[] = [];
        ww.lifecycle$.subscribe({ next: (e) => seen.push(life(e)), complete: () => seen.push('|') });
        ts.schedule(() => void ww.close(), 50);
        flush();
        expect(seen.slice(0, 2).sort()).to.deep.equal(['started a*', 'started b*']);
        expect(seen.slice(2)).to.deep.equal(['exited a*', '|']);
        expect(pending.subscriptions.map((s) => [s.subscribedFrame, s.unsubscribedFrame])).to.deep.equal([[14, 50]]);
      });
    });
  });

  it('replays the newest details to a new lifecycle$ subscriber, also those that came without a lifecycle change', () => {
    ts.run(({ cold, flush }) => {
      const newer = newContainer({ id: 'a', name: 'n-a', pid: 100, labels: { tier: 'web' } });
      const events = cold<EngineFeed>('L--s', { L, s: { type: 'started', container: newer, time: 5 } });
      const list = cold<readonly Container[]>('-(l|)', { l: [c('a')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const early: string[] = [];
      ww.lifecycle$.subscribe((e) => early.push(`${e.type} ${e.container.labels['tier'] ?? '-'}`));
      flush();
      const late: string[] = [];
      ww.lifecycle$.subscribe((e) => late.push(`${e.type} ${e.container.labels['tier'] ?? '-'}`)).unsubscribe();
      // the same PID again: no change for the early subscriber, the new labels for the late one
      expect(early).to.deep.equal(['started -']);
      expect(late).to.deep.equal(['started web']);
      void ww.close();
    });
  });

  it('replays the current picture to a new lifecycle$ subscriber after a rename: the new name, not the old', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L--r', { L, r: { type: 'renamed', id: 'a', name: 'moved', time: 5 } });
      const list = cold<readonly Container[]>('-(l|)', { l: [c('a')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const early: string[] = [];
      ww.lifecycle$.subscribe((e) => early.push(`${e.type} ${e.container.name}${e.previousName === undefined ? '' : ` (was ${e.previousName})`}`));
      flush();
      const late: string[] = [];
      ww.lifecycle$.subscribe((e) => late.push(`${e.type} ${e.container.name}`)).unsubscribe();
      expect(early).to.deep.equal(['started n-a', 'renamed moved (was n-a)']);
      expect(late).to.deep.equal(['started moved']);
      void ww.close();
    });
  });

  it('replays a pause seen during the list and counts a start seen by both once', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L-ps', feed);
      const list = cold<readonly Container[]>('-----(l|)', { l: [c('b'), c('s')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(life(e)));
      flush();
      expect(ww.portfolio.container('b')?.paused).to.equal(true);
      expect(seen.sort()).to.deep.equal(['started b*', 'started s*']);
      void ww.close();
    });
  });

  it('goes connecting → syncing → live, then applies live events in engine order', () => {
    let ww: ReturnType<typeof watch> | undefined;
    const statuses: string[] = [];
    const seen: string[] = [];
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L---s-y', feed);
      const list = cold<readonly Container[]>('--(l|)', { l: [] });
      ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      ww.status$.subscribe((s) => statuses.push(`${ts.now()}:${s.state}`));
      ww.lifecycle$.subscribe((e) => seen.push(`${ts.now()}:${life(e)}`));
      flush();
    });
    expect(statuses).to.deep.equal(['0:connecting', '0:syncing', '2:live']);
    expect(seen).to.deep.equal(['4:started s', '6:exited s']);
    void ww?.close();
  });

  it('lists again on every later listening (resync), staying live', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const events = cold<EngineFeed>('L----L', feed);
      const list1 = cold<readonly Container[]>('-(l|)', { l: [c('a')] });
      const list2 = cold<readonly Container[]>('-(l|)', { l: [c('a'), c('m')] });
      const ww = watch(marbleAdapter([events], [list1, list2]), { scheduler: ts });
      const statuses: string[] = [];
      const seen: string[] = [];
      ww.status$.subscribe((s) => statuses.push(s.state));
      ww.lifecycle$.subscribe((e) => seen.push(life(e)));
      flush();
      expectSubscriptions(list1.subscriptions).toBe('^!');
      expectSubscriptions(list2.subscriptions).toBe('-----^!');
      expect(statuses).to.deep.equal(['connecting', 'syncing', 'live']);
      expect(seen).to.deep.equal(['started a*', 'started m*']);
      void ww.close();
    });
  });

  it('retries with capped exponential backoff and says degraded with the typed error', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const ok = cold<EngineFeed>('L', feed);
      const list = cold<readonly Container[]>('(l|)', { l: [c('a')] });
      const ww = watch(marbleAdapter([failing, failing, failing, ok], [list]), {
        scheduler: ts,
        retry: { ...noJitter, initialDelay: 100, maxDelay: 250 },
      });
      const statuses: string[] = [];
      ww.status$.subscribe((s) => statuses.push(s.state === 'degraded' ? `degraded#${s.attempt}:${s.retryIn}:${s.error.code}` : s.state));
      flush();
      // attempts at 0, 100, 300 (100 + 200), 550 (300 + capped 250)
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '100ms (^!)', '300ms (^!)']);
      expectSubscriptions(ok.subscriptions).toBe('550ms (^!)'); // close() below, at 550
      expect(statuses).to.deep.equal(['connecting', 'degraded#1:100:unreachable', 'degraded#2:200:unreachable', 'degraded#3:250:unreachable', 'syncing', 'live']);
      expect(ww.portfolio.total).to.equal(1);
      void ww.close();
    });
  });

  it('wires the backoff: a failure says disconnected with its attempt and delay, the next session starts when the delay ran out, giving up ends the inputs', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const inputs = watchInputs(marbleAdapter([failing], [NEVER]), { scheduler: ts, retry: { ...noJitter, initialDelay: 100, maxAttempts: 2 } });
      const names = { c: 'connecting', d: 'd1:100', e: 'd2:200', s: 'stopped' };
      expectObservable(inputs.pipe(map((i) => (i.type === 'disconnected' ? `d${i.attempt}:${i.retryIn}` : i.type)))).toBe('(cd) 96ms (ce) 196ms (cs|)', names);
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '100ms (^!)', '300ms (^!)']);
    });
  });

  it('unsubscribing while a backoff runs cancels its timer: no further session', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const inputs = watchInputs(marbleAdapter([failing], [NEVER]), { scheduler: ts, retry: { ...noJitter, initialDelay: 100 } });
      expectObservable(inputs.pipe(map((i) => i.type[0])), '50ms !').toBe('(cd)', { c: 'c', d: 'd' });
      expectSubscriptions(failing.subscriptions).toBe('(^!)');
    });
  });

  it('applies jitter within [d·(1−jitter), d]', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const ww = watch(marbleAdapter([failing, failing], [NEVER]), {
        scheduler: ts,
        retry: { initialDelay: 1000, jitter: 0.5, random: () => 0.9, maxAttempts: 1 },
      });
      flush();
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '550ms (^!)']); // 1000 · (1 − 0.5 · 0.9)
      void ww.close();
    });
  });

  it('starts the backoff afresh after a healthy period', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const healthy = cold<EngineFeed>('L 2000ms #', feed, boom);
      const list = cold<readonly Container[]>('(l|)', { l: [] });
      const ww = watch(marbleAdapter([failing, failing, healthy, failing, cold<EngineFeed>('L', feed)], [list]), {
        scheduler: ts,
        retry: { ...noJitter, initialDelay: 100, resetAfter: 1000 },
      });
      flush();
      // 0 fail, 100 fail, 300 healthy until 2301 fail → reset: next delay is 100 again (not 400)
      expectSubscriptions(healthy.subscriptions).toBe('300ms ^ 2000ms !');
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '100ms (^!)', '2401ms (^!)']);
      void ww.close();
    });
  });

  it('gives up after maxAttempts: status stopped with the error, portfolio kept', () => {
    ts.run(({ cold, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const ww = watch(marbleAdapter([failing], [NEVER]), { scheduler: ts, retry: { ...noJitter, maxAttempts: 2, initialDelay: 10 } });
      flush();
      expect(failing.subscriptions).to.have.length(3);
      expect(ww.status).to.deep.equal({ state: 'stopped', error: boom });
      void ww.close();
    });
  });

  it('with retry: false stops at the first failure', () => {
    ts.run(({ cold, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const ww = watch(marbleAdapter([failing], [NEVER]), { scheduler: ts, retry: false });
      flush();
      expect(failing.subscriptions).to.have.length(1);
      expect(ww.status.state).to.equal('stopped');
      void ww.close();
    });
  });

  describe('retry strategies in virtual time', () => {
    const other = new EngineError('fake', 'permission', 'fake engine says EACCES');
    /** Attempts that fail with these errors in turn, then one that goes live. */
    const attempts = (errors: EngineError[], ts2: TestScheduler) => {
      const failing = errors.map((e) => ts2.createColdObservable<EngineFeed>('#', undefined, e));
      const ok = ts2.createColdObservable<EngineFeed>('L', feed);
      return { failing, ok, adapter: marbleAdapter([...failing, ok], [ts2.createColdObservable<readonly Container[]>('(l|)', { l: [c('a')] })]) };
    };
    const statusLine = (s: WatcherStatus) =>
      s.state === 'degraded' ? `degraded#${s.attempt}:${s.retryIn}` : s.state === 'stopped' ? `stopped:${s.error?.code ?? '-'}` : s.state;

    it('a constant delay (a plain number): every retry that long after its failure, forever', () => {
      ts.run(({ expectSubscriptions, flush }) => {
        const { failing, ok, adapter } = attempts([boom, boom, boom], ts);
        const ww = watch(adapter, { scheduler: ts, retry: 40 });
        const statuses: string[] = [];
        ww.status$.subscribe((st) => statuses.push(statusLine(st)));
        flush();
        for (const [i, f] of failing.entries()) expectSubscriptions(f.subscriptions).toBe(`${i * 40}ms (^!)`.replace(/^0ms /, ''));
        expectSubscriptions(ok.subscriptions).toBe('120ms (^!)');
        expect(statuses).to.deep.equal(['connecting', 'degraded#1:40', 'degraded#2:40', 'degraded#3:40', 'syncing', 'live']);
        void ww.close();
      });
    });

    it('a function: the delays it returns, with the attempt count and the error of each failure', () => {
      ts.run(({ expectSubscriptions, flush }) => {
        const { failing, ok, adapter } = attempts([boom, other, boom], ts);
        const seen: string[] = [];
        const retry = (attempt: number, error: EngineError) => {
          seen.push(`${attempt}:${error.code}`);
          return attempt * 100;
        };
        const ww = watch(adapter, { scheduler: ts, retry });
        const statuses: string[] = [];
        ww.status$.subscribe((st) => statuses.push(statusLine(st)));
        flush();
        // attempts at 0, 100, 300 (100 + 200), then live at 600 (300 + 300)
        expectSubscriptions(failing.map((f) => f.subscriptions).flat()).toBe(['(^!)', '100ms (^!)', '300ms (^!)']);
        expectSubscriptions(ok.subscriptions).toBe('600ms (^!)');
        expect(seen).to.deep.equal(['1:unreachable', '2:permission', '3:unreachable']);
        expect(statuses).to.deep.equal(['connecting', 'degraded#1:100', 'degraded#2:200', 'degraded#3:300', 'syncing', 'live']);
        void ww.close();
      });
    });

    it('a function that returns false: stopped with the last error, the portfolio kept, no further session', () => {
      ts.run(({ cold, expectSubscriptions, flush }) => {
        const healthy = cold<EngineFeed>('L 50ms #', feed, boom);
        const failing = cold<EngineFeed>('#', undefined, other);
        const list = cold<readonly Container[]>('(l|)', { l: [c('a')] });
        const ww = watch(marbleAdapter([healthy, failing, failing], [list]), { scheduler: ts, retry: (attempt) => (attempt >= 2 ? false : 10) });
        const statuses: string[] = [];
        ww.status$.subscribe((st) => statuses.push(statusLine(st)));
        flush();
        expectSubscriptions(healthy.subscriptions).toBe('^ 50ms !');
        expectSubscriptions(failing.subscriptions).toBe('61ms (^!)');
        expect(statuses).to.deep.equal(['connecting', 'syncing', 'live', 'degraded#1:10', 'stopped:permission']);
        expect(ww.status).to.deep.equal({ state: 'stopped', error: other });
        expect(ww.portfolio.total).to.equal(1);
        void ww.close();
      });
    });

    it('a function that throws: gives up at once, stopped with a config error that has the throw as cause', () => {
      ts.run(({ cold, expectSubscriptions, flush }) => {
        const failing = cold<EngineFeed>('#', undefined, boom);
        const thrown = new TypeError('retry bug');
        const ww = watch(marbleAdapter([failing], [NEVER]), {
          scheduler: ts,
          retry: () => {
            throw thrown;
          },
        });
        flush();
        expectSubscriptions(failing.subscriptions).toBe('(^!)');
        const status = ww.status;
        expect(status.state).to.equal('stopped');
        if (status.state !== 'stopped') return;
        expect(status.error).to.include({ code: 'config', cause: thrown, engine: 'fake' });
        expect(status.error?.message).to.contain('fake engine gone');
        void ww.close();
      });
    });
  });

  it('containers$, projects$ and project().containers: one array per portfolio version for any number of readers, no index walk per event', () => {
    ts.run(({ flush }) => {
      const n = 500;
      const listed = Array.from({ length: n }, (_, i) => c(`c${i}`));
      const stream$ = new Subject<EngineFeed>();
      const ww = watch(marbleAdapter([stream$.pipe(startWith(L))], [of(listed)]), { scheduler: ts });
      const arrays = new Set<readonly Container[]>();
      const projectArrays = new Set<readonly Container[]>();
      ww.containers$.subscribe((cs) => arrays.add(cs));
      ww.containers$.subscribe((cs) => arrays.add(cs)); // a second reader gets the same arrays
      ww.projects$.subscribe((ps) => projectArrays.add(ps[0]!.containers));
      ww.portfolio$.subscribe((p) => projectArrays.add(p.project('')!.containers));
      flush();
      expect(ww.portfolio.total).to.equal(n);
      const made = listStats.made;
      const walked = listStats.walked;
      const events = 200;
      // each event alone (its own frame): every version's arrays are read
      for (let k = 0; k < events; k++) {
        stream$.next({ type: k % 2 === 0 ? 'paused' : 'unpaused', id: `c${((k >> 1) * 7) % n}`, time: k });
        flush();
      }
      expect(ww.portfolio.containers.filter((x) => x.paused)).to.have.length(0);
      // two arrays per event (the portfolio's and its project's), each derived from the previous one, none by a walk
      expect(listStats.made - made).to.equal(2 * events);
      expect(listStats.walked - walked).to.equal(0);
      expect(arrays.size).to.equal(1 + events); // the listed picture (in before they subscribed), then one per event
      expect(projectArrays.size).to.equal(1 + events);
      void ww.close();
    });
  });

  it('containers$ and projects$ pass a change that comes alone at once, and of a burst the first and the last version: two arrays, not one per event', () => {
    ts.run(({ flush }) => {
      const n = 500;
      const listed = Array.from({ length: n }, (_, i) => c(`c${i}`));
      const stream$ = new Subject<EngineFeed>();
      const ww = watch(marbleAdapter([stream$.pipe(startWith(L))], [of(listed)]), { scheduler: ts });
      flush();
      const seen: Portfolio[] = [];
      const counts: number[] = [];
      const projectCounts: number[] = [];
      ww.portfolio$.subscribe((p) => seen.push(p));
      ww.containers$.subscribe((cs) => counts.push(cs.filter((x) => x.paused).length));
      ww.projects$.subscribe((ps) => projectCounts.push(ps[0]!.containers.filter((x) => x.paused).length));
      expect(counts, 'the current value at once, on subscribe').to.deep.equal([0]);
      flush();
      const made = listStats.made;
      const walked = listStats.walked;
      // a change alone: at once, synchronously
      stream$.next({ type: 'paused', id: 'c0', time: 1 });
      expect(counts).to.deep.equal([0, 1]);
      flush();
      // a burst of 60 events in one synchronous run (one read of the engine's stream): the first at once, the last when the run ends
      const burst = 60;
      for (let k = 1; k <= burst; k++) stream$.next({ type: 'paused', id: `c${k}`, time: 1 + k });
      expect(counts).to.deep.equal([0, 1, 2]);
      expect(seen, 'portfolio$ has every version').to.have.length(1 + 1 + burst);
      flush();
      expect(counts).to.deep.equal([0, 1, 2, 1 + burst]);
      expect(projectCounts).to.deep.equal([0, 1, 2, 1 + burst]);
      let late: readonly Container[] | undefined;
      ww.containers$.pipe(take(1)).subscribe((cs) => (late = cs));
      expect(late).to.equal(ww.portfolio.containers);
      // 3 arrays of the portfolio and 3 of its project (the change alone, the burst's first and last), the burst's last derived from the first (one copy and 59 edits: fewer than n/8), none by a walk
      expect(listStats.made - made).to.equal(2 * 3);
      expect(listStats.walked - walked).to.equal(0);
      // on close, what the burst left is delivered before completing
      stream$.next({ type: 'unpaused', id: 'c0', time: 1000 });
      stream$.next({ type: 'unpaused', id: 'c1', time: 1001 });
      let completed = false;
      ww.containers$.subscribe({ complete: () => (completed = true) });
      void ww.close();
      flush();
      expect(counts).to.deep.equal([0, 1, 2, 1 + burst, burst, burst - 1]);
      expect(completed).to.equal(true);
    });
  });

  it('treats an event stream that ends as a failure and reconnects', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const ending = cold<EngineFeed>('L--|', feed);
      const list = cold<readonly Container[]>('(l|)', { l: [] });
      const ww = watch(marbleAdapter([ending, cold<EngineFeed>('L', feed)], [list]), { scheduler: ts, retry: { ...noJitter, initialDelay: 50 } });
      const statuses: string[] = [];
      ww.status$.subscribe((s) => statuses.push(s.state === 'degraded' ? `degraded:${s.error.code}` : s.state));
      flush();
      expectSubscriptions(ending.subscriptions).toBe('^--!');
      expect(statuses).to.deep.equal(['connecting', 'syncing', 'live', 'degraded:engine', 'syncing', 'live']);
      void ww.close();
    });
  });

  it('fails a session whose list never comes after syncTimeout', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L', feed);
      const ww = watch(marbleAdapter([events], [NEVER]), { scheduler: ts, syncTimeout: 1000, retry: false });
      flush();
      expect(ww.status.state).to.equal('stopped');
      expect(ww.status.state === 'stopped' && ww.status.error?.message).to.match(/did not list/);
      void ww.close();
    });
  });

  it('reconnect gap: keeps the last good picture, then emits only the true differences', () => {
    ts.run(({ cold, flush }) => {
      const first = cold<EngineFeed>('L----#', feed, boom);
      const second = cold<EngineFeed>('L', feed);
      const list1 = cold<readonly Container[]>('(l|)', { l: [c('a'), c('b'), c('c')] });
      const list2 = cold<readonly Container[]>('--(l|)', { l: [c('b', 100, true), c('c'), c('d')] });
      const ww = watch(marbleAdapter([first, second], [list1, list2]), { scheduler: ts, retry: { ...noJitter, initialDelay: 100 } });
      const seen: string[] = [];
      const totals: number[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(life(e)));
      ts.schedule(() => totals.push(ww.portfolio.total), 50); // degraded, waiting to retry
      ts.schedule(() => totals.push(ww.portfolio.total), 106); // resyncing, list in flight
      flush();
      expect(totals).to.deep.equal([3, 3]);
      expect(seen.slice(0, 3).sort()).to.deep.equal(['started a*', 'started b*', 'started c*']);
      expect(seen.slice(3).sort()).to.deep.equal(['exited a*', 'paused b*', 'started d*']);
      expect(ww.portfolio.containers.map((x) => x.id).sort()).to.deep.equal(['b', 'c', 'd']);
      void ww.close();
    });
  });

  it('lifecycle$: a late subscriber gets the alive ones as synthetic starts, then live changes, no gap, no duplicate', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L--s--y', feed);
      const list = cold<readonly Container[]>('(l|)', { l: [c('a')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const late: string[] = [];
      ts.schedule(() => ww.lifecycle$.subscribe((e) => late.push(life(e))), 4);
      flush();
      expect(late.slice(0, 2).sort()).to.deep.equal(['started a*', 'started s*']);
      expect(late.slice(2)).to.deep.equal(['exited s']);
      void ww.close();
    });
  });

  it('lifecycle$: subscribing from inside a portfolio$ callback neither misses nor repeats the change', () => {
    ts.run(({ cold, flush }) => {
      const events = cold<EngineFeed>('L--s', feed);
      const list = cold<readonly Container[]>('(l|)', { l: [c('a')] });
      const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
      const inner: string[] = [];
      let subscribed = false;
      ww.portfolio$.subscribe((p) => {
        if (!subscribed && p.container('s')) {
          subscribed = true;
          ww.lifecycle$.subscribe((e) => inner.push(life(e)));
        }
      });
      flush();
      expect(inner).to.deep.equal(['started a*', 'started s']);
      void ww.close();
    });
  });

  it('close() unsubscribes from the engine, disposes the adapter and completes every observable', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const events = cold<EngineFeed>('L', feed);
      const list = cold<readonly Container[]>('---(l|)', { l: [] });
      const adapter = marbleAdapter([events], [list]);
      const ww = watch(adapter, { scheduler: ts });
      const completed: string[] = [];
      ww.portfolio$.subscribe({ complete: () => completed.push('portfolio$') });
      ww.lifecycle$.subscribe({ complete: () => completed.push('lifecycle$') });
      ww.status$.subscribe({ complete: () => completed.push('status$') });
      ts.schedule(() => void ww.close(), 2);
      flush();
      expectSubscriptions(events.subscriptions).toBe('^-!');
      expectSubscriptions(list.subscriptions).toBe('^-!');
      expect(adapter.disposed).to.equal(1);
      expect(completed.sort()).to.deep.equal(['lifecycle$', 'portfolio$', 'status$']);
      expect(ww.status.state).to.equal('stopped');
    });
  });

  it('close() cancels a pending retry timer', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const failing = cold<EngineFeed>('#', undefined, boom);
      const ww = watch(marbleAdapter([failing], [NEVER]), { scheduler: ts, retry: { ...noJitter, initialDelay: 100 } });
      ts.schedule(() => void ww.close(), 50);
      flush();
      expectSubscriptions(failing.subscriptions).toBe('(^!)');
    });
  });
});

describe('watcher: failures of its own pipeline (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });
  const status = (s: WatcherStatus) => (s.state === 'degraded' ? `degraded#${s.attempt}:${s.retryIn}` : s.state);
  const retry = { ...noJitter, initialDelay: 100 };

  /** A started event without its container: the fold cannot apply it (a TypeError inside the fold). */
  const unfoldable = { type: 'started', container: null, time: 9 } as unknown as EngineFeed;
  /** An event whose `type` reads itself: the first operator that looks at it overflows the stack (a RangeError). */
  const overflowing = {
    get type(): string {
      return (this as { type: string }).type;
    },
  } as unknown as EngineFeed;

  const internal: { name: string; feed: EngineFeed; cause: ErrorConstructor }[] = [
    { name: 'a TypeError in the fold', feed: unfoldable, cause: TypeError },
    { name: 'a stack overflow (RangeError) in an operator between the adapter and the fold', feed: overflowing, cause: RangeError },
  ];
  for (const { name, feed: bad, cause } of internal) {
    it(`${name} → degraded with a typed internal-failure error, a retry with backoff, the last good portfolio kept`, () => {
      ts.run(({ cold, expectSubscriptions, flush }) => {
        const first = cold<EngineFeed>('L-s-b', { ...feed, b: bad });
        const second = cold<EngineFeed>('L', feed);
        const list1 = cold<readonly Container[]>('(l|)', { l: [c('a')] });
        const list2 = cold<readonly Container[]>('-(l|)', { l: [c('a'), c('m')] });
        const ww = watch(marbleAdapter([first, second], [list1, list2]), { scheduler: ts, retry });
        const statuses: string[] = [];
        const seen: string[] = [];
        const totals: number[] = [];
        ww.status$.subscribe((s) => statuses.push(`${ts.now()}:${status(s)}`));
        ww.lifecycle$.subscribe((e) => seen.push(life(e)));
        ts.schedule(() => totals.push(ww.portfolio.total), 50); // degraded, waiting to retry
        flush();
        expectSubscriptions(first.subscriptions).toBe('^---!');
        expectSubscriptions(second.subscriptions).toBe('104ms ^!'); // close() below, at 105
        expect(statuses).to.deep.equal(['0:connecting', '0:syncing', '0:live', '4:degraded#1:100', '104:syncing', '105:live']);
        expect(totals).to.deep.equal([2]); // a and s, from before the failure
        expect(seen).to.deep.equal(['started a*', 'started s', 'exited s*', 'started m*']);
        void ww.close();
      });
    });

    it(`${name}: the error is an EngineError that says it is an internal failure to report, with the original as cause`, () => {
      ts.run(({ cold, flush }) => {
        const ww = watch(marbleAdapter([cold<EngineFeed>('L-b', { L, b: bad }), cold<EngineFeed>('L', feed)], [cold('(l|)', { l: [c('a')] })]), { scheduler: ts, retry });
        let degraded: WatcherStatus | undefined;
        ww.status$.subscribe((s) => {
          if (s.state === 'degraded') degraded ??= s;
        });
        flush();
        expect(degraded?.state).to.equal('degraded');
        const error = (degraded as Extract<WatcherStatus, { state: 'degraded' }>).error;
        expect(error).to.be.instanceOf(EngineError);
        expect(error.code).to.equal('engine');
        expect(error.engine).to.equal('fake');
        expect(error.endpoint).to.equal('unix:///fake.sock');
        expect(error.message).to.match(/internal failure of whalewatcher/).and.match(/please report/);
        expect(error.cause).to.be.instanceOf(cause);
        expect(ww.portfolio.total).to.equal(1);
        void ww.close();
      });
    });
  }

  const throwing: { name: string; events: () => Observable<EngineFeed> }[] = [
    {
      name: "the adapter's events() throws synchronously on subscribe",
      events: () =>
        new Observable<EngineFeed>(() => {
          throw new TypeError('no socket path');
        }),
    },
    {
      name: "the adapter's events() throws when called",
      events: () => {
        throw new TypeError('no socket path');
      },
    },
  ];
  for (const { name, events } of throwing) {
    it(`${name} → an engine fault: degraded with toEngineError's error, retried with backoff`, () => {
      ts.run(({ cold, expectSubscriptions, flush }) => {
        const ok = cold<EngineFeed>('L', feed);
        let calls = 0;
        const adapter = marbleAdapter([ok], [cold('(l|)', { l: [c('a')] })]);
        const real = adapter.events;
        adapter.events = () => (calls++ < 2 ? events() : real());
        const ww = watch(adapter, { scheduler: ts, retry });
        const statuses: string[] = [];
        const errors: EngineError[] = [];
        ww.status$.subscribe((s) => {
          statuses.push(`${ts.now()}:${status(s)}`);
          if (s.state === 'degraded') errors.push(s.error);
        });
        flush();
        expect(statuses).to.deep.equal(['0:degraded#1:100', '100:degraded#2:200', '300:syncing', '300:live']); // the first failure came within watch()
        expectSubscriptions(ok.subscriptions).toBe('300ms (^!)'); // close() below, at 300
        for (const error of errors) {
          expect(error.code).to.equal('engine');
          expect(error.message).to.equal('fake: no socket path'); // the adapter's failure, not ours
          expect(error.cause).to.be.instanceOf(TypeError);
        }
        expect(ww.portfolio.total).to.equal(1);
        void ww.close();
      });
    });
  }

  it("the adapter's snapshot() throwing synchronously is an engine fault too", () => {
    ts.run(({ cold, flush }) => {
      const adapter = marbleAdapter([cold<EngineFeed>('L', feed)], [cold('(l|)', { l: [c('a')] })]);
      const real = adapter.snapshot;
      let calls = 0;
      adapter.snapshot = () => {
        if (calls++ === 0) throw new Error('list failed');
        return real();
      };
      const ww = watch(adapter, { scheduler: ts, retry });
      const statuses: string[] = [];
      ww.status$.subscribe((s) => statuses.push(s.state === 'degraded' ? `degraded:${s.error.message}` : s.state));
      flush();
      expect(statuses).to.deep.equal(['connecting', 'syncing', 'degraded:fake: list failed', 'syncing', 'live']);
      void ww.close();
    });
  });

  describe('a subscriber callback that throws', () => {
    let reported: unknown[];
    let before: typeof config.onUnhandledError;
    beforeEach(() => {
      reported = [];
      before = config.onUnhandledError;
      config.onUnhandledError = (err) => reported.push(err);
    });
    afterEach(() => {
      config.onUnhandledError = before;
    });

    it('is reported by RxJS and breaks neither the other subscribers of portfolio$, lifecycle$, status$ nor the watcher', () => {
      ts.run(({ cold, expectSubscriptions, flush }) => {
        const events = cold<EngineFeed>('L--s--y', feed);
        const list = cold<readonly Container[]>('(l|)', { l: [c('a')] });
        const ww = watch(marbleAdapter([events], [list]), { scheduler: ts });
        const oops = (what: string) => () => {
          throw new Error(`consumer bug in ${what}`);
        };
        // the rude subscribers come first, so they run before the polite ones on every value
        ww.portfolio$.subscribe(oops('portfolio$'));
        ww.lifecycle$.subscribe(oops('lifecycle$'));
        ww.status$.subscribe(oops('status$'));
        ww.portfolio$.pipe(map(oops('an operator on portfolio$'))).subscribe({ error: (e: unknown) => reported.push(e) });
        const totals: number[] = [];
        const seen: string[] = [];
        const statuses: string[] = [];
        ww.portfolio$.subscribe((p) => totals.push(p.total));
        ww.lifecycle$.subscribe((e) => seen.push(life(e)));
        ww.status$.subscribe((s) => statuses.push(s.state));
        ts.schedule(() => ww.lifecycle$.subscribe(oops('a late lifecycle$')), 4); // throws inside the synthetic replay
        ts.schedule(() => ww.lifecycle$.subscribe((e) => seen.push(`late ${life(e)}`)), 5);
        flush();
        expect(totals).to.deep.equal([0, 1, 2, 1]);
        expect(seen.slice(0, 2)).to.deep.equal(['started a*', 'started s']);
        expect(seen.slice(2, 4).sort()).to.deep.equal(['late started a*', 'late started s*']); // the replay, in portfolio order
        expect(seen.slice(4)).to.deep.equal(['exited s', 'late exited s']);
        expect(statuses).to.deep.equal(['connecting', 'syncing', 'live']);
        expect(ww.status.state).to.equal('live');
        expectSubscriptions(events.subscriptions).toBe('^-----!'); // the one session, until close() below at 6
        const messages = reported.map((e) => (e as Error).message);
        // the plain callbacks throw on every value; the piped one errors once and is gone
        expect(messages.filter((m) => m === 'consumer bug in portfolio$')).to.have.length(4);
        expect(messages.filter((m) => m === 'consumer bug in lifecycle$')).to.have.length(3);
        expect(messages.filter((m) => m === 'consumer bug in status$')).to.have.length(3);
        expect(messages.filter((m) => m === 'consumer bug in an operator on portfolio$')).to.have.length(1);
        expect(messages.filter((m) => m === 'consumer bug in a late lifecycle$')).to.have.length(3);
        void ww.close();
      });
    });
  });
});

describe('watcher promises', () => {
  it('ready resolves after the first synchronisation', async () => {
    const ww = watch(fakeEngine({ containers: [c('a')] }).adapter);
    await ww.ready;
    expect(ww.portfolio.total).to.equal(1);
    await ww.close();
  });

  it('ready rejects with a typed error when closed first, and is never an unhandled rejection', async () => {
    const fake = fakeEngine();
    fake.holdList(); // the first list never comes
    const ww = watch(fake.adapter);
    await ww.close();
    expect({ streams: fake.streams, pendingLists: fake.pendingLists, disposed: fake.disposed }).to.deep.equal({ streams: 0, pendingLists: 0, disposed: true });
    const err = await ww.ready.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(EngineError);
    expect((err as EngineError).code).to.equal('closed');
    // a second watcher closed without anyone awaiting ready must not trip unhandledRejection
    const held = fakeEngine();
    held.holdList();
    await watch(held.adapter).close();
  });

  it('never makes an unhandled rejection: close() resolves when dispose() throws (the failure shows in the final status), info() rejects instead of throwing', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fake = fakeEngine();
      fake.holdList();
      const adapter = { ...fake.adapter };
      adapter.dispose = () => {
        throw new Error('dispose failed');
      };
      adapter.info = () => {
        throw new Error('no info');
      };
      const ww = watch(adapter);
      const info = ww.info(); // a synchronous throw of the adapter becomes a rejection
      expect(await info.then(() => null, (e: unknown) => (e as Error).message)).to.equal('no info');
      void ww.close(); // not awaited, ready not awaited: nothing may surface as unhandled
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
      expect(ww.status.state).to.equal('stopped');
      const error = ww.status.state === 'stopped' ? ww.status.error : undefined;
      expect(error).to.be.instanceOf(EngineError);
      expect(error?.message).to.equal('fake: dispose failed');
      await ww.close(); // idempotent, resolves
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('ready rejects with the last engine error when a retry function gives up, and with the config error when it throws', async () => {
    const down = fakeEngine();
    down.refuse(Infinity, boom);
    const byFalse = watch(down.adapter, { retry: (attempt) => (attempt > 1 ? false : 1) });
    expect(await byFalse.ready.catch((e: unknown) => e)).to.equal(boom);
    await byFalse.close();
    const thrown = new Error('retry bug');
    const byThrow = watch(down.adapter, {
      retry: () => {
        throw thrown;
      },
    });
    const err = await byThrow.ready.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(EngineError).and.to.include({ code: 'config', cause: thrown });
    await byThrow.close();
  });

  it('ready rejects with the engine error when the watcher gives up', async () => {
    const fake = fakeEngine();
    fake.refuse(1, boom);
    const ww = watch(fake.adapter, { retry: false });
    const err = await ww.ready.catch((e: unknown) => e);
    expect(err).to.equal(boom);
    await ww.close();
  });
});
