import { expect } from 'chai';
import type { LifecycleEvent } from '../../../lib/core/fold.js';
import { Status } from '../../../lib/gen/containerd/types/task/task.js';
import { containerdAdapter } from '../../../lib/engines/containerd/containerd-source.js';
import { watchContainerd } from '../../../lib/engines/containerd/watch-containerd.js';
import { FakeContainerd } from '../../fakes/grpc-fakes.js';
import { eventually } from './containerd-lab.js';

/** Containers in the fake, over two namespaces. */
const N = 2_000;

describe('containerd relist: list calls only, whatever changed', function () {
  this.timeout(60_000);
  let fake: FakeContainerd;
  beforeEach(async () => {
    fake = await FakeContainerd.start();
    for (let i = 0; i < N; i++) fake.add(i % 2 === 0 ? 'default' : 'other', `c${i}`, { pid: 10_000 + i });
  });
  afterEach(() => fake.close());

  it('says its resyncInterval (default 30 s; false: off)', () => {
    const adapters = [containerdAdapter({ address: fake.address }), containerdAdapter({ address: fake.address, resyncInterval: false })];
    try {
      expect(adapters.map((a) => a.resyncInterval)).to.deep.equal([30_000, 0]);
    } finally {
      for (const a of adapters) a.dispose();
    }
  });

  it(`watchContainerd over ${N} relists every resyncInterval with the namespace, container and task lists only, and repairs silent changes (a new PID too) as synthetic ones`, async () => {
    const ww = watchContainerd({ address: fake.address, resyncInterval: 20 });
    try {
      await ww.ready;
      expect(ww.portfolio.total).to.equal(N);
      const seen: string[] = [];
      let replayed = false; // the replay of the current picture to a new subscriber is not what we look for
      ww.lifecycle$.subscribe((e: LifecycleEvent) => {
        if (replayed) seen.push(`${e.type} ${e.container.id}${e.synthetic ? '*' : ''}`);
      });
      replayed = true;
      const mark = fake.calls.length;
      await eventually(() => fake.calls.slice(mark).filter((c) => c.startsWith('Namespaces.List')).length >= 3, 'three periodic relists');
      // silently: an exit, a restart with a new PID, a pause, a new container
      fake.add('default', 'c0', { pid: 0 });
      fake.add('other', 'c1', { pid: 55_555 });
      fake.setStatus('default', 'c2', Status.PAUSED);
      fake.add('default', 'late', { pid: 77_777 });
      await eventually(() => ww.portfolio.byIdOnly('late') !== undefined, 'the relist repaired the picture');
      expect(new Set(fake.calls.slice(mark).map((c) => c.split(' ')[0]))).to.deep.equal(new Set(['Namespaces.List', 'Containers.List', 'Tasks.List']));
      expect(seen.sort()).to.deep.equal(['exited c0*', 'exited other/c1*', 'paused c2*', 'started late*', 'started other/c1*']);
      expect(ww.portfolio.byIdOnly('other/c1')?.pid).to.equal(55_555);
    } finally {
      await ww.close();
    }
  });
});
