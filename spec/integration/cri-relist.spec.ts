/**
 * The CRI relist on the real containerd 1.7 CRI plugin: a relist of an unchanged picture makes the
 * two list calls and nothing else (no status call, and none of containerd's native Tasks.List and
 * Containers.List: no PID is needed); one new container costs its status call alone; a new pod
 * (three entries lacking a PID) the native task list and records instead of three status calls; each
 * ends equal to the truth. Every call is counted with spies on the generated clients.
 */
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import sinon from 'sinon';
import { criAdapter } from '../../lib/engines/cri/cri-source.js';
import { ContainersClient } from '../../lib/gen/containerd/services/containers/v1/containers.js';
import { TasksClient } from '../../lib/gen/containerd/services/tasks/v1/tasks.js';
import { RuntimeServiceClient } from '../../lib/gen/cri/api.js';
import { Portfolio } from '../../lib/model/portfolio.js';
import { useEngine } from '../helpers/engines.js';
import { byId } from '../helpers/picture.js';
import { CriLab } from '../engines/cri/cri-lab.js';

const ENGINE = 'containerd17';

describe(`CRI relist on ${ENGINE}`, function () {
  this.timeout(180_000);
  let socket: string;
  let lab: CriLab | undefined;

  before(function () {
    socket = useEngine(this, ENGINE);
  });
  beforeEach(() => {
    lab = new CriLab(socket);
  });
  afterEach(async () => {
    sinon.restore();
    await lab?.cleanup();
    lab?.close();
    lab = undefined;
  });

  it('a relist makes a call only for what the picture lacks (no native list when nothing lacks a PID), and ends equal to the truth', async () => {
    const l = lab!;
    await l.runPod('relist-a', ['app', 'sidecar']);
    const podB = await l.runPod('relist-b', ['main']);
    const proto = RuntimeServiceClient.prototype as unknown as Record<'containerStatus' | 'podSandboxStatus' | 'listContainers' | 'listPodSandbox', (...args: unknown[]) => unknown>;
    const spies = {
      status: sinon.spy(proto, 'containerStatus'),
      sandboxStatus: sinon.spy(proto, 'podSandboxStatus'),
      lists: sinon.spy(proto, 'listContainers'),
      sandboxLists: sinon.spy(proto, 'listPodSandbox'),
      tasks: sinon.spy(TasksClient.prototype as unknown as Record<'list', (...args: unknown[]) => unknown>, 'list'),
      records: sinon.spy(ContainersClient.prototype as unknown as Record<'list', (...args: unknown[]) => unknown>, 'list'),
    };
    // [ListContainers, ListPodSandbox, status calls, native list calls]
    const counts = () => [spies.lists.callCount, spies.sandboxLists.callCount, spies.status.callCount + spies.sandboxStatus.callCount, spies.tasks.callCount + spies.records.callCount];
    const delta = (before: number[]) => counts().map((n, i) => n - before[i]!);
    const adapter = criAdapter({ endpoint: socket });
    try {
      let before = counts();
      const first = await firstValueFrom(adapter.snapshot());
      // the first list: containerd's task list and records, and a verbose status only for what they lack (started after them)
      const d0 = delta(before);
      expect(d0.slice(0, 2)).to.deep.equal([1, 1]);
      expect(d0[3]).to.equal(2);
      expect(d0[2]).to.be.at.most(first.length);
      expect(byId(first.map((c) => l.seen(c)))).to.deep.equal(await l.truth());

      before = counts();
      const again = await firstValueFrom(adapter.snapshot(Portfolio.of(first)));
      expect(delta(before), 'an unchanged picture: the two lists alone').to.deep.equal([1, 1, 0, 0]);
      expect(byId(again.map((c) => l.seen(c)))).to.deep.equal(await l.truth());
      // reused as they are (the runtime lists in no fixed order)
      for (const c of again) expect(c).to.equal(first.find((f) => f.id === c.id));

      const one = await l.runContainer(podB, 'late');
      before = counts();
      const withOne = await firstValueFrom(adapter.snapshot(Portfolio.of(again)));
      expect(delta(before), 'one new container: its status call').to.deep.equal([1, 1, 1, 0]);
      expect(byId(withOne.map((c) => l.seen(c)))).to.deep.equal(await l.truth());
      expect(withOne.map((c) => c.id)).to.include(one);

      const fresh = await l.runPod('relist-c', ['one', 'two']);
      before = counts();
      const relisted = await firstValueFrom(adapter.snapshot(Portfolio.of(withOne)));
      const d = delta(before);
      expect(d.slice(0, 2)).to.deep.equal([1, 1]);
      // the new pod's sandbox and two containers: the native task list and records, and a status only for what they lack
      expect(d[3]).to.equal(2);
      expect(d[2]).to.be.at.most(3);
      expect(byId(relisted.map((c) => l.seen(c)))).to.deep.equal(await l.truth());
      expect(relisted.map((c) => c.id)).to.include.members([fresh.sandboxId, ...Object.values(fresh.containers)]);
    } finally {
      adapter.dispose();
    }
  });
});
