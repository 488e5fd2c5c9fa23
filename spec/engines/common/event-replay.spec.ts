import { expect } from 'chai';
import { type Observable, of, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { EngineFeed } from '../../../lib/core/engine.js';
import type { LifecycleEvent } from '../../../lib/core/fold.js';
import { watch } from '../../../lib/core/watcher.js';
import { type AdapterParts, adapterBase, defineAdapter } from '../../../lib/engines/common/define-adapter.js';
import { EVENT_REPLAY_SLACK, EventReplay, type ReplayLease } from '../../../lib/engines/common/event-replay.js';
import type { RawFeed, StartHint } from '../../../lib/engines/common/start-hint.js';
import { DOCKER_TERMS, toDockerError } from '../../../lib/engines/docker/docker-errors.js';
import { EngineError } from '../../../lib/errors.js';
import { type Container, newContainer } from '../../../lib/model/container.js';

/** The engine's clock in these specs: far from ours and from virtual time. */
const T0 = 1_600_000_000_000;
type Hint = StartHint<{ readonly pid: number }>;
const start = (id: string, at: number, pid = 100): Hint => Object.freeze({ type: 'inspect', id, time: T0 + at, pid });
const ev = (type: 'exited' | 'paused' | 'unpaused', id: string, at: number, code?: number): EngineFeed =>
  type === 'exited' && code !== undefined ? { type, id, time: T0 + at, exit: { code } } : { type, id, time: T0 + at };
const rename = (id: string, name: string, at: number): EngineFeed => ({ type: 'renamed', id, name, time: T0 + at });
const health = (id: string, at: number): EngineFeed => ({ type: 'health', id, health: 'healthy', time: T0 + at });
const container = (id: string, pid: number): Container => newContainer({ id, name: id, pid });
/** What the kit emits for a start hint once inspected. */
const started = (h: Hint): EngineFeed => ({ type: 'started', container: container(h.id, h.pid), time: h.time });

/** Runs `items` through a lease as the kit does (drop the stale, record the rest), returning what passes. */
function pass(lease: ReplayLease, items: readonly RawFeed<Hint>[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (!lease.fresh(item)) continue;
    const feed = item.type === 'inspect' ? (item.resolvesTo === 'renamed' ? { type: 'renamed' as const, id: item.id, name: `${item.id}-inspected`, time: item.time } : started(item)) : item;
    lease.delivered(feed);
    out.push(feed.type === 'started' ? `started:${feed.container.id}` : feed.type === 'listening' ? 'listening' : `${feed.type}:${feed.id}`);
  }
  return out;
}

describe('EventReplay (the bookkeeping of since and replayed duplicates)', () => {
  it('a first open asks for the last slack by the engine clock when the caller knows it, and nothing when not', () => {
    const replay = new EventReplay({ window: 60_000 });
    const lease = replay.open(0);
    expect(lease.since(T0)).to.equal(T0 - EVENT_REPLAY_SLACK);
    const other = new EventReplay({ window: 60_000 }).open(0);
    expect(other.since(undefined)).to.equal(undefined);
  });

  it('a reopened stream asks for the newest delivered engine time less the slack, whatever the caller\'s clock says', () => {
    const replay = new EventReplay({ window: 60_000 });
    const first = replay.open(0);
    expect(first.since(undefined)).to.equal(undefined); // tcp: our clock is not the engine's
    first.opened(undefined);
    pass(first, [ev('paused', 'a', 10), ev('unpaused', 'a', 2_000), ev('paused', 'a', 1_500)]);
    first.release(100);
    expect(replay.open(200).since(Date.now())).to.equal(T0 + 1_000);
  });

  it('the HTTP Date of the opening answer sets where a stream that delivered nothing replays from', () => {
    const replay = new EventReplay({ window: 60_000 });
    const first = replay.open(0);
    first.since(undefined);
    first.opened(T0);
    first.release(5);
    expect(replay.open(10).since(undefined)).to.equal(T0 - EVENT_REPLAY_SLACK);
  });

  it('drops every replayed kind it delivered (start, die, pause, unpause, rename, health), passes the gap and what comes after', () => {
    const replay = new EventReplay({ window: 60_000 });
    const delivered: RawFeed<Hint>[] = [
      start('x', 0, 1),
      ev('paused', 'x', 100),
      ev('unpaused', 'x', 200),
      rename('x', 'x2', 300),
      health('x', 400),
      ev('exited', 'x', 500, 0),
      start('x', 600, 2),
    ];
    const first = replay.open(0);
    first.opened(T0 - 10_000);
    expect(pass(first, delivered)).to.have.length(7);
    first.release(1);
    const second = replay.open(2);
    expect(second.since(undefined)).to.equal(T0 + 600 - EVENT_REPLAY_SLACK);
    second.opened(T0 + 2_000);
    const gap = [ev('paused', 'x', 600), ev('exited', 'x', 700, 137)];
    expect(pass(second, [{ type: 'listening' }, ...delivered, ...gap, start('y', 800)])).to.deep.equal(['listening', 'paused:x', 'exited:x', 'started:y']);
  });

  it('a hint that resolves to a rename is that rename: its replay is dropped, a start of the same id and time is not', () => {
    const replay = new EventReplay({ window: 60_000 });
    const renameHint: Hint = Object.freeze({ type: 'inspect', id: 'x', time: T0 + 100, pid: 100, resolvesTo: 'renamed' });
    const first = replay.open(0);
    first.opened(T0 - 10_000);
    expect(pass(first, [renameHint])).to.deep.equal(['renamed:x']);
    first.release(1);
    const second = replay.open(2);
    second.opened(T0 + 2_000);
    expect(pass(second, [renameHint, start('x', 100)])).to.deep.equal(['started:x']);
  });

  it('forgets after an outage longer than the window (counted from the last stream that opened), and never replays with window 0', () => {
    const replay = new EventReplay({ window: 1_000 });
    const first = replay.open(0);
    first.opened(T0);
    pass(first, [ev('paused', 'a', 50)]);
    first.release(100);
    // attempts that never opened do not end the outage
    for (const at of [600, 900, 1_050]) replay.open(at).release(at + 10);
    const late = replay.open(1_101);
    expect(late.since(undefined)).to.equal(undefined);
    expect(pass(late, [ev('paused', 'a', 50)])).to.deep.equal(['paused:a']); // nothing is remembered
    const off = new EventReplay({ window: 0 });
    const a = off.open(0);
    expect(a.since(T0)).to.equal(undefined);
    pass(a, [ev('paused', 'a', 50)]);
    a.release(1);
    const b = off.open(2);
    expect(b.since(T0)).to.equal(undefined);
    expect(pass(b, [ev('paused', 'a', 50)])).to.deep.equal(['paused:a']);
  });

  it('a second stream open at the same time neither asks for the first one\'s events nor drops any', () => {
    const replay = new EventReplay({ window: 60_000 });
    const first = replay.open(0);
    first.opened(T0);
    pass(first, [ev('paused', 'a', 50)]);
    const second = replay.open(1);
    expect(second.since(undefined)).to.equal(undefined);
    expect(second.since(T0 + 100)).to.equal(T0 + 100 - EVENT_REPLAY_SLACK);
    expect(pass(second, [ev('paused', 'a', 50)])).to.deep.equal(['paused:a']);
  });

  it('at real sizes: 100,000 events in one millisecond, replayed whole, pass once; memory stays bounded', () => {
    const replay = new EventReplay({ window: 60_000, memory: 4_096 });
    const burst: RawFeed<Hint>[] = [];
    for (let i = 0; i < 100_000; i++) burst.push(ev(i % 2 === 0 ? 'paused' : 'unpaused', `c${i}`, 10 + i / 100_000));
    const first = replay.open(0);
    first.opened(T0);
    expect(pass(first, burst)).to.have.length(100_000);
    expect(replay.remembered).to.be.at.most(4_096);
    first.release(1);
    const second = replay.open(2);
    // the floor rose past what was forgotten: the replay asks from there and drops it all
    expect(second.since(undefined)).to.be.above(T0 + 10);
    expect(pass(second, [...burst, ev('exited', 'c0', 20)])).to.deep.equal(['exited:c0']);
  });
});

describe('EventReplay in the kit, under the watcher (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  /** An adapter made by the kit over marble raw streams (attempt i gets raws[i]) and lists; records every `since`. */
  function kitAdapter(raws: Observable<RawFeed<Hint>>[], lists: Observable<readonly Container[]>[], window = 60_000) {
    const base = adapterBase({ scheduler: ts }, { terms: DOCKER_TERMS, endpoint: 'unix:///fake.sock', concurrency: 4, resyncInterval: 0, toError: toDockerError, isNotFound: () => false });
    const asked: (number | undefined)[] = [];
    let e = 0;
    let l = 0;
    const parts: AdapterParts<typeof base & { dispose(): void; replay: EventReplay }, Hint> = {
      rawEvents: (_client, lease) => {
        asked.push(lease.since(undefined));
        const raw = raws[Math.min(e++, raws.length - 1)]!;
        return raw.pipe(tap((f) => f.type === 'listening' && lease.opened(undefined)));
      },
      list: () => lists[Math.min(l++, lists.length - 1)]!,
      inspect: (_client, hint) => of(container(hint.id, hint.pid)),
      info: () => of({ id: 'fake', type: 'docker.com', version: '0', api: 'unix:///fake.sock' }),
    };
    const adapter = defineAdapter({ ...base, replay: new EventReplay({ window }), dispose: () => undefined }, parts);
    return { adapter, asked };
  }
  const boom = new EngineError('docker', 'engine', 'stream cut');
  const line = (e: LifecycleEvent) => `${e.type}:${e.container.id}:${e.container.pid}${e.synthetic ? '*' : ''}${e.exit?.code === undefined ? '' : `:${e.exit.code}`}`;

  // Before the cut: x starts, is paused, unpaused, renamed, gets healthy, exits and starts again (a restart); y starts.
  const before: Record<string, RawFeed<Hint>> = {
    L: { type: 'listening' },
    a: start('x', 0, 1),
    b: ev('paused', 'x', 100),
    c: ev('unpaused', 'x', 200),
    d: rename('x', 'x2', 300),
    e: health('x', 400),
    f: ev('exited', 'x', 500, 0),
    g: start('x', 600, 2),
    h: start('y', 700, 3),
  };
  // In the gap: y is paused, x is killed; after it, z starts.
  const gap: Record<string, RawFeed<Hint>> = { ...before, p: ev('paused', 'y', 800), k: ev('exited', 'x', 900, 137), z: start('z', 1_000, 4) };

  it('list answered before the replay: the gap arrives live, with its exit code, and nothing delivered before comes twice', () => {
    ts.run(({ cold, flush }) => {
      const first = cold<RawFeed<Hint>>('Labcdefgh-#', before, boom);
      // the engine replays from the slack before the newest delivered event: everything, then the gap
      const second = cold<RawFeed<Hint>>('L-abcdefghpk-z', gap);
      const lists = [cold<readonly Container[]>('(l|)', { l: [] }), cold<readonly Container[]>('(l|)', { l: [container('x', 2), container('y', 3)] })];
      const { adapter, asked } = kitAdapter([first, second], lists);
      const ww = watch(adapter, { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(line(e)));
      flush();
      expect(asked).to.deep.equal([undefined, T0 + 700 - EVENT_REPLAY_SLACK]);
      expect(seen).to.deep.equal([
        'started:x:1',
        'paused:x:1',
        'unpaused:x:1',
        'renamed:x:1',
        'health:x:1',
        'exited:x:1:0',
        'started:x:2',
        'started:y:3',
        // after the reconnect: only the gap and what follows
        'paused:y:3',
        'exited:x:2:137',
        'started:z:4',
      ]);
      expect(ww.portfolio.containers.map((c) => `${c.id}:${c.pid}:${c.paused}`).sort()).to.deep.equal(['y:3:true', 'z:4:false']);
      void ww.close();
    });
  });

  it('replay arriving while the list is in flight: the picture ends exact and nothing is doubled', () => {
    ts.run(({ cold, flush }) => {
      const first = cold<RawFeed<Hint>>('Labcdefgh-#', before, boom);
      const second = cold<RawFeed<Hint>>('L-abcdefghpk-----z', gap);
      // the list is taken before the gap and answers after the replay
      const lists = [cold<readonly Container[]>('(l|)', { l: [] }), cold<readonly Container[]>('------------(l|)', { l: [container('x', 2), container('y', 3)] })];
      const { adapter } = kitAdapter([first, second], lists);
      const ww = watch(adapter, { scheduler: ts, retry: { initialDelay: 10, jitter: 0 } });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(line(e)));
      flush();
      const after = seen.slice(8);
      // y's pause and x's exit exactly once each, live and in the engine's order (events during a relist are delivered as they come), then z
      expect(after.map((s) => s.replace(/\*|:137$/g, ''))).to.deep.equal(['paused:y:3', 'exited:x:2', 'started:z:4']);
      expect(ww.portfolio.containers.map((c) => `${c.id}:${c.pid}:${c.paused}`).sort()).to.deep.equal(['y:3:true', 'z:4:false']);
      void ww.close();
    });
  });

  it('after an outage longer than eventReplayWindow the stream asks for no replay; the relist brings the picture back', () => {
    ts.run(({ cold, flush }) => {
      const first = cold<RawFeed<Hint>>('Lah-#', before, boom);
      const refused = cold<RawFeed<Hint>>('#', {}, boom);
      const third = cold<RawFeed<Hint>>('L', before);
      const lists = [cold<readonly Container[]>('(l|)', { l: [] }), cold<readonly Container[]>('(l|)', { l: [container('y', 3)] })];
      const { adapter, asked } = kitAdapter([first, refused, refused, refused, third], lists, 50);
      const ww = watch(adapter, { scheduler: ts, retry: { initialDelay: 20, maxDelay: 20, jitter: 0 } });
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(line(e)));
      flush();
      // attempts at 24 and 44 are within 50 ms of the cut at 4: they would replay; 64 and 84 are not
      expect(asked).to.deep.equal([undefined, T0 + 700 - EVENT_REPLAY_SLACK, T0 + 700 - EVENT_REPLAY_SLACK, undefined, undefined]);
      expect(seen).to.deep.equal(['started:x:1', 'started:y:3', 'exited:x:1*']);
      void ww.close();
    });
  });
});
