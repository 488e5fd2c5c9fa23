/**
 * watchContainerd against the real containerd 1.7 of the lab, in several
 * namespaces (default, ns2, and the ignored moby): a picture of what was alive
 * before, every lifecycle step (an exec's exit does not end a container), churn
 * during the first synchronisation, and containerd killed and restarted under
 * the watcher while its tasks live on (one of them killed meanwhile). After
 * each, the portfolio must equal the truth read with `ctr`.
 */
import { expect } from 'chai';
import type { Watcher } from '../../lib/core/watcher.js';
import { NERDCTL_NAME_LABEL } from '../../lib/engines/containerd/containerd-normalize.js';
import { watchContainerd } from '../../lib/engines/containerd/watch-containerd.js';
import { PROJECT_LABEL } from '../../lib/model/container.js';
import { killEngine, processAlive, restartEngine, useEngine } from '../helpers/engines.js';
import { FAST_RETRY, Watchers, changesAbout as about, expectReplayOf, matchesTruth, pictureOf } from '../helpers/picture.js';
import { ContainerdLab, eventually } from '../engines/containerd/containerd-lab.js';

const ENGINE = 'containerd17';

describe(`watchContainerd on ${ENGINE}`, function () {
  this.timeout(180_000);
  let address: string;
  let lab: ContainerdLab;
  const watchers = new Watchers();

  before(function () {
    address = useEngine(this, ENGINE);
  });
  beforeEach(() => {
    lab = new ContainerdLab(ENGINE);
  });
  afterEach(async () => {
    await watchers.close();
    await lab?.cleanup();
  });

  function watchIt(): Watcher {
    return watchers.add(watchContainerd({ address, retry: FAST_RETRY }));
  }

  it('pictures what was alive before it started: running and paused, several namespaces, nerdctl names, compose projects', async () => {
    const project = `shop${lab.runId}`;
    const web = await lab.run('default', lab.id('web'), { labels: { [NERDCTL_NAME_LABEL]: `web-${lab.runId}`, [PROJECT_LABEL]: project, 'com.docker.compose.service': 'web' } });
    const dbId = lab.id('db');
    const db = await lab.run('ns2', dbId, { labels: { [NERDCTL_NAME_LABEL]: `db-${lab.runId}`, [PROJECT_LABEL]: project, 'com.docker.compose.service': 'db' } });
    await lab.pause('ns2', dbId);
    const plain = await lab.run('ns2', lab.id('plain'));
    const hidden = await lab.run('moby', lab.id('hidden'));
    const hiddenToo = await lab.run('k8s.io', lab.id('hidden'));

    const ww = watchIt();
    await ww.ready;
    expect(ww.status.state).to.equal('live');
    const truth = await lab.truth();
    expect(pictureOf(ww, lab)).to.deep.equal(truth);
    expect(ww.portfolio.container(hidden)).to.equal(undefined);
    expect(ww.portfolio.container(hiddenToo)).to.equal(undefined);
    expect(ww.portfolio.container(db)?.paused).to.equal(true);
    expect(ww.portfolio.container(web)?.paused).to.equal(false);
    expect(ww.portfolio.container(`web-${lab.runId}`)?.id).to.equal(web);
    expect(ww.portfolio.container(`ns2/db-${lab.runId}`)?.id).to.equal(db);
    expect(ww.portfolio.container(plain)?.name).to.equal(plain);
    expect(ww.portfolio.container(plain)?.project).to.equal('');
    const p = ww.portfolio.project(project);
    expect(p?.total).to.equal(2);
    expect(p!.containers.map((c) => c.labels['com.docker.compose.service']).sort()).to.deep.equal(['db', 'web']);

    expectReplayOf(watchers.changesOf(ww), truth);
    const info = await ww.info();
    expect(info.api).to.equal(`unix://${address}`);
    expect(info.type).to.equal('containerd.io');
  });

  it('follows start, pause, resume, exec exit, kill and delete in default and ns2; moby stays out', async () => {
    const ww = watchIt();
    await ww.ready;
    const changes = watchers.changesOf(ww);
    for (const ns of ['default', 'ns2', 'moby']) {
      const id = lab.id(`life-${ns}`);
      const project = `life${lab.runId}`;
      const shown = await lab.run(ns, id, { labels: { [PROJECT_LABEL]: project } });
      const pid = await lab.pid(ns, id);
      if (ns === 'moby') {
        await lab.pause(ns, id);
        await lab.resume(ns, id);
        await lab.exec(ns, id, `true-${lab.runId}`, ['true']);
        await lab.kill(ns, id);
        await lab.delete(ns, id);
        continue;
      }
      await eventually(() => ww.portfolio.container(shown)?.pid === pid, `the start of ${shown}`);
      expect(ww.portfolio.project(project)?.container(shown)?.pid).to.equal(pid);

      await lab.pause(ns, id);
      await eventually(() => ww.portfolio.container(shown)?.paused === true, 'the pause');
      await lab.resume(ns, id);
      await eventually(() => ww.portfolio.container(shown)?.paused === false, 'the resume');

      // an exec'd process ends: the container lives on
      await lab.exec(ns, id, `true-${lab.runId}`, ['true']);
      await lab.exec(ns, id, `fail-${lab.runId}`, ['sh', '-c', 'exit 5']).catch(() => undefined);
      const marker = await lab.run('default', lab.id('marker'));
      await eventually(() => ww.portfolio.container(marker) !== undefined, 'a marker start after the execs');
      expect(ww.portfolio.container(shown)?.pid).to.equal(pid);

      await lab.kill(ns, id);
      await eventually(() => ww.portfolio.container(shown) === undefined, 'the kill');
      expect(ww.portfolio.project(project)).to.equal(undefined);
      await lab.delete(ns, id);
      expect(about(changes, shown), JSON.stringify(changes.filter((c) => c.id === shown))).to.deep.equal([`started:${pid}`, `paused:${pid}`, `unpaused:${pid}`, `exited:${pid}`]);
      expect(about(changes, shown, true)).to.deep.equal([]);
    }
    await matchesTruth(ww, lab, 'after the lifecycles');
    expect(changes.filter((c) => c.id.startsWith('moby/'))).to.deep.equal([]);
    expect(ww.status.state).to.equal('live');
  });

  it('ends equal to the truth after churn during its first synchronisation', async () => {
    const namespaces = ['default', 'ns2'];
    const base: [string, string][] = [];
    for (let i = 0; i < 8; i++) {
      const ns = namespaces[i % 2]!;
      const id = lab.id(`base${i}`);
      await lab.run(ns, id);
      base.push([ns, id]);
    }
    let churning = true;
    let round = 0;
    let started!: () => void;
    const firstRound = new Promise<void>((resolve) => (started = resolve));
    const churn = (async () => {
      while (churning && round < 30) {
        round += 1;
        const ns = namespaces[round % 2]!;
        const id = lab.id(`churn${round}`);
        const run = lab.run(ns, id);
        started();
        await run;
        if (round % 2 === 0) await lab.kill(ns, id);
        if (round % 3 === 0) {
          const [bns, bid] = base[round % base.length]!;
          await lab.kill(bns, bid).catch(() => undefined);
        }
        if (round % 5 === 0) await lab.pause(ns, id).catch(() => undefined);
      }
      return round;
    })();
    await firstRound;
    const ww = watchIt();
    await ww.ready;
    const atReady = round;
    // a few more rounds while live
    await eventually(() => round >= atReady + 3, 'three more rounds of churn');
    churning = false;
    const rounds = await churn;
    expect(rounds).to.be.greaterThan(3);
    await matchesTruth(ww, lab, 'after the churn');
    expect(ww.status.state).to.equal('live');
  });

  it('survives containerd killed and restarted under it, with the right exits and starts and no duplicates', async () => {
    const keepId = lab.id('keep');
    const keep = await lab.run('default', keepId);
    const victimId = lab.id('victim');
    const victim = await lab.run('ns2', victimId);
    const frozenId = lab.id('frozen');
    const frozen = await lab.run('ns2', frozenId);
    await lab.pause('ns2', frozenId);
    const ww = watchIt();
    await ww.ready;
    const all = watchers.changesOf(ww);
    const replayed = all.length; // the synthetic starts of the current picture
    const keepPid = ww.portfolio.container(keep)!.pid;
    const victimPid = ww.portfolio.container(victim)!.pid;
    expect(ww.portfolio.container(frozen)?.paused).to.equal(true);

    await killEngine(ENGINE);
    await eventually(() => ww.status.state === 'degraded', 'the watcher to notice containerd is gone');
    const s = ww.status;
    expect(s.state === 'degraded' ? s.error.code : s.state).to.equal('unreachable');
    // the last good picture stays visible while containerd is away
    expect(ww.portfolio.container(keep)?.pid).to.equal(keepPid);
    // tasks outlive containerd: change one meanwhile, behind its back
    process.kill(victimPid, 'SIGKILL');
    await eventually(() => !processAlive(victimPid), 'the victim process to die');

    await restartEngine(ENGINE);
    await eventually(() => ww.status.state === 'live', 'the watcher to be live again', 60_000);
    await matchesTruth(ww, lab, 'after containerd came back');
    const truth = new Map((await lab.truth()).map((c) => [c.id, c]));
    expect(truth.get(keep)?.pid).to.equal(keepPid);
    expect(truth.has(victim)).to.equal(false);
    expect(truth.get(frozen)?.paused).to.equal(true);

    // and it follows containerd live again
    const afterId = lab.id('after');
    const after = await lab.run('default', afterId);
    await eventually(() => ww.portfolio.container(after) !== undefined, 'a start after the restart');
    await lab.resume('ns2', frozenId);
    await eventually(() => ww.portfolio.container(frozen)?.paused === false, 'a resume after the restart');

    const changes = all.slice(replayed);
    expect(about(changes, keep)).to.deep.equal([]);
    expect(about(changes, victim)).to.deep.equal([`exited:${victimPid}`]);
    expect(about(changes, frozen).map((c) => c.replace(/:.*/, ''))).to.deep.equal(['unpaused']);
    expect(about(changes, after, false).map((c) => c.replace(/:.*/, ''))).to.deep.equal(['started']);
    expect(ww.status.state).to.equal('live');
  });
});
