/**
 * The Docker adapter against the real engines of the lab: Docker 20.10,
 * Docker 26.1 and Podman 4.3 (Docker-compatible API). Adapter level: info,
 * snapshot and the normalised, ordered event feed.
 */
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { EngineAdapter, EngineFeed } from '../../lib/core/engine.js';
import { dockerAdapter } from '../../lib/engines/docker/docker-source.js';
import { PRIVILEGED_LABEL, PROJECT_LABEL } from '../../lib/model/container.js';
import { type EngineName, enginePid, labImage, useEngine } from '../helpers/engines.js';
import { DockerLab, type Recording, collapsed, eventually, record } from '../engines/docker/docker-lab.js';
import { byId, feedsAbout as about, listen as listenTo } from '../helpers/picture.js';

const ENGINES: readonly EngineName[] = ['docker20', 'docker26', 'podman'];

for (const engine of ENGINES) {
  describe(`docker adapter on ${engine}`, function () {
    this.timeout(120_000);
    let endpoint: string;
    let lab: DockerLab;
    let adapter: EngineAdapter;
    const recordings: Recording<unknown>[] = [];

    before(function () {
      endpoint = useEngine(this, engine);
    });
    beforeEach(function () {
      lab = new DockerLab(endpoint, labImage(engine), engine);
      const pid = enginePid(engine);
      adapter = dockerAdapter({ host: endpoint, ...(pid === undefined ? {} : { pid }) });
    });
    afterEach(async () => {
      for (const r of recordings.splice(0)) r.subscription.unsubscribe();
      adapter?.dispose();
      await lab?.cleanup();
      lab?.close();
    });

    /** Subscribes to events and waits for `listening`. */
    const listen = (): Promise<Recording<EngineFeed>> => listenTo(adapter, recordings);

    it('tells who it is', async () => {
      const info = await adapter.info();
      expect(info.type).to.equal('docker.com');
      expect(info.api).to.equal(endpoint);
      expect(info.product).to.equal(engine === 'podman' ? 'podman' : 'docker');
      expect(info.version).to.match(engine === 'docker20' ? /^20\.10\./ : engine === 'docker26' ? /^26\.1\./ : /^4\.3\./);
      expect(info.id).to.be.a('string').and.not.equal('');
      const pid = enginePid(engine);
      if (pid !== undefined) expect(info.pid).to.equal(pid);
    });

    it('lists exactly the alive containers, running and paused, with projects and labels', async () => {
      const running = await lab.run(lab.name('run'), { labels: { [PROJECT_LABEL]: 'proj-a', extra: 'yes' } });
      const paused = await lab.run(lab.name('paused'));
      await lab.pause(paused);
      const created = await lab.run(lab.name('created'), { createOnly: true });
      const exited = await lab.run(lab.name('exited'), { cmd: ['true'] });
      await eventually(async () => (await lab.docker.getContainer(exited).inspect()).State.Running === false, 'the short one to exit');

      const snapshot = await firstValueFrom(adapter.snapshot());
      const ids = snapshot.map((c) => c.id);
      expect(ids).to.include.members([running, paused]);
      expect(ids).to.not.include.members([created]);
      expect(ids).to.not.include.members([exited]);
      const r = snapshot.find((c) => c.id === running)!;
      expect(r.project).to.equal('proj-a');
      expect(r.labels['extra']).to.equal('yes');
      expect(r.pid).to.be.greaterThan(0);
      expect(r.paused).to.equal(false);
      expect(snapshot.find((c) => c.id === paused)!.paused).to.equal(true);
      expect(byId(snapshot.map((c) => lab.seen(c)))).to.deep.equal(await lab.truth());
    });

    it('marks privileged containers with the privileged label', async function () {
      let id: string;
      try {
        id = await lab.run(lab.name('priv'), { privileged: true });
      } catch (e) {
        // measured: Docker 20.10 with bookworm runc cannot apply all caps in these VMs
        if (/unable to apply caps|operation not permitted/.test(String(e))) {
          console.log(`SKIP: ${engine} cannot run privileged containers here: ${String(e).split('\n')[0]}`);
          this.skip();
        }
        throw e;
      }
      const plain = await lab.run(lab.name('plain'));
      const snapshot = await firstValueFrom(adapter.snapshot());
      expect(snapshot.find((c) => c.id === id)!.labels[PRIVILEGED_LABEL]).to.equal('');
      expect(PRIVILEGED_LABEL in snapshot.find((c) => c.id === plain)!.labels).to.equal(false);
    });

    it('feeds start, pause, unpause, rename, restart, kill; an exec exit and rm are no exits', async () => {
      const rec = await listen();
      const name = lab.name('life');
      const id = await lab.run(name, { labels: { [PROJECT_LABEL]: 'life' } });
      const pid1 = await lab.pid(id);
      await eventually(() => about(rec, id).length === 1, 'started');
      const started = rec.values.find((f) => f.type === 'started' && f.container.id === id) as Extract<EngineFeed, { type: 'started' }>;
      expect(started.container.project).to.equal('life');
      expect(started.container.name).to.equal(name);
      expect(started.time).to.be.closeTo(Date.now(), 120_000);

      await lab.pause(id);
      await lab.unpause(id);
      expect(await lab.exec(id, ['true'])).to.equal(0);
      expect(await lab.exec(id, ['sh', '-c', 'exit 3'])).to.equal(3);
      await lab.rename(id, `${name}-renamed`);
      await eventually(() => about(rec, id).includes(`renamed:${name}-renamed`), `pause, unpause, rename (got ${about(rec, id).join(' ')})`);
      expect(collapsed(about(rec, id))).to.deep.equal([`started:${pid1}`, 'paused', 'unpaused', `renamed:${name}-renamed`]);

      await lab.restart(id);
      const pid2 = await lab.pid(id);
      expect(pid2).to.not.equal(pid1);
      await eventually(() => about(rec, id).includes(`started:${pid2}`), 'restart: exited then started');
      expect(collapsed(about(rec, id)).slice(4)).to.deep.equal(['exited', `started:${pid2}`]);

      await lab.kill(id);
      await eventually(() => about(rec, id).at(-1) === 'exited', 'exited after kill');
      await lab.remove(id);
      // a later container's start proves everything about the removal was read
      const marker = await lab.run(lab.name('marker'));
      await eventually(() => about(rec, marker).length === 1, 'the marker started');
      expect(collapsed(about(rec, id))).to.deep.equal([`started:${pid1}`, 'paused', 'unpaused', `renamed:${name}-renamed`, 'exited', `started:${pid2}`, 'exited']);
      expect(rec.error).to.equal(undefined);
    });

    it('never lets an exit overtake its start, even for containers that die at once', async () => {
      const rec = await listen();
      const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => lab.run(lab.name(`blink${i}`), { cmd: ['sh', '-c', 'exit 0'] })));
      await eventually(() => ids.every((id) => about(rec, id).includes('exited')), 'every exit');
      for (const id of ids) {
        const seq = about(rec, id).map((s) => s.replace(/:.*/, ''));
        // the start is dropped when its inspection already found the container dead
        expect(seq.join(' '), id).to.match(/^(started )?exited$/);
      }
    });

    it('pipelines: eight snapshots at once (about a hundred inspections, 16 deep on 4 connections) all equal the truth', async () => {
      for (let i = 0; i < 12; i++) await lab.run(lab.name(`pipe${i}`), { labels: { n: String(i) } });
      const truth = await lab.truth();
      const snapshots = await Promise.all(Array.from({ length: 8 }, () => firstValueFrom(adapter.snapshot())));
      for (const snapshot of snapshots) expect(byId(snapshot.map((c) => lab.seen(c)))).to.deep.equal(truth);
      expect(truth.length).to.be.at.least(12);
    });

    it('a reopened event stream replays what it missed: an unpause, a kill with its exit code, not the pause it had delivered', async () => {
      const id = await lab.run(lab.name('replayed'));
      const victim = await lab.run(lab.name('replayedvictim'));
      const replaying = dockerAdapter({ host: endpoint });
      try {
        const first = record(replaying.events());
        // (a first stream on a unix socket replays the last second: the two starts may follow)
        await eventually(() => first.values.length > 0, 'listening');
        await lab.pause(id);
        await eventually(() => about(first, id).includes('paused'), 'the pause on the first stream');
        first.subscription.unsubscribe();
        // the gap: nobody listens
        await lab.unpause(id);
        await lab.kill(victim);
        const second = record(replaying.events());
        await eventually(() => about(second, victim).includes('exited') || second.error !== undefined, 'the replayed exit');
        expect(second.error).to.equal(undefined);
        expect(second.values[0]).to.deep.equal({ type: 'listening' });
        // the pause it delivered before is not delivered again
        expect(about(second, id)).to.deep.equal(['unpaused']);
        expect(about(second, victim)).to.deep.equal(['exited']);
        const exit = second.values.find((f) => f.type === 'exited' && f.id === victim) as Extract<EngineFeed, { type: 'exited' }>;
        expect(exit.exit?.code).to.equal(137);
        second.subscription.unsubscribe();
      } finally {
        replaying.dispose();
      }
    });

    it('inspects a burst of starts with bounded concurrency, in engine order', async () => {
      const rec = await listen();
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await lab.run(lab.name(`burst${i}`), { createOnly: true }));
      await Promise.all(ids.map((id) => lab.start(id)));
      await eventually(() => ids.every((id) => about(rec, id).length === 1), 'twelve starts');
      const truth = new Map((await lab.truth()).map((c) => [c.id, c.pid]));
      for (const id of ids) expect(about(rec, id)).to.deep.equal([`started:${truth.get(id)}`]);
    });
  });
}
