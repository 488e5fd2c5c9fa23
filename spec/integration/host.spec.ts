/**
 * watchHost against the lab's real engines at once (Docker 20.10, Docker 26,
 * Podman 4.3, containerd 1.7 native and CRI), all found by the /proc scan on
 * their private sockets: the right types, products and PIDs; the merged view
 * equal to the union of the engines' truths while containers come and go on
 * all of them; every container and every event with its engine.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchHost } from '../../lib/host/watch-host.js';
import type { HostWatcher } from '../../lib/host/host-watcher.js';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import type { Container } from '../../lib/model/container.js';
import { ContainerdLab } from '../engines/containerd/containerd-lab.js';
import { CriLab, type LabPod } from '../engines/cri/cri-lab.js';
import { DockerLab } from '../engines/docker/docker-lab.js';
import { ENGINE_APIS, type EngineName, engineEndpoint, enginePid, engineSocketPath, labImage, useEngine } from '../helpers/engines.js';
import { containerd17Bin, startNamespacedContainerd } from '../helpers/namespaced-containerd.js';
import { eventually } from '../helpers/observe.js';
import { FAST_RETRY, type Truthful } from '../helpers/picture.js';

const NAMES: readonly EngineName[] = ['docker20', 'docker26', 'podman', 'containerd17'];


describe('watchHost over the lab engines at once (found by the /proc scan)', function () {
  this.timeout(240_000);
  let running: EngineName[];
  let host: HostWatcher | undefined;
  const dockers: DockerLab[] = [];
  let ctd: ContainerdLab | undefined;
  let cri: CriLab | undefined;

  before(function () {
    running = NAMES.filter((n) => engineEndpoint(n) !== undefined);
    if (running.length < NAMES.length) for (const n of NAMES) useEngine(this, n); // skips (or fails in CI) naming the missing one
  });

  after(async () => {
    await host?.close();
    await Promise.all(dockers.map((d) => d.cleanup().catch(() => undefined)));
    for (const d of dockers) d.close();
    await ctd?.cleanup().catch(() => undefined);
    await cri?.cleanup().catch(() => undefined);
    cri?.close();
  });

  it('finds them with the right types, products and PIDs; the merged view equals the union of their truths while containers come and go; every event carries its engine', async () => {
    const sockets = new Map(running.map((n) => [`unix://${engineSocketPath(n) as string}`, n]));
    host = watchHost({ discovery: { env: {}, wellKnown: [], timeout: 5_000 }, filter: (e) => sockets.has(e.endpoint), retry: FAST_RETRY, rediscoverInterval: 0 });
    const events: LifecycleEvent[] = [];
    host.lifecycle$.subscribe((e) => events.push(e));
    await host.ready;

    const found = host.engines.map((e) => `${sockets.get(e.discovered.endpoint)} ${e.info.type} ${e.info.product ?? '-'} pid ${e.info.pid ?? '?'} ${e.status.state}`).sort();
    const expected = running.flatMap((n) => ENGINE_APIS[n]!.map(([type, product]) => `${n} ${type} ${product} pid ${enginePid(n)} live`)).sort();
    expect(found).to.deep.equal(expected);
    await eventually(() => host!.engines.every((e) => e.info.id !== ''), 'every engine to know its id');
    // the CRI engine's id is its daemon's UUID (stable, unique per containerd), not the runtime name every containerd shares
    const [native, criEngine] = ['containerd.io', 'k8s.io/cri-api'].map((t) => host!.engines.find((e) => e.info.type === t));
    expect(criEngine?.info.id).to.not.equal('containerd');
    expect(criEngine?.info.id).to.equal(native?.info.id);
    for (const e of host.engines) console.log(`        ${sockets.get(e.discovered.endpoint)}: ${e.info.type} ${e.info.product ?? ''} ${e.info.version} id ${e.info.id.slice(0, 24)} pid ${e.info.pid}`);

    // each engine's lab, and the truth of each engine, keyed by the engine (type + api) as its containers carry it
    const labs = new Map<string, Truthful<{ readonly id: string }>>();
    for (const e of host.engines) {
      const name = sockets.get(e.discovered.endpoint) as EngineName;
      let lab: Truthful<{ readonly id: string }>;
      if (e.info.type === 'docker.com') {
        const d = new DockerLab(engineEndpoint(name) as string, labImage(name), name);
        dockers.push(d);
        lab = d;
      } else if (e.info.type === 'containerd.io') lab = ctd = new ContainerdLab(name);
      else lab = cri = new CriLab(engineSocketPath(name) as string);
      labs.set(`${e.info.type} ${e.info.api}`, lab);
    }
    const engineOf = (c: Container): string => `${c.engine?.type} ${c.engine?.api}`;
    const picture = (): string[] =>
      host!.containers.map((c) => `${engineOf(c)} ${JSON.stringify((labs.get(engineOf(c)) as Truthful<{ readonly id: string }>).seen(c))}`).sort();
    const truth = async (): Promise<string[]> =>
      (await Promise.all([...labs].map(async ([key, lab]) => (await lab.truth()).map((t) => `${key} ${JSON.stringify(t)}`)))).flat().sort();
    const matches = async (what: string): Promise<string[]> => {
      let last = '';
      let t: string[] = [];
      await eventually(
        async () => {
          t = await truth();
          const p = picture();
          last = `picture ${JSON.stringify(p)}\nvs truth ${JSON.stringify(t)}`;
          return JSON.stringify(p) === JSON.stringify(t);
        },
        `${what}: the merged view to equal the union of the engines' truths`,
        60_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${last}`);
      });
      return t;
    };
    await matches('at start');

    // churn on every engine at once, in rounds: start some, kill some
    const pods: LabPod[] = [];
    const ctdIds: string[] = [];
    for (let round = 1; round <= 3; round += 1) {
      await Promise.all([
        ...dockers.map(async (d) => {
          const ids = await Promise.all([1, 2, 3].map((i) => d.run(d.name(`r${round}c${i}`))));
          await d.kill(ids[0] as string);
        }),
        (async () => {
          if (ctd === undefined) return;
          for (let i = 1; i <= 3; i += 1) ctdIds.push(await ctd.run('default', ctd.id(`r${round}c${i}`)));
          await ctd.kill('default', ctdIds.splice(ctdIds.length - 3, 1)[0] as string);
        })(),
        (async () => {
          if (cri === undefined) return;
          pods.push(await cri.runPod(`r${round}`));
          if (round === 2) await cri.removePod(pods.shift() as LabPod);
        })(),
      ]);
      const t = await matches(`after round ${round}`);
      console.log(`        round ${round}: ${t.length} alive containers in ${labs.size} engines, the merged view equal to their union`);
    }

    expect(events.length).to.be.greaterThan(0);
    const untagged = events.filter((e) => e.engine === undefined || e.container.engine !== e.engine || !labs.has(`${e.engine.type} ${e.engine.api}`));
    expect(untagged.map((e) => `${e.type} ${e.container.name}`)).to.deep.equal([]);
    const perEngine = new Map<string, number>();
    for (const e of events) perEngine.set(engineOf(e.container), (perEngine.get(engineOf(e.container)) ?? 0) + 1);
    console.log(`        ${events.length} lifecycle events, each with its engine: ${[...perEngine].map(([k, n]) => `${k.split(' ')[0]} ${n}`).join(', ')}`);
    expect([...perEngine.keys()].sort()).to.deep.equal([...labs.keys()].sort());
  });
});

describe('watchHost and an engine in a mount namespace of its own, killed under it', function () {
  this.timeout(120_000);

  it('a containerd whose socket exists only in its own mount namespace is found through /proc/PID/root and watched; killed, it leaves the list after the grace period, its containers with synthetic exits', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const lab = process.env['WW_LAB'];
    if (lab === undefined) return this.skip();
    const ctd = await startNamespacedContainerd();
    let host: HostWatcher | undefined;
    try {
      expect(existsSync(ctd.socket), 'the socket is not visible at its own path here').to.equal(false);
      const taskPid = await ctd.run(`nsctd-${process.pid}`, 'docker.io/library/busybox:lab', `${lab}/images/busybox.tar`);
      host = watchHost({ discovery: { env: {}, wellKnown: [] }, filter: (e) => e.pid === ctd.pid, goneGrace: 1_000, rediscoverInterval: 0, retry: FAST_RETRY });
      const events: LifecycleEvent[] = [];
      host.lifecycle$.subscribe((e) => events.push(e));
      await host.ready;
      expect(host.engines.map((e) => [e.info.type, e.discovered.endpoint, e.info.pid, e.discovered.routes.map((r) => r.by), e.status.state])).to.deep.equal([
        ['containerd.io', `unix://${ctd.reachable}`, ctd.pid, ['process'], 'live'],
      ]);
      expect(host.containers.map((c) => [c.id, c.pid, c.engine?.type, c.engine?.pid])).to.deep.equal([[`nsctd-${process.pid}`, taskPid, 'containerd.io', ctd.pid]]);

      const states: string[] = [];
      host.engines$.subscribe((es) => states.push(es.map((e) => `${e.status.state}${e.missingSince === undefined ? '' : ' missing'}`).join(',') || 'none'));
      const t0 = performance.now();
      await ctd.kill();
      await eventually(() => host!.engines.length === 0, 'the killed engine to leave the list', 30_000);
      console.log(`        dropped ${(performance.now() - t0).toFixed(0)} ms after the kill (grace period 1,000 ms); engines$: ${[...new Set(states)].join(' → ')}`);
      expect(host.containers).to.deep.equal([]);
      expect(events.map((e) => `${e.type} ${e.container.id}${e.synthetic ? '*' : ''} ${e.engine?.type}`)).to.deep.equal([
        `started nsctd-${process.pid}* containerd.io`,
        `exited nsctd-${process.pid}* containerd.io`,
      ]);
      expect(states).to.include('degraded missing');
    } finally {
      await host?.close();
      await ctd.stop();
    }
  });
});

describe('watchHost and an engine nested in a container of another engine', function () {
  this.timeout(120_000);

  it('a containerd run as the process of a Docker container (chroot into the host’s root) shows that container as its parent', async function () {
    const endpoint = useEngine(this, 'docker20');
    const bin = containerd17Bin();
    if (!existsSync(join(bin, 'containerd'))) return this.skip();
    const d = new DockerLab(endpoint, labImage('docker20'), 'docker20');
    const dir = await mkdtemp(join(tmpdir(), 'ww-nested-'));
    const socket = join(dir, 'containerd.sock');
    await writeFile(
      join(dir, 'config.toml'),
      `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${socket}"\n[ttrpc]\n  address = "${socket}.ttrpc"\n[debug]\n  address = ""\n[metrics]\n  address = ""\n`,
    );
    let host: HostWatcher | undefined;
    const name = d.name('turtle');
    try {
      // the container's process execs chroot → env → containerd: the engine's PID is the container's
      const c = await d.docker.createContainer({
        name,
        Image: labImage('docker20'),
        Cmd: ['chroot', '/host', '/usr/bin/env', `PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, 'containerd', '--config', join(dir, 'config.toml')],
        Labels: { 'whalewatcher.test': d.run_id },
        HostConfig: { NetworkMode: 'none', Binds: ['/:/host'] },
      });
      await c.start();
      const pid = await d.pid(c.id);
      await eventually(() => existsSync(socket), 'the nested containerd to listen', 30_000);
      // rediscovering every second: a containerd that has made its socket may not answer yet under load
      host = watchHost({ discovery: { env: {}, wellKnown: [] }, filter: (e) => e.endpoint === endpoint || e.pid === pid, rediscoverInterval: 1_000, retry: FAST_RETRY });
      await host.ready;
      await eventually(() => host!.engines.find((e) => e.info.type === 'containerd.io')?.parent, 'the nested engine to know its parent', 30_000).catch((err: Error) => {
        const seen = host!.engines.map((e) => `${e.info.type} pid ${e.info.pid} ${e.discovered.endpoint} ${e.status.state}`).join('; ');
        const found = [
          ...(host!.discovery?.engines.map((e) => `${e.type} pid ${e.pid} ${e.endpoint}`) ?? []),
          ...(host!.discovery?.unanswered.map((u) => `unanswered ${u.endpoint}: ${u.reason}`) ?? []),
          ...(host!.discovery?.unreadable.map((u) => `unreadable ${u.path}: ${u.reason}`) ?? []),
        ].join('; ');
        throw new Error(`${err.message}\ncontainer pid ${pid}; engines: ${seen}\ndiscovered: ${found}\ncontainers: ${host!.containers.map((c) => `${c.name} ${c.pid}`).join(', ')}`);
      });
      const docker = host.engines.find((e) => e.info.type === 'docker.com');
      const nested = host.engines.find((e) => e.info.type === 'containerd.io');
      console.log(`        ${nested?.info.type} pid ${nested?.info.pid} in ${nested?.parent?.engine.type} container ${nested?.parent?.container} (prefix ${nested?.parent?.prefix})`);
      expect(nested?.info.pid).to.equal(pid);
      expect(nested?.parent).to.deep.include({ key: docker?.key, containerId: c.id, container: name, prefix: name });
      expect(nested?.parent?.engine).to.equal(docker?.info);
      expect(docker?.parent).to.equal(undefined);
    } finally {
      await host?.close();
      await d.cleanup();
      d.close();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  });
});
