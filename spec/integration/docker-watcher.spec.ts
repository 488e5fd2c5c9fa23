/**
 * watchDocker against the real engines of the lab: Docker 20.10, Docker 26.1
 * and Podman 4.3 (Docker-compatible API). The same scenarios on all three: a
 * picture of what was alive before, every lifecycle step, compose projects,
 * churn during the first synchronisation, and the engine killed and restarted
 * under the watcher. After each, the portfolio must equal the engine's truth.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Watcher } from '../../lib/core/watcher.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import { PROJECT_LABEL } from '../../lib/model/container.js';
import { type EngineName, engineEnv, killEngine, labImage, restartEngine, runEngineCli, useEngine } from '../helpers/engines.js';
import { DockerLab, collapsed, eventually, run } from '../engines/docker/docker-lab.js';
import { FAST_RETRY, Watchers, changesAbout as about, expectReplayOf, matchesTruth, pictureOf } from '../helpers/picture.js';

const ENGINES: readonly EngineName[] = ['docker20', 'docker26', 'podman'];

/** `docker compose` v2 for this engine, if the lab has it (else compose projects are made by label). */
async function composeCli(engine: EngineName): Promise<{ command: string; env: NodeJS.ProcessEnv } | undefined> {
  try {
    const vars = engineEnv(engine);
    const env = { ...process.env, ...vars };
    const command = vars['WW_DOCKER_CLI'] ?? 'docker';
    await run(command, ['compose', 'version'], env, 30_000);
    return { command, env };
  } catch {
    return undefined;
  }
}

for (const engine of ENGINES) {
  describe(`watchDocker on ${engine}`, function () {
    this.timeout(180_000);
    let endpoint: string;
    let lab: DockerLab;
    let compose: { command: string; env: NodeJS.ProcessEnv } | undefined;
    let composeDir: string | undefined;
    const watchers = new Watchers();

    before(async function () {
      endpoint = useEngine(this, engine);
      compose = await composeCli(engine);
      if (compose === undefined) console.log(`NOTE: no docker compose v2 for ${engine}: compose projects made by label`);
    });
    beforeEach(function () {
      lab = new DockerLab(endpoint, labImage(engine), engine);
    });
    afterEach(async () => {
      await watchers.close();
      if (composeDir !== undefined) {
        await rm(composeDir, { recursive: true, force: true });
        composeDir = undefined;
      }
      await lab?.cleanup();
      lab?.close();
    });

    function watchIt(): Watcher {
      return watchers.add(watchDocker({ host: endpoint, retry: FAST_RETRY }));
    }

    /** A compose project of `services` (compose v2 when present, else containers with the compose labels). */
    async function composeUp(project: string, services: readonly string[]): Promise<void> {
      if (compose === undefined) {
        for (const s of services) await lab.run(`${project}-${s}-1`, { labels: { [PROJECT_LABEL]: project, 'com.docker.compose.service': s } });
        return;
      }
      composeDir ??= await mkdtemp(join(tmpdir(), 'ww-compose-'));
      const yaml = ['services:'];
      for (const s of services) {
        yaml.push(`  ${s}:`, `    image: ${labImage(engine)}`, '    command: ["sleep", "100000"]', '    network_mode: none', '    labels:', `      whalewatcher.test: "${lab.run_id}"`);
      }
      await writeFile(join(composeDir, `${project}.yaml`), `${yaml.join('\n')}\n`);
      await run(compose.command, ['compose', '-p', project, '-f', join(composeDir, `${project}.yaml`), 'up', '-d'], compose.env);
    }

    async function composeDown(project: string): Promise<void> {
      if (compose === undefined || composeDir === undefined) {
        const list = await lab.docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`] } });
        await Promise.all(list.map((c) => lab.remove(c.Id)));
        return;
      }
      await run(compose.command, ['compose', '-p', project, '-f', join(composeDir, `${project}.yaml`), 'down', '-t', '0'], compose.env);
    }

    it('pictures what was alive before it started: running, paused, compose projects', async () => {
      const project = `ww${lab.run_id}pre`;
      const a = await lab.run(lab.name('a'));
      const b = await lab.run(lab.name('b'));
      await lab.pause(b);
      await lab.run(lab.name('c'), { createOnly: true });
      await composeUp(project, ['web', 'db']);

      const ww = watchIt();
      await ww.ready;
      expect(ww.status.state).to.equal('live');
      const truth = await lab.truth();
      expect(pictureOf(ww, lab)).to.deep.equal(truth);
      expect(ww.portfolio.container(b)?.paused).to.equal(true);
      expect(ww.portfolio.container(a)?.project).to.equal('');
      const p = ww.portfolio.project(project);
      expect(p?.total).to.equal(2);
      expect(p!.containers.map((c) => c.labels['com.docker.compose.service']).sort()).to.deep.equal(['db', 'web']);

      expectReplayOf(watchers.changesOf(ww), truth);
      const info = await ww.info();
      expect(info.api).to.equal(endpoint);
      expect(info.product).to.equal(engine === 'podman' ? 'podman' : 'docker');
    });

    it('follows start, pause, unpause, exec exit, rename, restart, kill and rm', async () => {
      const ww = watchIt();
      await ww.ready;
      const changes = watchers.changesOf(ww);
      const name = lab.name('life');
      const id = await lab.run(name, { labels: { [PROJECT_LABEL]: `ww${lab.run_id}life` } });
      const pid1 = await lab.pid(id);
      await eventually(() => ww.portfolio.container(id)?.pid === pid1, 'the start');
      expect(ww.portfolio.project(`ww${lab.run_id}life`)?.container(name)?.id).to.equal(id);

      await lab.pause(id);
      await eventually(() => ww.portfolio.container(id)?.paused === true, 'the pause');
      await lab.unpause(id);
      await eventually(() => ww.portfolio.container(id)?.paused === false, 'the unpause');

      expect(await lab.exec(id, ['sh', '-c', 'exit 7'])).to.equal(7);
      await lab.rename(id, `${name}-new`);
      await eventually(() => ww.portfolio.container(`${name}-new`)?.id === id, 'the rename');
      expect(ww.portfolio.container(name)).to.equal(undefined);
      expect(ww.portfolio.container(id)?.pid).to.equal(pid1); // the exec's exit did not end it

      await lab.restart(id);
      const pid2 = await lab.pid(id);
      expect(pid2).to.not.equal(pid1);
      await eventually(() => ww.portfolio.container(id)?.pid === pid2, 'the restart (new PID)');
      expect(ww.portfolio.container(id)?.name).to.equal(`${name}-new`);

      await lab.kill(id);
      await eventually(() => ww.portfolio.container(id) === undefined, 'the kill');
      expect(ww.portfolio.project(`ww${lab.run_id}life`)).to.equal(undefined);
      await lab.remove(id);
      await matchesTruth(ww, lab, 'after rm');

      expect(collapsed(about(changes, id)), JSON.stringify(changes.filter((c) => c.id === id))).to.deep.equal([`started:${pid1}`, `paused:${pid1}`, `unpaused:${pid1}`, `renamed:${pid1}`, `exited:${pid1}`, `started:${pid2}`, `exited:${pid2}`]);
      expect(about(changes, id, true)).to.deep.equal([]);
      expect(ww.status.state).to.equal('live');
    });

    it('sees a compose project come and go', async () => {
      const ww = watchIt();
      await ww.ready;
      const changes = watchers.changesOf(ww);
      const project = `ww${lab.run_id}proj`;
      await composeUp(project, ['web', 'worker', 'db']);
      await eventually(() => ww.portfolio.project(project)?.total === 3, 'three containers in the project');
      expect(ww.portfolio.projectNames).to.include(project);
      const ids = ww.portfolio.project(project)!.containers.map((c) => c.id);
      await composeDown(project);
      await eventually(() => ww.portfolio.project(project) === undefined, 'the project gone');
      expect(ww.portfolio.projectNames).to.not.include(project);
      for (const id of ids) expect(about(changes, id).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['started', 'exited']);
      await matchesTruth(ww, lab, 'after compose down');
    });

    it('ends equal to the truth after churn during its first synchronisation', async () => {
      // enough alive containers that listing and inspecting them takes a while
      const base = await Promise.all(Array.from({ length: 24 }, (_, i) => lab.run(lab.name(`base${i}`))));
      let churning = true;
      const churn = (async () => {
        let round = 0;
        while (churning && round < 40) {
          round += 1;
          const id = await lab.run(lab.name(`churn${round}`));
          if (round % 2 === 0) await lab.kill(id);
          if (round % 3 === 0) await lab.kill(base[round % base.length]!).catch(() => undefined);
          if (round % 5 === 0) await lab.pause(id).catch(() => undefined);
        }
        return round;
      })();
      const ww = watchIt();
      await ww.ready;
      churning = false;
      const rounds = await churn;
      expect(rounds).to.be.greaterThan(0);
      await matchesTruth(ww, lab, 'after the churn');
      expect(ww.status.state).to.equal('live');
    });

    it('survives the engine killed and restarted under it, with the right exits and starts', async function () {
      const keep = await lab.run(lab.name('keep'));
      const victim = await lab.run(lab.name('victim'));
      const ww = watchIt();
      await ww.ready;
      const all = watchers.changesOf(ww);
      const replayed = all.length; // the synthetic starts of the current picture
      const keepPid = ww.portfolio.container(keep)!.pid;

      await killEngine(engine);
      await eventually(() => ww.status.state === 'degraded', 'the watcher to notice the engine is gone');
      // the last good picture stays visible while the engine is away
      expect(ww.portfolio.container(keep)?.pid).to.equal(keepPid);

      let newcomer: string | undefined;
      if (engine === 'podman') {
        // podman needs no service to run containers: change them while the API is down
        await runEngineCli(engine, ['kill', victim]);
        newcomer = (await runEngineCli(engine, ['run', '-d', '--network', 'none', '--label', `whalewatcher.test=${lab.run_id}`, '--name', lab.name('newcomer'), labImage(engine), 'sleep', '100000'])).trim();
      }
      await restartEngine(engine);
      await eventually(() => ww.status.state === 'live', 'the watcher to be live again');
      await matchesTruth(ww, lab, 'after the engine came back');

      const truth = new Map((await lab.truth()).map((c) => [c.id, c]));
      const changes = all.slice(replayed);
      if (engine === 'podman') {
        // podman containers outlive the service: only the changes made meanwhile show
        expect(truth.get(keep)?.pid).to.equal(keepPid);
        expect(about(changes, keep)).to.deep.equal([]);
        // exactly once each: Podman keeps an event log, so the reopened stream replays the gap (eventReplayWindow) and
        // the exit and the start come as the engine's own events; were the replay lost, the relist would infer them
        expect(about(changes, victim).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['exited']);
        // with its code either way: from the replayed die event, or asked from the engine afterwards (killed: 137)
        expect(changes.find((c) => c.id === victim && c.type === 'exited')?.exit?.code, 'the exit\'s code').to.equal(137);
        expect(about(changes, newcomer!).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['started']);
      } else {
        // dockerd without live-restore takes its containers down with it
        expect(truth.has(keep)).to.equal(false);
        expect(about(changes, keep).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['exited']);
        expect(about(changes, victim).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['exited']);
        // the exits happened while the engine was away: inferred, with the details asked from the engine afterwards
        for (const id of [keep, victim]) {
          const exit = changes.find((c) => c.id === id && c.type === 'exited')?.exit;
          expect(exit?.code, `the inferred exit code of ${id.slice(0, 12)}`).to.be.a('number');
          expect(exit?.time, `the inferred exit time of ${id.slice(0, 12)}`).to.be.instanceOf(Date);
        }
      }
      // and it follows the engine live again
      const after = await lab.run(lab.name('after'));
      await eventually(() => ww.portfolio.container(after) !== undefined, 'a start after the restart');
      expect(about(all.slice(replayed), after, false).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['started']);
    });
  });
}
