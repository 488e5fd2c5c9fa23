/**
 * watchCri against the real containerd 1.7 CRI plugin of the lab, for what issue 9 adds: the exit
 * details of a container that exits by itself with a chosen code, of one stopped at once (SIGKILL:
 * 137) and of one the OOM killer ends (reason OOMKilled); image and times; label-filtered watchers
 * (the runtime's label_selector) that hold exactly the matching containers while others come and go.
 * The exit details are the same whether the STOPPED event or the periodic relist tells an exit first
 * (the relist's are asked after the fact), and a second case takes the relist's path every time.
 * containerd 1.7 has one shared event channel (a cancelled stream swallows a later event, two streams
 * split them): containerd is restarted first, and each exit spec runs with one watcher only (the relist
 * repairs an event a cancelled stream swallowed).
 */
import { expect } from 'chai';
import { type Subscription, filter, firstValueFrom } from 'rxjs';
import type { EngineAdapter } from '../../lib/core/engine.js';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import { type WatchOptions, type Watcher, watch } from '../../lib/core/watcher.js';
import { CRI_SANDBOX_LABEL } from '../../lib/engines/cri/cri-normalize.js';
import { criAdapter } from '../../lib/engines/cri/cri-source.js';
import { watchCri } from '../../lib/engines/cri/watch-cri.js';
import { restartEngine, useEngine } from '../helpers/engines.js';
import { FAST_RETRY, Watchers, byId, pictureOf } from '../helpers/picture.js';
import { CRI_LAB_IMAGE, CriLab, type Truth, eventually } from '../engines/cri/cri-lab.js';

const ENGINE = 'containerd17';
const RESYNC = 1_000;
/** How long lifecycle$ may wait for the details of an exit the relist inferred (the default 2 s is for users, not for a loaded test machine). */
const EXIT_DETAILS_TIMEOUT = 30_000;

describe(`watchCri on ${ENGINE}: exit details, image and times, label filters`, function () {
  this.timeout(180_000);
  let socket: string;
  let lab: CriLab | undefined;
  const watchers = new Watchers();
  const subscriptions: Subscription[] = [];

  before(async function () {
    socket = useEngine(this, ENGINE);
    // a fresh event channel: nothing buffered, no cancelled stream of an earlier spec to swallow an event
    await restartEngine(ENGINE);
  });
  beforeEach(() => {
    lab = new CriLab(socket);
  });
  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    await watchers.close();
    await lab?.cleanup();
    lab?.close();
    lab = undefined;
  });

  function watchIt(labels?: string[], more: WatchOptions = {}): Watcher {
    return watchers.add(watchCri({ endpoint: socket, retry: FAST_RETRY, resyncInterval: RESYNC, ...more, ...(labels === undefined ? {} : { labels }) }));
  }

  /**
   * Three exits of one pod: by itself with code 7, a stop (SIGKILL: 137), an OOM kill; each must carry the
   * runtime's code, reason and time, whoever tells the watcher first. An exit the STOPPED event tells is real
   * (`synthetic` false, the event's container status has the details); one the 1 s relist finds first is
   * synthetic, its details asked after the fact (`exitDetails`, bounded generously here so that a loaded
   * machine cannot cut the ask short): the late STOPPED then changes nothing. Which comes first is the
   * runtime's timing, so the spec takes either and demands the same details; `onlyRelists` drops the
   * adapter's exit events, so every exit is the relist's and its details the after-the-fact ones.
   */
  async function threeExits(ww: Watcher, how: { readonly onlyRelists: boolean }): Promise<void> {
    const l = lab!;
    await ww.ready;
    const events: LifecycleEvent[] = [];
    subscriptions.push(ww.lifecycle$.subscribe((e) => events.push(e)));
    const pod = await l.runPod('exits', ['app']);
    const app = pod.containers['app']!;
    const seven = await l.runContainer(pod, 'seven', { command: ['/bin/sh', '-c', 'sleep 4; exit 7'] });
    const oom = await l.runContainer(pod, 'oom', { command: ['/bin/sh', '-c', 'sleep 4; x=0123456789; while true; do x=$x$x; done'], memoryLimit: 16n * 1024n * 1024n });
    await eventually(() => [pod.sandboxId, app, seven, oom].every((id) => ww.portfolio.container(id) !== undefined), 'the pod and its three containers');

    const c = ww.portfolio.container(app)!;
    expect(c.image).to.equal(CRI_LAB_IMAGE);
    expect(c.createdAt).to.be.instanceOf(Date);
    expect(c.startedAt!.getTime()).to.be.at.least(c.createdAt!.getTime());
    const sandbox = ww.portfolio.container(pod.sandboxId)!;
    expect(sandbox.labels[CRI_SANDBOX_LABEL]).to.equal('');
    expect(sandbox.image).to.equal('docker.io/library/pause:lab');
    expect(sandbox.createdAt!.getTime()).to.be.at.most(c.createdAt!.getTime());

    const before = Date.now();
    await l.stopContainer(app);
    const exitsOf = (id: string) => events.filter((e) => e.type === 'exited' && e.container.id === id);
    await eventually(() => [app, seven, oom].every((id) => exitsOf(id).length > 0), 'the three exits', 60_000);
    const seen = (id: string) => {
      const [e, ...more] = exitsOf(id);
      expect(more, `${id}: one exit`).to.deep.equal([]);
      if (how.onlyRelists) expect(e!.synthetic, `${id}: told by the relist`).to.equal(true);
      expect(e!.exit?.time!.getTime(), id).to.be.within(before - 10_000, Date.now() + 5_000);
      return { code: e!.exit?.code, reason: e!.exit?.reason, oomKilled: e!.exit?.oomKilled ?? false };
    };
    expect(seen(app)).to.deep.equal({ code: 137, reason: 'Error', oomKilled: false });
    expect(seen(seven)).to.deep.equal({ code: 7, reason: 'Error', oomKilled: false });
    expect(seen(oom)).to.deep.equal({ code: 137, reason: 'OOMKilled', oomKilled: true });

    // asked after the fact, as the watcher does for exits it only infers from a relist
    const adapter = criAdapter({ endpoint: socket });
    try {
      const later = await firstValueFrom(adapter.exitDetails!(seven));
      expect({ code: later?.code, reason: later?.reason }).to.deep.equal({ code: 7, reason: 'Error' });
      expect(later?.time?.getTime()).to.equal(exitsOf(seven)[0]!.exit?.time?.getTime());
      // a sandbox has no exit status, a container that never was none either
      expect(await firstValueFrom(adapter.exitDetails!(pod.sandboxId))).to.equal(null);
      expect(await firstValueFrom(adapter.exitDetails!('0'.repeat(64)))).to.equal(null);
    } finally {
      adapter.dispose();
    }
  }

  it('an exit by itself carries its code, time and reason; a stop SIGKILLs (137); an OOM kill says OOMKilled; image and times are set (told by the STOPPED event or the relist, whichever comes first)', async () => {
    await threeExits(watchIt(undefined, { exitDetailsTimeout: EXIT_DETAILS_TIMEOUT }), { onlyRelists: false });
  });

  it('the same details for exits only the relist tells (the adapter’s exit events dropped): asked after the fact', async () => {
    const inner = criAdapter({ endpoint: socket, resyncInterval: RESYNC });
    const relistsOnly: EngineAdapter = { ...inner, events: () => inner.events().pipe(filter((f) => f.type !== 'exited')) };
    await threeExits(watchers.add(watch(relistsOnly, { retry: FAST_RETRY, exitDetailsTimeout: EXIT_DETAILS_TIMEOUT })), { onlyRelists: true });
  });

  it('label-filtered watchers hold exactly the matching sandboxes or containers while others come and go', async () => {
    const l = lab!;
    const podKey = `keep${l.runId}`;
    const ctrKey = `pick${l.runId}`;
    // pod labels are on sandboxes only; container labels on containers only
    const pods = watchIt([`pod-label=${podKey}`]);
    const picked = watchIt([`ctr-label=${ctrKey}`, 'ctr-label']);
    await Promise.all([pods.ready, picked.ready]);
    const wantPods = new Set<string>();
    const wantPicked = new Set<string>();
    const expectExactly = async (ww: Watcher, want: ReadonlySet<string>, what: string) => {
      let last = '';
      await eventually(
        async () => {
          const truth: Truth[] = byId((await l.truth()).filter((t) => want.has(t.id)));
          const picture = pictureOf(ww, l);
          last = `${JSON.stringify(picture)} vs ${JSON.stringify(truth)}`;
          return truth.length === want.size && JSON.stringify(picture) === JSON.stringify(truth);
        },
        `${what}: exactly the matching ones`,
        60_000,
        100,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${last}`);
      });
    };

    const kept = await l.runPod(podKey, ['x']);
    wantPods.add(kept.sandboxId);
    const other = await l.runPod('other', ['y']);
    const pick = await l.runContainer(other, ctrKey);
    wantPicked.add(pick);
    const pick2 = await l.runContainer(kept, ctrKey);
    wantPicked.add(pick2);
    await expectExactly(pods, wantPods, 'pods, after the starts');
    await expectExactly(picked, wantPicked, 'containers, after the starts');
    // a matching container in a pod that does not match is still named by its pod
    expect(picked.portfolio.container(pick)?.name).to.equal(`${other.namespace}/${other.name}/${ctrKey}`);

    await l.stopContainer(pick2);
    wantPicked.delete(pick2);
    await l.removePod(kept);
    wantPods.delete(kept.sandboxId);
    const kept2 = await l.runPod(podKey, ['z']);
    wantPods.add(kept2.sandboxId);
    await expectExactly(pods, wantPods, 'pods, after one went and another came');
    await expectExactly(picked, wantPicked, 'containers, after one went');
    expect(pods.portfolio.total).to.equal(1);
    expect(picked.portfolio.total).to.equal(1);
  });
});
