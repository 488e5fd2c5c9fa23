import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { LifecycleEvent } from '../../../lib/core/fold.js';
import { ContainerEventType, ContainerState, ContainerStatus } from '../../../lib/gen/cri/api.js';
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
      expect(again).to.have.ordered.members(first); // the very objects, in order
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

describe('CRI exits: the same details whether the STOPPED event or the relist tells first', function () {
  this.timeout(30_000);
  let fake: FakeCri;
  beforeEach(async () => {
    fake = await fakeCri();
    fake.addPod('pod', 500, { app: 501, other: 502 });
  });
  afterEach(() => fake.close());

  /** The runtime's own record of app's SIGKILL: EXITED, 137, Error, finished at a known time. */
  const FINISHED_NS = 1_800_000_000_123_000_000n;
  function kill(id: string): void {
    const c = fake.containers.get(id)!;
    c.status = ContainerStatus.fromPartial({ ...c.status, state: ContainerState.CONTAINER_EXITED, exitCode: 137, reason: 'Error', finishedAt: FINISHED_NS });
  }
  const exitsOf = (events: readonly LifecycleEvent[], id: string) =>
    events.filter((e) => e.type === 'exited' && e.container.id === id).map((e) => ({ synthetic: e.synthetic, code: e.exit?.code, reason: e.exit?.reason, time: e.exit?.time?.getTime() }));
  const DETAILS = { code: 137, reason: 'Error', time: 1_800_000_000_123 };

  it('the relist first (no event yet): a synthetic exit with the runtime’s details (asked after the fact); the late STOPPED adds nothing', async () => {
    const ww = watchCri({ endpoint: fake.address, resyncInterval: 20 });
    try {
      await ww.ready;
      const events: LifecycleEvent[] = [];
      ww.lifecycle$.subscribe((e) => events.push(e));
      kill('app');
      await eventually(() => exitsOf(events, 'app').length > 0, 'the exit the relist found');
      expect(exitsOf(events, 'app')).to.deep.equal([{ synthetic: true, ...DETAILS }]);
      // the STOPPED comes late; a start after it shows it was read
      fake.emit(ContainerEventType.CONTAINER_STOPPED_EVENT, 'app');
      fake.addPod('later', 600, { next: 601 });
      fake.emit(ContainerEventType.CONTAINER_STARTED_EVENT, 'next');
      await eventually(() => ww.portfolio.byIdOnly('next') !== undefined, 'the start after the late STOPPED');
      expect(exitsOf(events, 'app')).to.deep.equal([{ synthetic: true, ...DETAILS }]);
    } finally {
      await ww.close();
    }
  });

  it('the STOPPED first (no relist in the way): a real exit with the event’s details, the same ones', async () => {
    const ww = watchCri({ endpoint: fake.address, resyncInterval: false });
    try {
      await ww.ready;
      await fake.waitForStreams(1);
      const events: LifecycleEvent[] = [];
      ww.lifecycle$.subscribe((e) => events.push(e));
      kill('app');
      fake.emit(ContainerEventType.CONTAINER_STOPPED_EVENT, 'app');
      await eventually(() => exitsOf(events, 'app').length > 0, 'the exit the event told');
      expect(exitsOf(events, 'app')).to.deep.equal([{ synthetic: false, ...DETAILS }]);
    } finally {
      await ww.close();
    }
  });
});
