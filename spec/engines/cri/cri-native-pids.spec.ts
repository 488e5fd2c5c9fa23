/**
 * The CRI list's PIDs from containerd's native task list (issue 8, item 5): when `Version` names
 * containerd, one Tasks.List and one Containers.List in `k8s.io` on the same socket replace a verbose
 * status call per container; the verbose statuses stay for other runtimes, for ids the task list
 * lacks, when the native services are not served or refused, and when a packer wants them. Against
 * the fake CRI (a real grpc-js server on a unix socket), which counts every call.
 */
import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { Portfolio } from '../../../lib/model/portfolio.js';
import { ContainerEventType } from '../../../lib/gen/cri/api.js';
import { criAdapter } from '../../../lib/engines/cri/cri-source.js';
import { CRI_SANDBOX_LABEL } from '../../../lib/engines/cri/cri-normalize.js';
import { PRIVILEGED_LABEL } from '../../../lib/model/container.js';
import type { Container } from '../../../lib/model/container.js';
import { CONTAINERD_CRI_VERSION, type FakeCri, type FakeCriOptions, fakeCri } from '../../fakes/grpc-fakes.js';
import { eventually, record } from './cri-lab.js';

/** Pods in the big specs: PODS sandboxes and 2 × PODS containers. */
const PODS = 500;

/** Everything of a container the picture shows, as plain data (sorted by id). */
function plain(list: readonly Container[]): unknown[] {
  return [...list]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((c) => ({ id: c.id, name: c.name, pid: c.pid, labels: { ...c.labels }, image: c.image, createdAt: c.createdAt?.getTime(), startedAt: c.startedAt?.getTime(), project: c.project, paused: c.paused }));
}

/** PODS pods with two containers each; images set, every 7th pod privileged. */
function populate(fake: FakeCri, pods = PODS): void {
  for (let i = 0; i < pods; i += 1) {
    fake.addPod(`s${i}`, 10_000 + 3 * i, { [`a${i}`]: 10_001 + 3 * i, [`b${i}`]: 10_002 + 3 * i });
    const sandbox = fake.sandboxes.get(`s${i}`)!;
    sandbox.info = { info: JSON.stringify({ pid: 10_000 + 3 * i, image: 'docker.io/library/pause:fake', ...(i % 7 === 0 ? { config: { linux: { security_context: { privileged: true } } } } : {}) }) };
    for (const id of [`a${i}`, `b${i}`]) {
      const c = fake.containers.get(id)!;
      c.status = { ...c.status, image: { image: 'docker.io/library/busybox:fake', annotations: {}, userSpecifiedImage: '', runtimeHandler: '' }, imageRef: 'sha256:feed' };
      const doc = JSON.parse(c.info['info']!) as Record<string, unknown>;
      if (i % 7 === 0) doc['config'] = { linux: { security_context: { privileged: true } } };
      c.info = { info: JSON.stringify(doc) };
    }
  }
}

const statusCalls = (fake: FakeCri) => fake.calls.filter((c) => c.startsWith('containerStatus:') || c.startsWith('podSandboxStatus:'));
const nativeCalls = (fake: FakeCri) => fake.calls.filter((c) => c === 'tasks.list' || c === 'containers.list');

describe('criAdapter: PIDs from containerd’s task list (fake CRI with native services)', function () {
  this.timeout(30_000);
  const fakes: FakeCri[] = [];
  async function fake(options: FakeCriOptions): Promise<FakeCri> {
    const f = await fakeCri(options);
    fakes.push(f);
    return f;
  }
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
  });

  async function snapshot(f: FakeCri, options: Parameters<typeof criAdapter>[0] = {}): Promise<readonly Container[]> {
    const adapter = criAdapter({ endpoint: f.address, ...options });
    try {
      return await lastValueFrom(adapter.snapshot());
    } finally {
      adapter.dispose();
    }
  }

  it(`containerd: ${3 * PODS} entries → one Tasks.List, one Containers.List, no status call; the same picture as the verbose statuses give (but startedAt)`, async () => {
    const native = await fake({ version: CONTAINERD_CRI_VERSION, native: 'serve' });
    const verbose = await fake({ version: CONTAINERD_CRI_VERSION, native: 'unimplemented' });
    populate(native);
    populate(verbose);
    const fast = await snapshot(native);
    const slow = await snapshot(verbose);
    expect(fast).to.have.length(3 * PODS);
    expect([...nativeCalls(native)].sort()).to.deep.equal(['containers.list', 'tasks.list']);
    expect(statusCalls(native)).to.deep.equal([]);
    expect(statusCalls(verbose)).to.have.length(3 * PODS);
    // the fake's statuses carry no startedAt: the pictures are equal field by field
    expect(plain(fast)).to.deep.equal(plain(slow));
    const privileged = fast.filter((c) => PRIVILEGED_LABEL in c.labels);
    expect(privileged).to.have.length(3 * Math.ceil(PODS / 7));
    const sandbox = fast.find((c) => c.id === 's1')!;
    expect(sandbox.labels[CRI_SANDBOX_LABEL]).to.equal('');
    expect(sandbox.image).to.equal('docker.io/library/pause:fake');
    expect(fast.find((c) => c.id === 'a1')!.image).to.equal('docker.io/library/busybox:fake');
  });

  it('containerd without the native services (UNIMPLEMENTED): a verbose status per entry, PIDs from them', async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'unimplemented' });
    populate(f, 50);
    const list = await snapshot(f);
    expect(list).to.have.length(150);
    expect(statusCalls(f)).to.have.length(150);
    expect(list.find((c) => c.id === 'b3')!.pid).to.equal(10_002 + 9);
  });

  it('containerd refusing the native calls (PERMISSION_DENIED): a verbose status per entry', async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'refuse' });
    populate(f, 50);
    const list = await snapshot(f);
    expect(list).to.have.length(150);
    expect(nativeCalls(f).length).to.be.greaterThan(0);
    expect(statusCalls(f)).to.have.length(150);
  });

  it('another runtime (Version is not containerd’s): never asks the native services, a verbose status per entry', async () => {
    const f = await fake({ native: 'serve' });
    populate(f, 50);
    const list = await snapshot(f);
    expect(list).to.have.length(150);
    expect(nativeCalls(f)).to.deep.equal([]);
    expect(statusCalls(f)).to.have.length(150);
  });

  it('a container and a sandbox missing from the task list (started after it): one verbose status each, nothing else', async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'serve' });
    populate(f, 50);
    f.untasked.add('a7');
    f.untasked.add('s9');
    const list = await snapshot(f);
    expect(list).to.have.length(150);
    expect(statusCalls(f).sort()).to.deep.equal(['containerStatus:a7', 'podSandboxStatus:s9']);
    expect(list.find((c) => c.id === 'a7')!.pid).to.equal(10_001 + 21);
    expect(list.find((c) => c.id === 's9')!.pid).to.equal(10_000 + 27);
  });

  it(`a relist (previous) asks the task list only when more entries lack a PID than it costs calls: unchanged ${3 * PODS} → the two lists alone; one new → its status; a new pod of three → the task list; always the full list’s picture`, async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'serve' });
    populate(f);
    const adapter = criAdapter({ endpoint: f.address });
    // the calls of one snapshot, sorted (the version call of the adapter’s first list aside)
    const callsOf = async (previous?: Portfolio): Promise<{ calls: string[]; list: readonly Container[] }> => {
      const mark = f.calls.length;
      const list = await lastValueFrom(adapter.snapshot(previous));
      return { calls: f.calls.slice(mark).filter((c) => c !== 'version').sort(), list };
    };
    const full = async () => {
      const check = criAdapter({ endpoint: f.address });
      try {
        return await lastValueFrom(check.snapshot());
      } finally {
        check.dispose();
      }
    };
    try {
      const first = await callsOf();
      expect(first.calls).to.deep.equal(['containers.list', 'listContainers', 'listPodSandbox', 'tasks.list']);
      expect(first.list).to.have.length(3 * PODS);

      const unchanged = await callsOf(Portfolio.of(first.list));
      expect(unchanged.calls, 'an unchanged picture').to.deep.equal(['listContainers', 'listPodSandbox']);
      expect(unchanged.list).to.have.ordered.members(first.list); // the very objects, in order

      // one container started and one exited silently: one status call, no task list
      const a1 = f.containers.get('a1')!;
      f.containers.set('late', { ...a1, status: { ...a1.status, id: 'late' }, info: { info: JSON.stringify({ ...JSON.parse(a1.info['info']!), pid: 77_001 }) } });
      f.stopContainer('b1', true);
      const one = await callsOf(Portfolio.of(first.list));
      expect(one.calls, 'one new container').to.deep.equal(['containerStatus:late', 'listContainers', 'listPodSandbox']);
      expect(plain(one.list)).to.deep.equal(plain(await full()));

      // a new pod (a sandbox and two containers): the task list and the records, no status call
      f.addPod('fresh', 88_000, { fa: 88_001, fb: 88_002 });
      const pod = await callsOf(Portfolio.of(one.list));
      expect(pod.calls, 'a new pod').to.deep.equal(['containers.list', 'listContainers', 'listPodSandbox', 'tasks.list']);
      expect(plain(pod.list)).to.deep.equal(plain(await full()));
      expect(pod.list.find((c) => c.id === 'fb')!.pid).to.equal(88_002);
    } finally {
      adapter.dispose();
    }
  });

  it('a packer gets the verbose statuses it is promised: the native services are not asked', async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'serve' });
    populate(f, 10);
    const list = await snapshot(f, { packer: (raw) => raw.kind });
    expect(list).to.have.length(30);
    expect(nativeCalls(f)).to.deep.equal([]);
    expect(statusCalls(f)).to.have.length(30);
    expect(list.find((c) => c.id === 'a1')!.rucksack).to.equal('container');
  });

  it('startedAt (only in a verbose status) seen by a start inspection is kept by the lists from the task list, until the container exits', async () => {
    const f = await fake({ version: CONTAINERD_CRI_VERSION, native: 'serve' });
    populate(f, 3);
    const started = 1_800_000_000_123_456_789n;
    for (const c of f.containers.values()) c.status = { ...c.status, startedAt: started };
    const adapter = criAdapter({ endpoint: f.address, resyncInterval: 0 });
    const rec = record(adapter.events());
    try {
      await eventually(() => rec.values.some((x) => x.type === 'listening'), 'listening');
      const before = await lastValueFrom(adapter.snapshot());
      expect(before.filter((c) => c.startedAt !== undefined)).to.deep.equal([]);
      f.emit(ContainerEventType.CONTAINER_STARTED_EVENT, 'a1');
      await eventually(() => rec.values.some((x) => x.type === 'started' && x.container.id === 'a1'), 'the start of a1');
      const after = await lastValueFrom(adapter.snapshot());
      expect(after.filter((c) => c.startedAt !== undefined).map((c) => [c.id, c.startedAt!.getTime()])).to.deep.equal([['a1', 1_800_000_000_123]]);
      expect(statusCalls(f)).to.deep.equal(['containerStatus:a1']);
      f.stopContainer('a1');
      f.emit(ContainerEventType.CONTAINER_STOPPED_EVENT, 'a1');
      await eventually(() => rec.values.some((x) => x.type === 'exited' && x.id === 'a1'), 'the exit of a1');
      // a1 running again under the same PID (as a replay might claim): its old start time is gone with its exit
      f.containers.get('a1')!.status = { ...f.containers.get('a1')!.status, state: 1 };
      const again = await lastValueFrom(adapter.snapshot());
      expect(again.filter((c) => c.startedAt !== undefined)).to.deep.equal([]);
    } finally {
      rec.subscription.unsubscribe();
      adapter.dispose();
    }
  });
});
