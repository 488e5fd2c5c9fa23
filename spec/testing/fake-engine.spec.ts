import { expect } from 'chai';
import { filter, firstValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { LifecycleEvent, WatcherStatus } from '../../lib/core/fold.js';
import { watch } from '../../lib/core/watcher.js';
import { EngineError } from '../../lib/errors.js';
import { fakeEngine } from '../../lib/testing/index.js';

const life = (e: LifecycleEvent): string =>
  `${e.type} ${e.container.id}${e.synthetic ? '*' : ''}${e.exit?.code === undefined ? '' : ` ${e.exit.code}`}${e.container.paused && e.type !== 'exited' ? ' (paused)' : ''}`;
const live = (s: WatcherStatus): boolean => s.state === 'live';

describe('testing: fakeEngine, a watcher over it (real time)', () => {
  it('the README scenario: exit and start during a held list, pause, disconnect → degraded → live again, close leaves nothing open', async () => {
    const fake = fakeEngine({ containers: [{ id: 'a', name: 'web', pid: 101 }, { id: 'b', name: 'db', pid: 102 }] });
    const release = fake.holdList();
    const ww = watch(fake.adapter, { retry: 1 });
    const seen: string[] = [];
    ww.lifecycle$.subscribe((e) => seen.push(life(e)));
    const asInReadme: string[] = [];
    ww.lifecycle$.subscribe((e) => asInReadme.push(`${e.type} ${e.container.name}`));
    const states: string[] = [];
    ww.status$.subscribe((s) => states.push(s.state === 'degraded' ? `degraded ${s.error.code}` : s.state));

    expect(ww.status.state).to.equal('syncing');
    expect(fake.pendingLists).to.equal(1);
    fake.exit('a', { code: 3 }); // during the list: the list, read when asked, still has a
    fake.start({ id: 'c', name: 'cache', pid: 103 }); // during the list: not in it, but the event says it
    release();
    await ww.ready;
    expect(ww.portfolio.containers.map((c) => c.id).sort()).to.deep.equal(['b', 'c']);

    fake.pause('b');
    expect(ww.portfolio.container('db')?.paused).to.equal(true);

    fake.disconnect();
    expect(ww.status.state).to.equal('degraded');
    fake.exit('c', { code: 137 }); // while nobody listens: the relist infers it, the engine still knows the code
    await firstValueFrom(ww.status$.pipe(filter(live)));
    expect(ww.portfolio.containers.map((c) => c.id)).to.deep.equal(['b']);

    await ww.close();
    // the first synchronisation reports what the list found as synthetic starts, and c (only its start event, during the list, brought it) as real
    expect(seen).to.deep.equal(['started b*', 'started c', 'paused b (paused)', 'exited c* 137']);
    expect(asInReadme).to.deep.equal(['started db', 'started cache', 'paused db', 'exited cache']); // what README.md asserts
    expect(states).to.deep.equal(['syncing', 'live', 'degraded unreachable', 'syncing', 'live', 'stopped']);
    expect({ streams: fake.streams, pendingLists: fake.pendingLists, disposed: fake.disposed }).to.deep.equal({ streams: 0, pendingLists: 0, disposed: true });
  });

  it('a list held with read "released" sees a start made during it: the start is counted once', async () => {
    const fake = fakeEngine();
    const release = fake.holdList({ read: 'released' });
    const ww = watch(fake.adapter);
    const seen: string[] = [];
    ww.lifecycle$.subscribe((e) => seen.push(life(e)));
    fake.start({ id: 'a', name: 'web', pid: 101 });
    release();
    release(); // idempotent
    await ww.ready;
    await ww.close();
    expect(seen).to.deep.equal(['started a*']);
  });

  it('a held list is read when asked, or with read "released" when released; delivered only once every hold is released', () => {
    const fake = fakeEngine({ containers: [{ id: 'a', name: 'web', pid: 101 }] });
    const outer = fake.holdList();
    const inner = fake.holdList({ read: 'released' });
    const lists: string[][] = [];
    fake.adapter.snapshot().subscribe((l) => lists.push(l.map((c) => c.id)));
    fake.exit('a');
    fake.start({ id: 'b', name: 'db', pid: 102 });
    inner();
    expect(lists).to.deep.equal([]); // outer still holds
    outer();
    expect(lists).to.deep.equal([['b']]); // a hold that reads at release was in force when it was asked
    const third = fake.holdList();
    fake.adapter.snapshot().subscribe((l) => lists.push(l.map((c) => c.id)));
    fake.start({ id: 'c', name: 'cache', pid: 103 });
    third();
    expect(lists).to.deep.equal([['b'], ['b']]); // read when asked: without c
    expect(fake.pendingLists).to.equal(0);
  });

  it('refuse(n): the engine is down for n connection attempts, the watcher stays degraded and then gets live', async () => {
    const fake = fakeEngine({ containers: [{ id: 'a', name: 'web', pid: 101 }] });
    const down = new EngineError('fake', 'permission', 'no access');
    fake.refuse(2, down);
    const ww = watch(fake.adapter, { retry: 1 });
    const degraded: unknown[] = [];
    ww.status$.subscribe((s) => {
      if (s.state === 'degraded') degraded.push([s.error, s.attempt]);
    });
    await ww.ready;
    expect(degraded).to.deep.equal([
      [down, 1],
      [down, 2],
    ]);
    expect(ww.portfolio.total).to.equal(1);
    await ww.close();
    expect(fake.streams).to.equal(0);
  });

  it('a list released after the watcher closed is dropped: nothing pending, nothing delivered', async () => {
    const fake = fakeEngine();
    const release = fake.holdList();
    const ww = watch(fake.adapter);
    expect(fake.pendingLists).to.equal(1);
    await ww.close();
    expect(fake.pendingLists).to.equal(0);
    release();
    expect(await ww.ready.catch((e: unknown) => (e as EngineError).code)).to.equal('closed');
  });

  it('refuses what a real engine would refuse, and answers info() and exitDetails()', async () => {
    const fake = fakeEngine({ info: { version: '26.1.5' } });
    fake.start({ id: 'a', name: 'web', pid: 101 });
    expect(() => fake.start({ id: 'a', name: 'again', pid: 102 })).to.throw(/alive already/);
    expect(() => fake.unpause('a')).to.throw(/not paused/);
    fake.pause('a');
    expect(() => fake.pause('a')).to.throw(/paused already/);
    expect(() => fake.exit('nope')).to.throw(/no such alive container/);
    fake.rename('a', 'www');
    fake.health('a', 'healthy');
    expect(fake.containers.map((c) => [c.name, c.paused, c.health])).to.deep.equal([['www', true, 'healthy']]);
    fake.exit('a', { code: 1, reason: 'Error' });
    expect(fake.containers).to.deep.equal([]);
    expect(await fake.adapter.info()).to.deep.equal({ id: 'fake', type: 'docker.com', version: '26.1.5', api: 'memory://fake' });
    const details = fake.adapter.exitDetails;
    expect(details).to.be.a('function');
    expect(await firstValueFrom(details!('a'))).to.deep.equal({ code: 1, reason: 'Error' });
    expect(await firstValueFrom(details!('b'))).to.equal(null);
  });
});

describe('testing: fakeEngine under TestScheduler (virtual time)', () => {
  it('event times come from the scheduler; every change, rename and health included, reaches lifecycle$ in order', () => {
    const ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
    ts.run(({ flush }) => {
      const fake = fakeEngine({ scheduler: ts });
      const ww = watch(fake.adapter, { scheduler: ts, retry: 100 });
      const seen: LifecycleEvent[] = [];
      ww.lifecycle$.subscribe((e) => seen.push(e));
      ts.schedule(() => fake.start({ id: 'a', name: 'web', pid: 101 }), 10);
      ts.schedule(() => fake.rename('a', 'www'), 20);
      ts.schedule(() => fake.health('a', 'unhealthy'), 30);
      ts.schedule(() => fake.disconnect(), 40);
      ts.schedule(() => fake.exit('a', { code: 2 }), 50);
      let all: string[] = [];
      ww.status$.pipe(toArray()).subscribe((s) => (all = s.map((x) => x.state)));
      ts.schedule(() => void ww.close(), 200);
      flush();
      expect(seen.map((e) => [e.type, e.time.getTime(), e.container.name, e.container.health ?? '', e.synthetic])).to.deep.equal([
        ['started', 10, 'web', '', false],
        ['renamed', 20, 'www', '', false],
        ['health', 30, 'www', 'unhealthy', false],
        ['exited', 140, 'www', 'unhealthy', true],
      ]);
      expect(seen[3]?.exit).to.deep.equal({ code: 2 });
      expect(all).to.deep.equal(['live', 'degraded', 'syncing', 'live', 'stopped']);
      expect(fake.streams).to.equal(0);
    });
  });
});
