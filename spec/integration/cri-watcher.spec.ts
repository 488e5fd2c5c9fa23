/**
 * watchCri against the real containerd 1.7 CRI plugin of the lab, with pods
 * made over CRI (host network, sandbox + containers): a picture of what was
 * alive before, start/stop/remove, churn during the first synchronisation, and
 * containerd killed and restarted under the watcher while its pods live on
 * (one container killed meanwhile). containerd 1.7's single event channel
 * makes events unreliable across specs (replayed, split, swallowed), so every
 * spec judges by the final truth (ListContainers RUNNING + ListPodSandbox
 * READY, with PIDs from the verbose statuses) and by the lifecycle events per
 * id (no duplicates), never by single engine events; relisting is what makes
 * the watcher right.
 */
import { expect } from 'chai';
import type { Watcher } from '../../lib/core/watcher.js';
import { CRI_SANDBOX_LABEL } from '../../lib/engines/cri/cri-normalize.js';
import { watchCri } from '../../lib/engines/cri/watch-cri.js';
import { killEngine, processAlive, restartEngine, useEngine } from '../helpers/engines.js';
import { FAST_RETRY, type Truthful, Watchers, changesAbout as about, matchesTruth as matchesTruthEvery, pictureOf } from '../helpers/picture.js';
import { CriLab, type LabPod, type Truth, eventually } from '../engines/cri/cri-lab.js';

const ENGINE = 'containerd17';
/** Relist every second: events lost to the 1.7 trap are repaired quickly. */
const RESYNC = 1_000;

/** {@link matchesTruthEvery} polling every 100 ms (each poll is a list plus a verbose status per container). */
const matchesTruth = (ww: Watcher, lab: Truthful<Truth>, what: string): Promise<Truth[]> => matchesTruthEvery(ww, lab, what, 100);

function idsOf(pod: LabPod): string[] {
  return [pod.sandboxId, ...Object.values(pod.containers)];
}

describe(`watchCri on ${ENGINE}`, function () {
  this.timeout(180_000);
  let socket: string;
  let lab: CriLab | undefined;
  const watchers = new Watchers();

  before(function () {
    socket = useEngine(this, ENGINE);
  });
  beforeEach(() => {
    lab = new CriLab(socket);
  });
  afterEach(async () => {
    await watchers.close();
    await lab?.cleanup();
    lab?.close();
    lab = undefined;
  });

  function watchIt(): Watcher {
    return watchers.add(watchCri({ endpoint: socket, retry: FAST_RETRY, resyncInterval: RESYNC }));
  }

  it('pictures the pods alive before it started: sandboxes and containers, named by pod, with PIDs', async () => {
    const l = lab!;
    const web = await l.runPod('web', ['app', 'sidecar']);
    const db = await l.runPod('db', ['pg', 'backup']);
    const ww = watchIt();
    const changes = watchers.changesOf(ww);
    await ww.ready;
    const truth = await matchesTruth(ww, l, 'after the first sync');
    for (const id of [...idsOf(web), ...idsOf(db)]) expect(truth.some((t) => t.id === id)).to.equal(true);
    const app = ww.portfolio.container(`${web.namespace}/${web.name}/app`);
    expect(app?.id).to.equal(web.containers['app']);
    const sandbox = ww.portfolio.container(`${db.namespace}/${db.name}`);
    expect(sandbox?.id).to.equal(db.sandboxId);
    expect(sandbox?.labels[CRI_SANDBOX_LABEL]).to.equal('');
    // each alive container exactly once, as a synthetic start
    for (const t of truth) expect(about(changes, t.id)).to.deep.equal([`started:${t.pid}`]);
    expect(changes.every((c) => c.synthetic)).to.equal(true);
    expect(ww.status.state).to.equal('live');
    expect((await ww.info()).type).to.equal('k8s.io/cri-api');
  });

  it('follows start, stop and remove of a pod with two containers, each change once', async () => {
    const l = lab!;
    const ww = watchIt();
    await ww.ready;
    const changes = watchers.changesOf(ww);
    const before = changes.length;

    const pod = await l.runPod('live', ['a', 'b']);
    await matchesTruth(ww, l, 'after the pod started');
    const pids = new Map(pictureOf(ww, l).map((t) => [t.id, t.pid]));
    for (const id of idsOf(pod)) expect(pids.get(id), id).to.be.greaterThan(0);

    await l.stopContainer(pod.containers['a']!);
    await matchesTruth(ww, l, 'after container a stopped');
    expect(ww.portfolio.container(pod.containers['a']!)).to.equal(undefined);
    expect(ww.portfolio.container(pod.sandboxId)).to.not.equal(undefined);

    await l.removeContainer(pod.containers['a']!);
    await l.removePod(pod);
    await matchesTruth(ww, l, 'after the pod was removed');
    for (const id of idsOf(pod)) expect(ww.portfolio.container(id)).to.equal(undefined);

    const mine = changes.slice(before);
    for (const id of idsOf(pod)) expect(about(mine, id), id).to.deep.equal([`started:${pids.get(id)}`, `exited:${pids.get(id)}`]);
    const fromEvents = mine.filter((c) => !c.synthetic).length;
    console.log(`      (measured: ${fromEvents} of ${mine.length} changes came from CRI events, ${mine.length - fromEvents} from relists)`);
    expect(ww.status.state).to.equal('live');
  });

  it('ends equal to the truth after churn during its first synchronisation', async () => {
    const l = lab!;
    const old = [await l.runPod('old1', ['a', 'b']), await l.runPod('old2', ['a'])];
    let churning = true;
    let rounds = 0;
    const churn = (async () => {
      const made: LabPod[] = [];
      while (churning || rounds < 3) {
        rounds += 1;
        made.push(await l.runPod(`churn${rounds}`, ['a', 'b']));
        if (rounds === 1) await l.removePod(old[0]!);
        if (rounds === 2) await l.stopContainer(old[1]!.containers['a']!);
        if (made.length > 2) await l.removePod(made.shift()!);
      }
      return rounds;
    })();
    const ww = watchIt();
    const changes = watchers.changesOf(ww);
    await ww.ready;
    const atReady = rounds;
    await eventually(() => rounds >= atReady + 2, 'two more rounds of churn');
    churning = false;
    expect(await churn).to.be.at.least(3);
    const truth = await matchesTruth(ww, l, 'after the churn');
    // no duplicates: per id, starts and exits alternate, and the alive ones end started
    const alive = new Set(truth.map((t) => t.id));
    for (const id of new Set(changes.map((c) => c.id))) {
      const types = changes.filter((c) => c.id === id).map((c) => c.type);
      types.forEach((t, i) => expect(t, `${id}: ${types.join(',')}`).to.equal(i % 2 === 0 ? 'started' : 'exited'));
      expect(types.length % 2 === 1, `${id}: ${types.join(',')}`).to.equal(alive.has(id));
    }
    expect(ww.status.state).to.equal('live');
  });

  it('survives containerd killed and restarted under it, with the right exits and starts and no duplicates', async () => {
    const l = lab!;
    const keep = await l.runPod('keep', ['a']);
    const hit = await l.runPod('hit', ['victim', 'bystander']);
    const ww = watchIt();
    await ww.ready;
    await matchesTruth(ww, l, 'before the kill');
    const changes = watchers.changesOf(ww);
    const replayed = changes.length; // the synthetic starts of the current picture
    const victim = hit.containers['victim']!;
    const victimPid = ww.portfolio.container(victim)!.pid;
    const before = new Map(pictureOf(ww, l).map((t) => [t.id, t.pid]));

    await killEngine(ENGINE);
    await eventually(() => ww.status.state === 'degraded', 'the watcher to notice containerd is gone');
    const s = ww.status;
    expect(s.state === 'degraded' ? s.error.code : s.state).to.equal('unreachable');
    // the last good picture stays visible while containerd is away
    expect(ww.portfolio.container(keep.sandboxId)?.pid).to.equal(before.get(keep.sandboxId));
    // pods outlive containerd: kill one container behind its back
    process.kill(victimPid, 'SIGKILL');
    await eventually(() => !processAlive(victimPid), 'the victim process to die');

    await restartEngine(ENGINE);
    await eventually(() => ww.status.state === 'live', 'the watcher to be live again', 60_000);
    const truth = await matchesTruth(ww, l, 'after containerd came back');
    expect(truth.some((t) => t.id === victim)).to.equal(false);

    // and it follows containerd again
    const after = await l.runPod('after', ['a']);
    await l.removePod(keep);
    await matchesTruth(ww, l, 'after changes following the restart');

    const mine = changes.slice(replayed);
    expect(about(mine, victim)).to.deep.equal([`exited:${victimPid}`]);
    for (const id of [hit.sandboxId, hit.containers['bystander']!]) expect(about(mine, id), id).to.deep.equal([]);
    for (const id of idsOf(keep)) expect(about(mine, id), id).to.deep.equal([`exited:${before.get(id)}`]);
    const now = new Map(pictureOf(ww, l).map((t) => [t.id, t.pid]));
    for (const id of idsOf(after)) expect(about(mine, id), id).to.deep.equal([`started:${now.get(id)}`]);
    expect(ww.status.state).to.equal('live');
  });
});
