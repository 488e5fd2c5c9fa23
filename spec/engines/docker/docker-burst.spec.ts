/**
 * A burst against a fake Docker engine (a real HTTP server on a unix socket):
 * thousands of events arrive while every inspection is held back, so nearly all
 * of them queue behind a full set of pending inspections in the adapter's
 * ordered merge. Once the inspections are answered the watcher must work the
 * whole queue off and end exactly where the fake engine is. No real engine
 * needed: runs with the unit specs.
 */
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import type { Watcher } from '../../../lib/core/watcher.js';
import { watchDocker } from '../../../lib/engines/docker/watch-docker.js';
import { type FakeContainer, type FakeDocker, dockerEvent, fakeDocker } from '../../fakes/docker-fakes.js';
import { eventually } from '../../helpers/observe.js';

const id = (kind: 'old' | 'new', n: number) => `${kind === 'old' ? 'a' : 'b'}${String(n).padStart(5, '0')}${'f00d'.repeat(14)}`.slice(0, 64);

/** Containers alive before the burst. */
const OLD = 300;
/** Starts of new containers in the burst: far more than the 64 inspections the adapter keeps in flight. */
const STARTS = 400;
/** Of those, this many die right after their start (their inspection then finds them gone). */
const SHORT_LIVED = 20;
/** Events in the burst. */
const BURST = 5_000;

/** A container as the watcher should picture it. */
function picture(c: { readonly id: string; readonly name: string; readonly pid: number; readonly paused: boolean }): string {
  return `${c.id.slice(0, 6)} ${c.name} pid=${c.pid}${c.paused ? ' paused' : ''}`;
}

function truthOf(fake: FakeDocker): string[] {
  return [...fake.containers.values()].map((c) => picture({ ...c, paused: c.paused ?? false })).sort();
}

describe('watchDocker under a burst of events behind held inspections', function () {
  this.timeout(120_000);

  let fake: FakeDocker | undefined;
  let ww: Watcher | undefined;
  const subscriptions: Subscription[] = [];
  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    await ww?.close();
    await fake?.close();
    ww = fake = undefined;
  });

  it(`keeps up with ${BURST} events arriving while inspections are pending and ends equal to the engine`, async () => {
    fake = await fakeDocker();
    const engine = fake;
    let time = 1_700_000_000_000_000_000;
    const set = (c: FakeContainer) => engine.containers.set(c.id, c);
    for (let n = 0; n < OLD; n++) set({ id: id('old', n), name: `old-${n}`, pid: 1000 + n, paused: n % 10 === 0 });

    ww = watchDocker({ host: fake.url });
    const watcher = ww;
    const seen: string[] = [];
    subscriptions.push(
      ww.lifecycle$.subscribe((e) => {
        if (!e.synthetic) seen.push(`${e.type} ${picture(e.container)}`);
      }),
    );
    const states: Watcher['status']['state'][] = [];
    subscriptions.push(ww.status$.subscribe((s) => states.push(s.state)));
    await ww.ready;
    expect(ww.status.state).to.equal('live');
    expect(ww.portfolio.containers.map(picture).sort()).to.deep.equal(truthOf(fake));

    // The burst: the engine changes, and says so, while no inspection is answered.
    const release = fake.holdAll();
    const expected: string[] = [];
    const emit = (action: string, c: FakeContainer) => engine.emit(dockerEvent(action, c.id, { name: c.name }, (time += 1000)));
    let events = 0;
    for (let n = 0; n < STARTS; n++) {
      const c: FakeContainer = { id: id('new', n), name: `new-${n}`, pid: 5000 + n };
      set(c);
      emit('start', c);
      events += 1;
      if (n < SHORT_LIVED) {
        // gone before its inspection is answered: the start is dropped, its die changes nothing
        fake.containers.delete(c.id);
        emit('die', c);
        events += 1;
      } else {
        expected.push(`started ${picture({ ...c, paused: false })}`);
      }
    }
    // then only events that need no inspection, for the containers that were there before
    let seed = 7;
    const olds = () => [...engine.containers.values()].filter((c) => c.id.startsWith('a'));
    while (events < BURST) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const alive = olds();
      const c = alive[seed % alive.length]!;
      if (seed % 50 === 0) {
        fake.containers.delete(c.id);
        emit('die', c);
        expected.push(`exited ${picture({ ...c, paused: c.paused ?? false })}`);
      } else {
        const paused = !(c.paused ?? false);
        set({ ...c, paused });
        emit(paused ? 'pause' : 'unpause', c);
        expected.push(`${paused ? 'paused' : 'unpaused'} ${picture({ ...c, paused })}`);
      }
      events += 1;
    }
    // every event has been read by the watcher, and a full set of inspections waits
    await fake.flushEvents();
    await eventually(() => engine.inspectsInFlight === 64, `64 inspections held (in flight: ${engine.inspectsInFlight})`);
    expect(seen, 'nothing may overtake the pending starts').to.deep.equal([]);

    release();
    await eventually(() => seen.length >= expected.length, `every change to arrive (${seen.length} of ${expected.length} so far)`, 30_000);
    expect(seen).to.deep.equal(expected);
    expect(watcher.portfolio.containers.map(picture).sort()).to.deep.equal(truthOf(engine));
    expect(watcher.status.state).to.equal('live');
    expect(states, 'status changes').to.deep.equal(['connecting', 'syncing', 'live']);
    expect(engine.maxInspectsInFlight).to.equal(64);

    await watcher.close();
    await eventually(() => engine.openConnections === 0 && engine.eventStreams === 0, `every connection closed (open: ${engine.openConnections})`);
  });

  it('a containers$ subscriber gets an array per read of the stream, not per event: 2,000 pause/unpause events written at once on a real socket, the last array equal to the engine', async () => {
    fake = await fakeDocker();
    const engine = fake;
    const ALIVE = 2_000;
    const EVENTS = 2_000;
    for (let n = 0; n < ALIVE; n++) engine.containers.set(id('old', n), { id: id('old', n), name: `old-${n}`, pid: 1000 + n });
    ww = watchDocker({ host: fake.url });
    const watcher = ww;
    const arrays: (readonly unknown[])[] = [];
    let changes = 0;
    subscriptions.push(
      ww.containers$.subscribe((cs) => arrays.push(cs)),
      ww.lifecycle$.subscribe((e) => {
        if (!e.synthetic) changes += 1;
      }),
    );
    await ww.ready;
    await fake.eventStreamOpened();
    const before = arrays.length;
    // one write of every event, as Docker sends what piled up on a stream
    const lines: string[] = [];
    let time = 1_700_000_000_000_000_000;
    for (let k = 0; k < EVENTS; k++) {
      const n = (k * 7919) % ALIVE;
      const c = engine.containers.get(id('old', n))!;
      const paused = !(c.paused ?? false);
      engine.containers.set(c.id, { ...c, paused });
      lines.push(JSON.stringify(dockerEvent(paused ? 'pause' : 'unpause', c.id, { name: c.name }, (time += 1000))));
    }
    fake.write(`${lines.join('\n')}\n`);
    await eventually(() => changes === EVENTS, `every change to arrive (${changes} of ${EVENTS})`);
    await eventually(() => arrays.at(-1) === watcher.portfolio.containers, 'the last array to be the current one');
    const made = arrays.length - before;
    // each read of the socket (tens of KB: many events) is one synchronous run: at most two arrays each
    expect(made, `${made} arrays for ${EVENTS} events`).to.be.lessThan(EVENTS / 10);
    expect(
      (arrays.at(-1) as readonly { id: string; paused: boolean }[]).filter((c) => c.paused).map((c) => c.id).sort(),
    ).to.deep.equal([...engine.containers.values()].filter((c) => c.paused).map((c) => c.id).sort());
  });
});
