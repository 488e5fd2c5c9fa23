/**
 * The containerd adapter against the real containerd 1.7 of the lab, adapter
 * level: info, the probe that proves the subscription, snapshot vs. the truth
 * read with `ctr`, and the normalised, ordered event feed of a container's life
 * in several namespaces (an exec's exit is not the container's).
 */
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { EngineAdapter, EngineFeed } from '../../lib/core/engine.js';
import { containerdAdapter } from '../../lib/engines/containerd/containerd-source.js';
import { NERDCTL_NAME_LABEL } from '../../lib/engines/containerd/containerd-normalize.js';
import { PROJECT_LABEL } from '../../lib/model/container.js';
import { enginePid, useEngine } from '../helpers/engines.js';
import { ContainerdLab, type Recording, eventually } from '../engines/containerd/containerd-lab.js';
import { byId, feedsAbout as about, listen as listenTo } from '../helpers/picture.js';

const ENGINE = 'containerd17';

describe(`containerd adapter on ${ENGINE}`, function () {
  this.timeout(120_000);
  let address: string;
  let lab: ContainerdLab;
  let adapter: EngineAdapter;
  const recordings: Recording<unknown>[] = [];

  before(function () {
    address = useEngine(this, ENGINE);
  });
  beforeEach(function () {
    lab = new ContainerdLab(ENGINE);
    const pid = enginePid(ENGINE);
    adapter = containerdAdapter({ address, ...(pid === undefined ? {} : { pid }) });
  });
  afterEach(async () => {
    for (const r of recordings.splice(0)) r.subscription.unsubscribe();
    adapter?.dispose();
    await lab?.cleanup();
  });

  /** Subscribes to events and waits for `listening`; returns the recording and how long the probe took. */
  async function listen(): Promise<{ rec: Recording<EngineFeed>; ms: number }> {
    const t0 = performance.now();
    const rec = await listenTo(adapter, recordings, 1);
    return { rec, ms: performance.now() - t0 };
  }

  it('tells who it is', async () => {
    const info = await adapter.info();
    expect(info.type).to.equal('containerd.io');
    expect(info.product).to.equal('containerd');
    expect(info.version).to.match(/^1\.7\./);
    expect(info.id).to.match(/^[0-9a-f-]{36}$/);
    expect(info.api).to.equal(`unix://${address}`);
    expect(info.pid).to.equal(enginePid(ENGINE));
  });

  it('proves its subscription with a probe: listening, on a cold and on a warm channel', async () => {
    const cold = await listen();
    const warm = await listen(); // a second subscription on the same channel
    console.log(`      probe round trip: ${cold.ms.toFixed(1)} ms cold, ${warm.ms.toFixed(1)} ms warm`);
    // nothing else was in either feed
    expect(cold.rec.values).to.have.length(1);
    expect(warm.rec.values).to.have.length(1);
  });

  it('lists what is alive in default and ns2 but not in moby, equal to the truth', async () => {
    const a = await lab.run('default', lab.id('a'), { labels: { [NERDCTL_NAME_LABEL]: `web-${lab.runId}`, [PROJECT_LABEL]: `shop${lab.runId}` } });
    const bId = lab.id('b');
    const b = await lab.run('ns2', bId);
    await lab.pause('ns2', bId);
    const m = await lab.run('moby', lab.id('m'));
    const list = await firstValueFrom(adapter.snapshot());
    expect(byId(list.map((c) => lab.seen(c)))).to.deep.equal(await lab.truth());
    const ids = list.map((c) => c.id);
    expect(ids).to.include.members([a, b]);
    expect(ids).to.not.include(m);
    expect(b).to.equal(`ns2/${bId}`);
    const ca = list.find((c) => c.id === a)!;
    expect(ca.name).to.equal(`web-${lab.runId}`);
    expect(ca.project).to.equal(`shop${lab.runId}`);
    expect(list.find((c) => c.id === b)!.paused).to.equal(true);
  });

  it('follows run, pause, resume, exec exit, kill and delete in engine order, per namespace', async () => {
    const { rec } = await listen();
    const lives: { ns: string; shown: string; pid: number }[] = [];
    for (const ns of ['default', 'ns2', 'moby']) {
      const id = lab.id(`life-${ns}`);
      const shown = await lab.run(ns, id);
      lives.push({ ns, shown, pid: await lab.pid(ns, id) });
      await lab.pause(ns, id);
      await lab.resume(ns, id);
      await lab.exec(ns, id, `ex-${lab.runId}`, ['sh', '-c', 'exit 3']).catch(() => undefined);
      await lab.kill(ns, id);
      await lab.delete(ns, id);
    }
    // events come in engine order: once the marker's start is in, everything before it is too
    const markerId = await lab.run('default', lab.id('marker'));
    await eventually(() => about(rec, markerId).length > 0, 'the marker start');
    for (const { ns, shown, pid } of lives) {
      // moby is ignored: nothing at all
      expect(about(rec, shown), shown).to.deep.equal(ns === 'moby' ? [] : [`started:${pid}`, 'paused', 'unpaused', 'exited']);
    }
    expect(lives.map((l) => l.shown)).to.deep.equal([lives[0]!.shown, `ns2/${lives[1]!.shown.slice(4)}`, `moby/${lives[2]!.shown.slice(5)}`]);
    expect(rec.error).to.equal(undefined);
  });
});
