/**
 * Soak (issue 8, item 7): a thousand watchers made and closed, after `ready`, before it, and while
 * their list stalls on a real socket, leave nothing behind: no handle, socket or timer
 * (`process.getActiveResourcesInfo()` before and after), no watcher still reachable after a full GC
 * (WeakRefs), no heap growth beyond a small bound. The detector itself is checked first, so that
 * these specs can fail: watchers kept alive on purpose and a timer left behind are both caught.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { expect } from 'chai';
import type { Watcher } from '../../lib/core/watcher.js';
import { watch } from '../../lib/core/watcher.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import type { ContainerInit } from '../../lib/model/container.js';
import { fakeEngine } from '../../lib/testing/fake-engine.js';
import { type FakeDocker, fakeDocker } from '../fakes/docker-fakes.js';

/** Cycles of each soak. */
const CYCLES = 1_000;
/** Cycles over a real socket (each one a connection, an event stream and a stalled list). */
const SOCKET_CYCLES = 200;
/** Most heap (bytes, after a full GC) a soak may leave behind: a leaked watcher with its 50 containers costs far more than 4 KB. */
const MAX_HEAP_GROWTH = 4 * 1024 * 1024;

/** A full, synchronous garbage collection: `global.gc` when node runs with --expose-gc, else the flag set at run time. */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Lets pending callbacks (socket closes, promise jobs) run: a few turns of the event loop, no timer. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

type Counts = Map<string, number>;
function resources(): Counts {
  const counts: Counts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}
/** What `now` has more of than `before`, as `N × Type` (empty: nothing left behind). */
function extra(before: Counts, now: Counts): string[] {
  const out: string[] = [];
  for (const [type, n] of now) if (n > (before.get(type) ?? 0)) out.push(`${n - (before.get(type) ?? 0)} × ${type}`);
  return out.sort();
}

/** What a soak left behind: resources beyond the start, watchers still reachable after a GC, heap growth. */
interface Leftovers {
  readonly resources: string[];
  readonly reachable: number;
  readonly heapGrowth: number;
}

/**
 * Runs `cycle` `n` times, registering every watcher it makes, then measures what is left once the
 * event loop settled (sockets closing take a few turns; polled, bounded, never timed).
 */
async function soak(n: number, cycle: (track: (w: Watcher) => Watcher) => Promise<void>): Promise<Leftovers> {
  await turns();
  collectGarbage();
  const before = resources();
  const heapBefore = process.memoryUsage().heapUsed;
  const refs: WeakRef<Watcher>[] = [];
  const track = (w: Watcher) => {
    refs.push(new WeakRef(w));
    return w;
  };
  for (let i = 0; i < n; i += 1) await cycle(track);
  let left = extra(before, resources());
  for (let i = 0; i < 200 && left.length > 0; i += 1) {
    await turns(10);
    left = extra(before, resources());
  }
  // a WeakRef's target stays alive until the job that made or read it ends: collect in a later turn
  await turns();
  collectGarbage();
  await turns();
  collectGarbage();
  const reachable = refs.filter((r) => r.deref() !== undefined).length;
  return { resources: left, reachable, heapGrowth: process.memoryUsage().heapUsed - heapBefore };
}

function containers(n: number): ContainerInit[] {
  return Array.from({ length: n }, (_, i) => ({ id: `c${String(i).padStart(6, '0')}`.padEnd(64, 'f'), name: `c${i}`, pid: 1000 + i, labels: { 'com.docker.compose.project': `p${i % 5}` } }));
}

function expectNothingLeft(left: Leftovers): void {
  expect(left.resources, 'resources left behind').to.deep.equal([]);
  expect(left.reachable, 'closed watchers still reachable after a full GC').to.equal(0);
  expect(left.heapGrowth, `heap growth ${left.heapGrowth} bytes`).to.be.below(MAX_HEAP_GROWTH);
}

describe('soak: watchers made and closed by the thousand leave nothing behind', function () {
  this.timeout(120_000);

  describe('the detector', () => {
    it('sees watchers kept alive on purpose, and a timer left behind', async () => {
      const kept: Watcher[] = [];
      const timers: NodeJS.Timeout[] = [];
      try {
        const left = await soak(10, async (track) => {
          const ww = track(watch(fakeEngine({ containers: containers(50) }).adapter));
          await ww.ready;
          await ww.close();
          kept.push(ww);
          if (timers.length === 0) timers.push(setInterval(() => undefined, 60_000));
        });
        expect(left.reachable).to.equal(10);
        expect(left.resources).to.deep.equal(['1 × Timeout']);
      } finally {
        for (const t of timers) clearInterval(t);
      }
      expect(kept).to.have.length(10);
    });
  });

  it(`${CYCLES} × create → ready → (subscribe) → close over fakeEngine (50 containers)`, async () => {
    const left = await soak(CYCLES, async (track) => {
      const fake = fakeEngine({ containers: containers(50) });
      const ww = track(watch(fake.adapter));
      await ww.ready;
      const seen: unknown[] = [];
      const subs = [ww.portfolio$.subscribe((p) => seen.push(p)), ww.lifecycle$.subscribe((e) => seen.push(e))];
      fake.exit(containers(1)[0]!.id);
      expect(ww.portfolio.total).to.equal(49);
      await ww.close();
      expect(fake.streams).to.equal(0);
      expect(fake.disposed).to.equal(true);
      // one subscription left open on purpose: close() completes it, and it must not keep the watcher
      subs[0]!.unsubscribe();
    });
    expectNothingLeft(left);
  });

  it(`${CYCLES} × create → close before ready (the list held), the list released after the close`, async () => {
    let rejected = 0;
    const left = await soak(CYCLES, async (track) => {
      const fake = fakeEngine({ containers: containers(50) });
      const release = fake.holdList();
      const ww = track(watch(fake.adapter));
      await turns(1);
      expect(fake.pendingLists).to.equal(1);
      await ww.close();
      release();
      await ww.ready.catch((e: { code?: string }) => {
        if (e.code === 'closed') rejected += 1;
      });
      expect(fake.pendingLists).to.equal(0);
      expect(ww.portfolio.total).to.equal(0);
    });
    expect(rejected).to.equal(CYCLES);
    expectNothingLeft(left);
  });

  describe('over a fake Docker on a real socket', () => {
    let fake: FakeDocker;
    before(async () => {
      fake = await fakeDocker();
      for (const c of containers(20)) fake.containers.set(c.id, { id: c.id, name: c.name, pid: c.pid, labels: { ...c.labels } });
    });
    after(() => fake.close());

    it(`${SOCKET_CYCLES} × create → ready → close: no socket, timer or watcher left`, async () => {
      const left = await soak(SOCKET_CYCLES, async (track) => {
        const ww = track(watchDocker({ host: fake.url }));
        await ww.ready;
        expect(ww.portfolio.total).to.equal(20);
        await ww.close();
      });
      expectNothingLeft(left);
      await turns();
      expect(fake.eventStreams).to.equal(0);
    });

    it(`${SOCKET_CYCLES} × create → close during a stalled list (every inspection hangs): no socket, timer or watcher left`, async () => {
      fake.stallInspections();
      let stalled = 0;
      const left = await soak(SOCKET_CYCLES, async (track) => {
        const seen = fake.inspectsSeen;
        const ww = track(watchDocker({ host: fake.url }));
        // the list is in: its inspections hang (polled by event-loop turns, bounded)
        for (let i = 0; i < 10_000 && fake.inspectsSeen === seen; i += 1) await turns(1);
        if (fake.inspectsSeen > seen) stalled += 1;
        expect(ww.status.state).to.not.equal('live');
        await ww.close();
        await ww.ready.catch(() => undefined);
      });
      expectNothingLeft(left);
      // (the fake's own in-flight count is no measure here: Node's server never closes the responses of
      // requests pipelined behind a hung one when their connection goes; no socket is left on either side)
      expect(stalled).to.equal(SOCKET_CYCLES);
    });
  });
});
