/**
 * The CRI relist on the real containerd 1.7 CRI plugin: a relist of an unchanged picture makes the
 * two list calls and no status call; a new pod costs at most the status calls of its sandbox and
 * containers (none where containerd's task list has their PIDs); both end equal to the truth. The status calls are counted with spies on the generated client.
 */
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import sinon from 'sinon';
import { criAdapter } from '../../lib/engines/cri/cri-source.js';
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

  it('a relist makes a status call only for what the picture lacks, and ends equal to the truth', async () => {
    const l = lab!;
    await l.runPod('relist-a', ['app', 'sidecar']);
    await l.runPod('relist-b', ['main']);
    const proto = RuntimeServiceClient.prototype as unknown as Record<'containerStatus' | 'podSandboxStatus' | 'listContainers' | 'listPodSandbox', (...args: unknown[]) => unknown>;
    const spies = {
      status: sinon.spy(proto, 'containerStatus'),
      sandboxStatus: sinon.spy(proto, 'podSandboxStatus'),
      lists: sinon.spy(proto, 'listContainers'),
      sandboxLists: sinon.spy(proto, 'listPodSandbox'),
    };
    const counts = () => [spies.lists.callCount, spies.sandboxLists.callCount, spies.status.callCount + spies.sandboxStatus.callCount];
    const delta = (before: number[]) => counts().map((n, i) => n - before[i]!);
    const adapter = criAdapter({ endpoint: socket });
    try {
      let before = counts();
      const first = await firstValueFrom(adapter.snapshot());
      // the first list: a verbose status per entry, or none where containerd's task list had the PIDs (crisoak8)
      expect(delta(before)[2]).to.be.at.most(first.length);
      expect(byId(first.map((c) => l.seen(c)))).to.deep.equal(await l.truth());

      before = counts();
      const again = await firstValueFrom(adapter.snapshot(Portfolio.of(first)));
      expect(delta(before)).to.deep.equal([1, 1, 0]);
      expect(byId(again.map((c) => l.seen(c)))).to.deep.equal(await l.truth());

      const fresh = await l.runPod('relist-c', ['one', 'two']);
      before = counts();
      const relisted = await firstValueFrom(adapter.snapshot(Portfolio.of(again)));
      const d = delta(before);
      expect(d.slice(0, 2)).to.deep.equal([1, 1]);
      // only the new pod's sandbox and two containers may need a status (none where the task list has them)
      expect(d[2]).to.be.at.most(3);
      expect(byId(relisted.map((c) => l.seen(c)))).to.deep.equal(await l.truth());
      expect(relisted.map((c) => c.id)).to.include.members([fresh.sandboxId, ...Object.values(fresh.containers)]);
    } finally {
      adapter.dispose();
    }
  });
});
