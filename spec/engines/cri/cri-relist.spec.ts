import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { LifecycleEvent } from '../../../lib/core/fold.js';
import { criAdapter } from '../../../lib/engines/cri/cri-source.js';
import { watchCri } from '../../../lib/engines/cri/watch-cri.js';
import { Portfolio } from '../../../lib/model/portfolio.js';
import { type FakeCri, fakeCri } from '../../fakes/grpc-fakes.js';
import { eventually } from './cri-lab.js';

/** Pods in the fake, three containers each: 2,000 containers and sandboxes. */
const PODS = 500;
const statusCalls = (fake: FakeCri, from = 0) => fake.calls.slice(from).filter((c) => c.startsWith('containerStatus:') || c.startsWith('podSandboxStatus:'));

describe('CRI relist: the two lists, and a status call only for what the picture lacks', function () {
  this.timeout(60_000);
  let fake: FakeCri;
  beforeEach(async () => {
    fake = await fakeCri();
    for (let p = 0; p < PODS; p++) fake.addPod(`s${p}`, 10_000 + p * 4, { [`c${p}a`]: 10_001 + p * 4, [`c${p}b`]: 10_002 + p * 4, [`c${p}c`]: 10_003 + p * 4 });
  });
  afterEach(() => fake.close());

  it(`a relist of an unchanged picture of ${PODS * 4} is the two list calls, no status call, the very same containers; a new pod costs its own status calls only`, async () => {
    const adapter = criAdapter({ endpoint: fake.address });
    try {
      const first = await firstValueFrom(adapter.snapshot());
      expect(first).to.have.length(PODS * 4);
      expect(statusCalls(fake)).to.have.length(PODS * 4);
      const mark = fake.calls.length;
      const again = await firstValueFrom(adapter.snapshot(Portfolio.of(first)));
      expect(fake.calls.slice(mark).sort()).to.deep.equal(['listContainers', 'listPodSandbox']);
      again.forEach((c, i) => expect(c).to.equal(first[i]));
      // silently: a new pod with a container, and a container gone
      fake.addPod('new', 99_000, { cnew: 99_001 });
      fake.stopContainer('c0a', true);
      const mark2 = fake.calls.length;
      const relisted = await firstValueFrom(adapter.snapshot(Portfolio.of(first)));
      expect(statusCalls(fake, mark2).sort()).to.deep.equal(['containerStatus:cnew', 'podSandboxStatus:new']);
      const full = await firstValueFrom(adapter.snapshot());
      const view = (cs: readonly { id: string; pid: number; name: string }[]) => cs.map((c) => `${c.id} ${c.pid} ${c.name}`).sort();
      expect(view(relisted)).to.deep.equal(view(full));
    } finally {
      adapter.dispose();
    }
  });

  it('watchCri relists every resyncInterval without a status call, and repairs a change no event told as a synthetic one', async () => {
    // (exitDetailsTimeout 0: no after-the-fact status call for the inferred exit, so the count is the relist's alone)
    const ww = watchCri({ endpoint: fake.address, resyncInterval: 20, exitDetailsTimeout: 0 });
    try {
      await ww.ready;
      expect(ww.portfolio.total).to.equal(PODS * 4);
      const seen: string[] = [];
      ww.lifecycle$.subscribe((e: LifecycleEvent) => {
        if (!e.synthetic || e.type !== 'started' || e.container.id === 'c9') seen.push(`${e.type} ${e.container.id}${e.synthetic ? '*' : ''}`);
      });
      const mark = fake.calls.length;
      const lists = () => fake.calls.slice(mark).filter((c) => c === 'listContainers').length;
      await eventually(() => lists() >= 3, 'three periodic relists');
      expect(statusCalls(fake, mark)).to.deep.equal([]);
      fake.stopContainer('c1b', true);
      fake.addPod('quiet', 88_000, { c9: 88_001 });
      await eventually(() => ww.portfolio.byIdOnly('c9') !== undefined && ww.portfolio.byIdOnly('c1b') === undefined, 'the relist repaired the picture');
      expect(statusCalls(fake, mark).sort()).to.deep.equal(['containerStatus:c9', 'podSandboxStatus:quiet']);
      expect(seen).to.deep.equal(['exited c1b*', 'started c9*']);
      expect(ww.status.state).to.equal('live');
    } finally {
      await ww.close();
    }
  });
});
