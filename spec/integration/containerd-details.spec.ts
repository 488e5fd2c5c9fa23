/**
 * watchContainerd against the real containerd 1.7 of the lab, for what issue 9 adds: the exit details
 * of a task that exits by itself with a chosen code, of one SIGKILLed (137) and of one the OOM killer
 * ends; image and times; a label-filtered watcher that holds exactly the matching containers while
 * others come and go; the `namespaces` allow-list.
 */
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { watchContainerd } from '../../lib/engines/containerd/watch-containerd.js';
import { restartEngine, useEngine } from '../helpers/engines.js';
import { FAST_RETRY, Watchers, byId, pictureOf } from '../helpers/picture.js';
import { ContainerdLab, type Seen, displayId, eventually } from '../engines/containerd/containerd-lab.js';

const ENGINE = 'containerd17';
/** A task that waits for the file /go (made by an exec), then exits with `code`. */
const exitsWith = (code: number): string[] => ['sh', '-c', `while [ ! -e /go ]; do sleep 0.05; done; exit ${code}`];

describe(`watchContainerd on ${ENGINE}: exit details, image and times, label filters, namespaces`, function () {
  this.timeout(180_000);
  let address: string;
  let lab: ContainerdLab;
  const watchers = new Watchers();
  const subscriptions: Subscription[] = [];

  before(function () {
    address = useEngine(this, ENGINE);
  });
  beforeEach(() => {
    lab = new ContainerdLab(ENGINE);
  });
  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    await watchers.close();
    await lab?.cleanup();
  });

  function watchIt(options: { labels?: string[]; namespaces?: string[]; ignoreNamespaces?: string[] } = {}): Watcher {
    return watchers.add(watchContainerd({ address, retry: FAST_RETRY, ...options }));
  }
  function lifecycleOf(ww: Watcher): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    subscriptions.push(ww.lifecycle$.subscribe((e) => events.push(e)));
    return events;
  }
  const exitOf = (events: readonly LifecycleEvent[], id: string) => events.find((e) => e.type === 'exited' && e.container.id === id);

  it('an exit by itself carries its code and time; a SIGKILL 137; an OOM kill 137 and oomKilled', async () => {
    const ww = watchIt();
    await ww.ready;
    const events = lifecycleOf(ww);
    const sevenId = lab.id('seven');
    const seven = await lab.run('ns2', sevenId, { cmd: exitsWith(7) });
    const killedId = lab.id('killed');
    const killed = await lab.run('default', killedId);
    const oomId = lab.id('oom');
    const oom = await lab.run('ns2', oomId, {
      flags: ['--memory-limit', String(16 * 1024 * 1024)],
      cmd: ['sh', '-c', 'while [ ! -e /go ]; do sleep 0.05; done; x=0123456789; while true; do x=$x$x; done'],
    });
    await eventually(() => [seven, killed, oom].every((id) => ww.portfolio.container(id) !== undefined), 'the three starts');

    const before = Date.now();
    await lab.exec('ns2', sevenId, `go-${lab.runId}`, ['touch', '/go']);
    await lab.kill('default', killedId);
    await lab.exec('ns2', oomId, `go-${lab.runId}`, ['touch', '/go']);
    await eventually(() => [seven, killed, oom].every((id) => exitOf(events, id) !== undefined), 'the three exits', 60_000);

    const seen = (id: string) => {
      const e = exitOf(events, id)!;
      expect(e.synthetic, id).to.equal(false);
      expect(e.exit?.time, id).to.be.instanceOf(Date);
      expect(e.exit!.time!.getTime(), id).to.be.within(before - 5_000, Date.now() + 5_000);
      return { code: e.exit?.code, oomKilled: e.exit?.oomKilled ?? false };
    };
    expect(seen(seven)).to.deep.equal({ code: 7, oomKilled: false });
    expect(seen(killed)).to.deep.equal({ code: 137, oomKilled: false });
    expect(seen(oom)).to.deep.equal({ code: 137, oomKilled: true });
  });

  it('sets image and createdAt from the container record, startedAt from the /tasks/start it saw (kept after containerd restarted; none for what was running before)', async () => {
    const listedId = lab.id('listed');
    const listed = await lab.run('default', listedId);
    const ww = watchIt();
    await ww.ready;
    const t0 = Date.now();
    const liveId = lab.id('live');
    const live = await lab.run('ns2', liveId);
    await eventually(() => ww.portfolio.container(live) !== undefined, 'the live start');
    const a = ww.portfolio.container(listed)!;
    const b = ww.portfolio.container(live)!;
    for (const c of [a, b]) {
      expect(c.image, c.id).to.equal(lab.image);
      expect(c.createdAt, c.id).to.be.instanceOf(Date);
    }
    expect(a.startedAt).to.equal(undefined);
    expect(b.createdAt!.getTime()).to.be.within(t0 - 5_000, Date.now() + 5_000);
    expect(b.startedAt!.getTime()).to.be.at.least(b.createdAt!.getTime());
    expect(b.startedAt!.getTime()).to.be.at.most(Date.now() + 5_000);

    // containerd restarted under the watcher (the tasks live on): the relist keeps what it knew
    await restartEngine(ENGINE);
    await eventually(() => ww.status.state === 'live', 'the watcher to be live again', 60_000);
    // a start after the restart comes through the new stream, after the relist of the new session
    const markerId = lab.id('marker');
    const marker = await lab.run('default', markerId);
    await eventually(() => ww.portfolio.container(marker) !== undefined, 'a start after the restart');
    expect(ww.portfolio.container(live)?.startedAt?.getTime()).to.equal(b.startedAt!.getTime());
    expect(ww.portfolio.container(listed)?.startedAt).to.equal(undefined);
    expect(ww.portfolio.container(marker)?.startedAt).to.be.instanceOf(Date);
  });

  it('a label-filtered watcher holds exactly the matching containers while others come and go', async () => {
    const key = `ww.spec/role-${lab.runId}`;
    const ww = watchIt({ labels: [`${key}=match`, 'ww.spec/present'] });
    await ww.ready;
    const matching = new Set<string>();
    const run = async (ns: string, hint: string, labels: Record<string, string>, matches: boolean) => {
      const id = lab.id(hint);
      const shown = await lab.run(ns, id, { labels });
      if (matches) matching.add(shown);
      return [ns, id, shown] as const;
    };
    const expectExactly = async (what: string) => {
      let last = '';
      await eventually(
        async () => {
          const truth: Seen[] = byId((await lab.truth()).filter((t) => matching.has(t.id)));
          const picture = pictureOf(ww, lab);
          last = `${JSON.stringify(picture)} vs ${JSON.stringify(truth)}`;
          return JSON.stringify(picture) === JSON.stringify(truth);
        },
        `${what}: the picture to hold exactly the matching containers`,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${last}`);
      });
    };
    // containerd keeps no label with an empty value (so a present label has one)
    const m1 = await run('default', 'm1', { [key]: 'match', 'ww.spec/present': 'y' }, true);
    await run('default', 'wrong-value', { [key]: 'other', 'ww.spec/present': 'y' }, false);
    await run('default', 'empty-present', { [key]: 'match', 'ww.spec/present': '' }, false);
    await run('ns2', 'no-present', { [key]: 'match' }, false);
    const m2 = await run('ns2', 'm2', { [key]: 'match', 'ww.spec/present': 'x' }, true);
    await run('ns2', 'plain', {}, false);
    await expectExactly('after the starts');
    expect(ww.portfolio.total).to.equal(2);

    await lab.kill(m1[0], m1[1]);
    matching.delete(m1[2]);
    const m3 = await run('default', 'm3', { [key]: 'match', 'ww.spec/present': 'z' }, true);
    await expectExactly('after one went and another came');
    expect(ww.portfolio.container(m3[2])?.labels[key]).to.equal('match');
    expect(ww.portfolio.container(m2[2])).to.not.equal(undefined);

    // a new watcher with the same filter lists exactly these (the filter pushed down to Containers.List)
    const again = watchIt({ labels: [`${key}=match`, 'ww.spec/present'] });
    await again.ready;
    expect(byId(again.portfolio.containers.map((c) => lab.seen(c)))).to.deep.equal(pictureOf(ww, lab));
  });

  it('the namespaces allow-list: only those namespaces, k8s.io too when named; ignoreNamespaces still applies', async () => {
    const nsA = `ww-a-${lab.runId}`;
    const nsB = `ww-b-${lab.runId}`;
    const inA = await lab.run(nsA, lab.id('a'));
    const inB = await lab.run(nsB, lab.id('b'));
    const inK8s = await lab.run('k8s.io', lab.id('k'));
    const inDefault = await lab.run('default', lab.id('d'));
    const onlyA = watchIt({ namespaces: [nsA, 'k8s.io'] });
    const aLessK8s = watchIt({ namespaces: [nsA, 'k8s.io'], ignoreNamespaces: ['k8s.io'] });
    await Promise.all([onlyA.ready, aLessK8s.ready]);
    const ids = (ww: Watcher) =>
      ww.portfolio.containers
        .map((c) => c.id)
        .filter((id) => id.includes(lab.runId))
        .sort();
    expect(ids(onlyA)).to.deep.equal([inA, inK8s].sort());
    expect(ids(aLessK8s)).to.deep.equal([inA]);

    // and live: starts elsewhere stay out
    const laterA = await lab.run(nsA, lab.id('a2'));
    await lab.run(nsB, lab.id('b2'));
    await lab.run('default', lab.id('d2'));
    await eventually(() => onlyA.portfolio.container(laterA) !== undefined && aLessK8s.portfolio.container(laterA) !== undefined, 'the later start in A');
    // a marker after the others: once it is seen, the starts before it were seen too (engine order)
    const marker = await lab.run(nsA, lab.id('marker'));
    await eventually(() => onlyA.portfolio.container(marker) !== undefined, 'the marker');
    expect(ids(onlyA)).to.deep.equal([inA, inK8s, laterA, marker].sort());
    expect(onlyA.portfolio.container(inB)).to.equal(undefined);
    expect(onlyA.portfolio.container(inDefault)).to.equal(undefined);
    expect(displayId(nsA, 'x')).to.equal(`${nsA}/x`);
  });
});
