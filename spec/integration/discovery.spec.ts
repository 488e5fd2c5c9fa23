/**
 * discoverEngines against the lab's real engines (private sockets under
 * $WW_LAB, none at a well-known path): found through the environment with the
 * right type and product, and found by the /proc scan alone with their PIDs;
 * a containerd socket yields a native and a CRI engine; a socket that is no
 * engine is reported as unanswered, within the probe timeout.
 */
import { expect } from 'chai';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Discovery, type DiscoveredEngine, discoverEngines } from '../../lib/discovery/discover-engines.js';
import { ENGINE_APIS, ENGINE_NAMES, type EngineName, engineEndpoint, engineKind, enginePid, engineSocketPath, useEngine } from '../helpers/engines.js';


const line = (e: DiscoveredEngine): string =>
  `${e.type} ${e.product ?? '-'} ${e.version} pid ${e.pid ?? '?'} ${e.endpoint} (${e.routes.map((r) => r.by).join(', ')})`;

describe('discoverEngines on the lab engines', function () {
  this.timeout(60_000);

  for (const name of ENGINE_NAMES) {
    it(`finds ${name} through the environment, with the right type and product`, async function () {
      const endpoint = useEngine(this, name);
      const socket = engineSocketPath(name) as string;
      const env = engineKind(name) === 'containerd' ? { CONTAINERD_ADDRESS: endpoint } : { DOCKER_HOST: endpoint };
      const { engines, unanswered } = await discoverEngines({ env, wellKnown: [], scan: false });
      expect(engines.map((e) => [e.type, e.product])).to.deep.equal(ENGINE_APIS[name]);
      for (const e of engines) {
        expect(e.endpoint).to.equal(`unix://${socket}`);
        expect(e.routes).to.deep.equal([{ by: 'env', variable: Object.keys(env)[0], endpoint: `unix://${socket}` }]);
        expect(e.version).to.not.equal('');
      }
      expect(unanswered).to.deep.equal([]);
    });
  }

  it('finds every running lab engine by the /proc scan alone, with its PID and socket; a socket that is no engine is not one', async function () {
    const running = ENGINE_NAMES.filter((n) => engineEndpoint(n) !== undefined);
    if (running.length === 0) useEngine(this, 'docker20'); // skips (or fails in CI) with the reason
    // a plain unix server named like an engine's socket: accepts, never answers
    const dir = await mkdtemp(join(tmpdir(), 'ww-discovery-'));
    const fake = join(dir, 'docker.sock');
    const open = new Set<Socket>();
    const server: Server = createServer((s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(fake, resolve));
    try {
      const t0 = performance.now();
      const found = await discoverEngines({ env: {}, wellKnown: [] });
      const ms = performance.now() - t0;
      console.log(`      discovery: ${found.engines.length} engines in ${ms.toFixed(0)} ms (other labs on this host included)`);
      for (const e of found.engines) console.log(`        ${line(e)}`);
      for (const u of found.unreadable) console.log(`        unreadable: ${u.path}: ${u.reason}`);
      for (const u of found.unanswered) console.log(`        unanswered: ${u.endpoint} (${u.tried.join('+')}): ${u.reason}`);

      for (const name of running) {
        const socket = engineSocketPath(name) as string;
        const pid = enginePid(name);
        const mine = found.engines.filter((e) => e.endpoint === `unix://${socket}`);
        expect(mine.map((e) => [e.type, e.product]), name).to.deep.equal(ENGINE_APIS[name]);
        for (const e of mine) {
          expect(e.pid, name).to.equal(pid);
          expect(e.routes, name).to.deep.include({ by: 'process', pid, process: engineKind(name) === 'docker' ? 'dockerd' : engineKind(name), path: socket });
        }
      }
      // the probe timeout (1 s) is far below the adapters' own 30 s: the silent socket cannot hold discovery up beyond it
      const t1 = performance.now();
      const withFake = await discoverEngines({ env: {}, wellKnown: [fake], timeout: 1_000 });
      console.log(`      with a silent socket named like Docker's and a 1 s probe timeout: ${(performance.now() - t1).toFixed(0)} ms`);
      expect(withFake.engines.map((e) => e.endpoint)).to.not.include(`unix://${fake}`);
      expect(withFake.engines.length).to.equal(found.engines.length);
      expect(withFake.unanswered.map((u) => [u.endpoint, u.tried])).to.deep.include([`unix://${fake}`, ['docker']]);
    } finally {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without root: returns what it can see and says what it could not read (no exception)', async function () {
    const host = useEngine(this, 'docker20');
    const pid = enginePid('docker20') as number;
    const socket = engineSocketPath('docker20') as string;
    const module = new URL('../../lib/discovery/discover-engines.js', import.meta.url).href;
    const script = `const { discoverEngines } = await import(${JSON.stringify(module)});
      process.stdout.write(JSON.stringify(await discoverEngines({ env: { DOCKER_HOST: ${JSON.stringify(host)} }, wellKnown: [], timeout: 2000 })));`;
    // as nobody: another user's /proc/PID/fd and the lab's root-owned socket are out of reach
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const found = JSON.parse(out) as Discovery;
    for (const u of found.unreadable.slice(0, 4)) console.log(`        unreadable: ${u.path}: ${u.reason}`);
    expect(found.engines.map((e) => e.endpoint)).to.not.include(host);
    expect(found.unreadable.find((u) => u.path === `/proc/${pid}/fd`)?.reason).to.match(/^EACCES/);
    expect(found.unreadable.map((u) => u.path)).to.include(socket);
  });

  it('reaches an engine in a mount namespace of its own only through /proc/PID/root', async function () {
    if (process.getuid?.() !== 0) this.skip();
    // a Docker-API server run as `dockerd` (a symlink to node, so /proc/PID/comm says dockerd) inside
    // `unshare --mount`, its socket on a tmpfs mounted only in that namespace: invisible at the same path here
    const dir = await mkdtemp(join(tmpdir(), 'ww-discovery-ns-'));
    const hidden = join(dir, 'hidden');
    await mkdir(hidden);
    await mkdir(join(dir, 'bin'));
    await symlink(process.execPath, join(dir, 'bin', 'dockerd'));
    const socket = join(hidden, 'docker.sock');
    const server = `require('node:http').createServer((q, r) => { r.setHeader('Server', 'Docker/99.1.2 (linux)'); r.end('OK'); })
      .listen(${JSON.stringify(socket)}, () => console.log('ready'));`;
    const child: ChildProcess = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs "$0" && exec "$1" -e "$2"`, hidden, join(dir, 'bin', 'dockerd'), server],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the namespaced server ended (${code}) before it listened`)));
      });
      const pid = child.pid as number;
      const { engines } = await discoverEngines({ env: { DOCKER_HOST: `unix://${socket}` }, wellKnown: [] });
      const mine = engines.filter((e) => e.pid === pid);
      console.log(`        ${mine.map(line).join('; ')}`);
      expect(mine.map((e) => [e.type, e.product, e.version, e.endpoint])).to.deep.equal([['docker.com', 'docker', '99.1.2', `unix:///proc/${pid}/root${socket}`]]);
      expect(mine[0]?.routes).to.deep.equal([{ by: 'process', pid, process: 'dockerd', path: socket }]);
    } finally {
      child.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
