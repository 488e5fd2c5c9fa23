import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { EngineAdapter } from '../../../lib/core/engine.js';
import type { LifecycleEvent } from '../../../lib/core/fold.js';
import { dockerListEntry, dockerListShowsUnchanged } from '../../../lib/engines/docker/docker-normalize.js';
import { DOCKER_FULL_RELIST_EVERY, dockerAdapter } from '../../../lib/engines/docker/docker-source.js';
import { watchDocker } from '../../../lib/engines/docker/watch-docker.js';
import { newContainer } from '../../../lib/model/container.js';
import { Portfolio } from '../../../lib/model/portfolio.js';
import { type FakeDocker, fakeDocker } from '../../fakes/docker-fakes.js';
import { eventually } from './docker-lab.js';

const ID = (n: number) => `${String(n).padStart(5, '0')}${'feed'.repeat(15)}`.slice(0, 64);
/** Containers in the fake, at a real size. */
const N = 2_000;

describe('Docker relist: the list, and inspections only for what it shows changed', function () {
  this.timeout(60_000);

  describe('dockerListShowsUnchanged (what a list entry can tell)', () => {
    const known = newContainer({ id: 'a1', name: 'web', pid: 42, paused: false, health: 'healthy', createdAt: new Date(1_700_000_000_500) });
    const entry = (extra: Record<string, unknown>) => dockerListEntry({ Id: 'a1', Names: ['/web'], State: 'running', Status: 'Up 5 minutes (healthy)', Created: 1_700_000_000, ...extra })!;
    const table: [string, Record<string, unknown>, boolean][] = [
      ['the same entry', {}, true],
      ['a link alias next to the name', { Names: ['/other/alias', '/web'] }, true],
      ['a Podman entry (no slash, no health in Status)', { Names: ['web'], Status: 'Up 5 minutes' }, true],
      ['a new name', { Names: ['/api'] }, false],
      ['paused', { State: 'paused', Status: 'Up 5 minutes (Paused)' }, false],
      ['a state that is neither running nor paused', { State: 'restarting' }, false],
      ['a new health', { Status: 'Up 5 minutes (unhealthy)' }, false],
      ['health: starting', { Status: 'Up 1 second (health: starting)' }, false],
      ['another creation second (a new container under the old id: never, but cheap to check)', { Created: 1_700_000_001 }, false],
      ['another id', { Id: 'b2' }, false],
    ];
    for (const [what, extra, same] of table) {
      it(`${what}: ${same ? 'unchanged' : 'inspect'}`, () => {
        expect(dockerListShowsUnchanged(entry(extra), known)).to.equal(same);
      });
    }
    it('cannot see a restart that kept the id (same id, new PID): the list has no PID', () => {
      expect(dockerListShowsUnchanged(entry({}), newContainer({ ...known, pid: 4242 }))).to.equal(true);
    });
  });

  describe(`against a fake engine with ${N} containers`, () => {
    let fake: FakeDocker;
    const adapters: EngineAdapter[] = [];
    beforeEach(async () => {
      fake = await fakeDocker();
      for (let i = 0; i < N; i++) fake.containers.set(ID(i), { id: ID(i), name: `c${i}`, pid: 1000 + i });
    });
    afterEach(async () => {
      for (const a of adapters.splice(0)) a.dispose();
      await fake.close();
    });
    const adapter = () => {
      const a = dockerAdapter({ host: fake.url });
      adapters.push(a);
      return a;
    };

    it('a relist of an unchanged picture is one list call and no inspection, and gives the very same containers', async () => {
      const a = adapter();
      const first = await firstValueFrom(a.snapshot());
      expect(first).to.have.length(N);
      expect(fake.inspectsSeen).to.equal(N);
      const previous = Portfolio.of(first);
      const lists = fake.listQueries.length;
      const again = await firstValueFrom(a.snapshot(previous));
      expect(fake.listQueries.length - lists).to.equal(1);
      expect(fake.inspectsSeen).to.equal(N);
      expect(again).to.have.length(N);
      again.forEach((c, i) => expect(c).to.equal(first[i]));
    });

    it('inspects exactly the entries that show a new id, name or pause state, and ends equal to a full list', async () => {
      const a = adapter();
      const previous = Portfolio.of(await firstValueFrom(a.snapshot()));
      // unexplained changes (no events): a new container, one gone, one renamed, one paused
      fake.containers.set(ID(N), { id: ID(N), name: 'newcomer', pid: 99_999 });
      fake.containers.delete(ID(1));
      fake.containers.set(ID(2), { id: ID(2), name: 'renamed', pid: 1002 });
      fake.containers.set(ID(3), { id: ID(3), name: 'c3', pid: 1003, paused: true });
      const before = fake.inspectsSeen;
      const relisted = await firstValueFrom(a.snapshot(previous));
      expect(fake.inspectsSeen - before).to.equal(3);
      const full = await firstValueFrom(adapter().snapshot());
      const view = (cs: readonly { id: string; name: string; pid: number; paused: boolean }[]) => cs.map((c) => `${c.id} ${c.name} ${c.pid} ${c.paused}`);
      expect(view(relisted)).to.deep.equal(view(full));
    });

    it(`every ${DOCKER_FULL_RELIST_EVERY}th relist, and the first after the event stream was (re)opened, inspects every container (a restart that kept the id shows only so)`, async () => {
      const a = adapter();
      const first = await firstValueFrom(a.snapshot());
      const previous = Portfolio.of(first);
      // a restart whose events were lost: same id, name and state, a new PID
      fake.containers.set(ID(7), { id: ID(7), name: 'c7', pid: 77_777 });
      const perRelist: number[] = [];
      let pid7 = 0;
      for (let i = 0; i < DOCKER_FULL_RELIST_EVERY; i++) {
        const before = fake.inspectsSeen;
        const list = await firstValueFrom(a.snapshot(previous));
        perRelist.push(fake.inspectsSeen - before);
        pid7 = list.find((c) => c.id === ID(7))!.pid;
      }
      expect(perRelist).to.deep.equal([...new Array<number>(DOCKER_FULL_RELIST_EVERY - 1).fill(0), N]);
      expect(pid7).to.equal(77_777);
      // a new event stream: the next relist is a full one, then cheap again
      const sub = a.events().subscribe();
      try {
        await fake.eventStreamOpened();
        const before = fake.inspectsSeen;
        await firstValueFrom(a.snapshot(previous));
        await firstValueFrom(a.snapshot(previous));
        expect(fake.inspectsSeen - before).to.equal(N);
      } finally {
        sub.unsubscribe();
      }
    });

    it('watchDocker relists every resyncInterval: no inspection while nothing changes; a change no event told is repaired as a synthetic change, with one inspection', async () => {
      // (exitDetailsTimeout 0: no after-the-fact inspection of the inferred exit, so the count is the relist's alone)
      const ww = watchDocker({ host: fake.url, resyncInterval: 20, exitDetailsTimeout: 0 });
      const seen: LifecycleEvent[] = [];
      try {
        await ww.ready;
        ww.lifecycle$.subscribe((e) => seen.push(e));
        expect(ww.portfolio.total).to.equal(N);
        const inspected = fake.inspectsSeen;
        const lists = fake.listQueries.length;
        await eventually(() => fake.listQueries.length >= lists + 3, 'three periodic relists');
        expect(fake.inspectsSeen).to.equal(inspected);
        seen.length = 0;
        fake.containers.set(ID(N), { id: ID(N), name: 'silent', pid: 123_456 });
        fake.containers.delete(ID(0));
        await eventually(() => ww.portfolio.container('silent') !== undefined && ww.portfolio.byIdOnly(ID(0)) === undefined, 'the relist repaired the picture');
        expect(fake.inspectsSeen - inspected).to.equal(1);
        expect(seen.map((e) => `${e.type} ${e.container.name}${e.synthetic ? '*' : ''}`).sort()).to.deep.equal(['exited c0*', 'started silent*']);
        expect(ww.status.state).to.equal('live');
      } finally {
        await ww.close();
      }
    });
  });
});
