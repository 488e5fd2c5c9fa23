/**
 * The fault corpus, CRI part: a watcher against a fake CRI runtime (a real grpc-js server on a unix
 * socket, spec/fakes/grpc-fakes.ts) whose status calls, event stream or lists misbehave: a truncated
 * gRPC frame or garbage on the event stream (through a real HTTP/2 proxy that corrupts its DATA on cue,
 * spec/fakes/grpc-proxy.ts), a stream gone silent behind a stalled proxy, lists that never answer, a
 * restart on a new socket file. Same endings as the Docker part (the harness of spec/helpers/faults.ts):
 * process alive, a typed error in `status$`, the picture equal to the fake's truth after recovery, exact
 * differences, nothing left open (root hook).
 */
import { expect } from 'chai';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Watcher } from '../../lib/core/watcher.js';
import { ContainerEventType, ContainerState, PodSandboxState } from '../../lib/gen/cri/api.js';
import type { CriOptions } from '../../lib/engines/cri/cri-source.js';
import { watchCri } from '../../lib/engines/cri/watch-cri.js';
import { type FakeCri, fakeCri } from '../fakes/grpc-fakes.js';
import { TRUNCATED_FRAME, grpcProxy } from '../fakes/grpc-proxy.js';
import { type GrpcFaultEngine, badFrames, grpcStreamFaults } from '../helpers/grpc-faults.js';
import { type Watched, faultHarness, idPids, sawError, settled as settledAs, shown } from '../helpers/faults.js';
import { eventually } from '../helpers/observe.js';
import { FAST_RETRY } from '../helpers/picture.js';

/** The fake's alive sandboxes and containers as `id:pid`, sorted. */
function truthOf(fake: FakeCri): string[] {
  const pid = (info: Record<string, string>) => (JSON.parse(info['info'] ?? '{}') as { pid?: number }).pid ?? 0;
  const out: string[] = [];
  for (const s of fake.sandboxes.values()) if (s.status.state === PodSandboxState.SANDBOX_READY) out.push(`${s.status.id}:${pid(s.info)}`);
  for (const c of fake.containers.values()) if (c.status.state === ContainerState.CONTAINER_RUNNING) out.push(`${c.status.id}:${pid(c.info)}`);
  return out.sort();
}

const EVENTS = '/runtime.v1.RuntimeService/GetContainerEvents';

describe('fault corpus: CRI (fake runtime on a real unix socket)', function () {
  this.timeout(30_000);

  const h = faultHarness(() => fakeCri(), (fake) => fake.close());

  function start(options: Partial<CriOptions> & { readonly syncTimeout?: number } = {}): Watched {
    return h.watch(watchCri({ endpoint: h.fake.address, retry: FAST_RETRY, ...options }));
  }
  const settled = (ww: Watcher, what: string) => settledAs(ww, idPids, () => truthOf(h.fake), what);

  /** pod1 (c1) and pod2 (c2) alive, a watcher live on them with its event stream open. */
  async function live(options: Partial<CriOptions> & { readonly syncTimeout?: number } = {}): Promise<Watched> {
    h.fake.addPod('pod1', 100, { c1: 101 });
    h.fake.addPod('pod2', 200, { c2: 201 });
    const watched = start(options);
    await watched.ww.ready;
    await h.fake.waitForStreams(1);
    return watched;
  }

  /** While the watcher cannot see it: c1 exits (and is removed), pod3 with c3 starts. */
  function changeBehindItsBack(): void {
    h.fake.stopContainer('c1', true);
    h.fake.addPod('pod3', 300, { c3: 301 });
  }

  /** After recovery: equal to the truth, and exactly the differences of {@link changeBehindItsBack} after the four first starts. */
  async function recovered({ ww, changes }: Watched, what: string): Promise<void> {
    await settled(ww, what);
    await eventually(() => changes.length >= 7, 'the differences');
    expect(shown(changes).slice(0, 4).sort()).to.deep.equal(['started:c1', 'started:c2', 'started:pod1', 'started:pod2']);
    expect(shown(changes).slice(4).sort()).to.deep.equal(['exited:c1', 'started:c3', 'started:pod3']);
    expect(changes).to.have.length(7);
  }

  for (const target of ['c2', 'pod2'] as const) {
    it(`one ${target === 'c2' ? 'ContainerStatus' : 'PodSandboxStatus'} answering INTERNAL: the rest goes live, status says incomplete and why, retried and folded in`, async () => {
      h.fake.addPod('pod1', 100, { c1: 101 });
      h.fake.addPod('pod2', 200, { c2: 201 });
      h.fake.statusFaults.set(target, { code: grpcStatus.INTERNAL, details: 'runtime busy' });
      const { ww, statuses, changes } = start();
      await ww.ready;
      expect(ww.status.state === 'live' && ww.status.incomplete?.ids).to.deep.equal([target]);
      expect(idPids(ww)).to.deep.equal(truthOf(h.fake).filter((t) => !t.startsWith(`${target}:`)));
      await eventually(() => h.fake.calls.filter((c) => c.endsWith(`:${target}`)).length >= 3, 'two retries');
      h.fake.statusFaults.delete(target);
      await settled(ww, 'after the fault went away');
      sawError(statuses, 'engine', /runtime busy/);
      expect(shown(changes).slice(-1)).to.deep.equal([`started:${target}`]);
      expect(changes.filter((c) => c.type === 'started')).to.have.length(4);
      expect(changes.filter((c) => c.type !== 'started')).to.have.length(0);
    });
  }

  it('a status answering NOT_FOUND during the list is a container gone in between: no error, nothing missing', async () => {
    h.fake.addPod('pod1', 100, { c1: 101, c2: 102 });
    h.fake.statusFaults.set('c2', { code: grpcStatus.NOT_FOUND, details: 'an error occurred when try to find container "c2": not found' });
    const { ww, statuses } = start();
    await ww.ready;
    expect(ww.status).to.deep.equal({ state: 'live' });
    expect(idPids(ww)).to.deep.equal(['c1:101', 'pod1:100']);
    expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
  });

  it('an event stream the runtime ends: degraded with a typed error, reconnects, exact differences', async () => {
    const watched = await live();
    changeBehindItsBack();
    h.fake.endStreams();
    await recovered(watched, 'after the reconnect');
    sawError(watched.statuses, 'engine', /ended the stream/);
  });

  const engine: GrpcFaultEngine = {
    events: EVENTS,
    watching: 'container events',
    address: () => h.fake.address,
    live: (address) => live({ endpoint: address, deadPeerTimeout: 600 }),
    changeBehindItsBack,
    recovered,
    probes: () => h.fake.calls.filter((c) => c === 'version').length,
    harness: h,
    streamsOpened: () => h.fake.calls.filter((c) => c === 'getContainerEvents').length,
  };
  grpcStreamFaults(engine, badFrames(engine));

  it('a truncated frame, then nothing, on a connection that answers: nothing can prove the stream itself (the Version probe answers), the periodic relist keeps the picture exact', async () => {
    const proxy = await grpcProxy(h.fake.address);
    h.closeAfter(() => proxy.close());
    const { ww, statuses, changes } = await live({ endpoint: proxy.address, deadPeerTimeout: 600, resyncInterval: 300 });
    expect(proxy.corrupt(EVENTS, TRUNCATED_FRAME, 'stay')).to.equal(1);
    changeBehindItsBack();
    // the events of the changes: sent, swallowed behind the half frame
    h.fake.emit(ContainerEventType.CONTAINER_STOPPED_EVENT, 'c1');
    h.fake.emit(ContainerEventType.CONTAINER_STARTED_EVENT, 'pod3');
    h.fake.emit(ContainerEventType.CONTAINER_STARTED_EVENT, 'c3');
    await settled(ww, 'after a relist');
    await eventually(() => changes.length >= 7, 'the differences');
    expect(shown(changes).slice(4).sort()).to.deep.equal(['exited:c1', 'started:c3', 'started:pod3']);
    expect(changes.slice(4).every((c) => c.synthetic), 'found by the relist').to.equal(true);
    expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
    expect(proxy.paths.filter((p) => p === EVENTS)).to.have.length(1);
  });

  describe('the list stalls', () => {
    it('ListContainers and ListPodSandbox never answer: the sync timeout says so, the watcher retries, and goes live once the runtime answers', async () => {
      h.fake.addPod('pod1', 100, { c1: 101 });
      const release = h.fake.stallLists();
      const { ww, statuses, changes } = start({ syncTimeout: 300 });
      await eventually(() => ww.status.state === 'degraded', 'the sync timeout');
      sawError(statuses, 'engine', /did not list its containers within 300 ms/);
      await eventually(() => h.fake.calls.filter((c) => c === 'listContainers').length >= 2, 'a retry');
      h.fake.addPod('pod2', 200, { c2: 201 });
      release();
      await settled(ww, 'after the lists answered');
      expect(shown(changes).sort()).to.deep.equal(['started:c1', 'started:c2', 'started:pod1', 'started:pod2']);
    });

    it('with a requestTimeout below the sync timeout: each list call times out on its own, typed, and the watcher recovers the same way', async () => {
      h.fake.addPod('pod1', 100, { c1: 101 });
      const release = h.fake.stallLists();
      const { ww, statuses, changes } = start({ requestTimeout: 200, syncTimeout: 5_000 });
      await eventually(() => ww.status.state === 'degraded', 'the request timeout');
      sawError(statuses, 'engine', /did not answer within 200 ms .*listing (running containers|pod sandboxes)/);
      release();
      await settled(ww, 'after the lists answered');
      expect(shown(changes).sort()).to.deep.equal(['started:c1', 'started:pod1']);
    });
  });

  describe('the runtime restarts', () => {
    it('socket deleted and recreated while containers changed: reconnects, exact differences', async () => {
      const watched = await live();
      await h.fake.restart(changeBehindItsBack);
      await recovered(watched, 'after the restart');
      expect(watched.statuses.values.some((s) => s.state === 'degraded')).to.equal(true);
    });
  });
});
