/**
 * discoverEngines on real sockets served by fakes (Docker, Podman, containerd
 * and CRI fakes, a socket that never answers, one that answers garbage) and a
 * fixture /proc tree (procRoot): the scan, resolution inside a process's root
 * (an absolute symlink there stays inside it), the merge of routes to one
 * socket, and what is reported instead of thrown.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverEngines } from '../../lib/discovery/discover-engines.js';
import { type FakeDocker, fakeDocker } from '../fakes/docker-fakes.js';
import { FakeContainerd, type FakeSocket, fakeCri, notGrpcServer } from '../fakes/grpc-fakes.js';

/** A unix server that accepts connections and never says a word. */
async function silentServer(): Promise<{ socketPath: string; url: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ww-silent-'));
  const socketPath = join(dir, 'silent.sock');
  const open = new Set<Socket>();
  const server: Server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    url: `unix://${socketPath}`,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One process of a fixture /proc tree. */
interface FixtureProcess {
  readonly pid: number;
  readonly comm: string;
  /** fd number → link target (`socket:[inode]`, `/dev/null`, …). */
  readonly fds?: Readonly<Record<number, string>>;
  /** `[inode, path, listening]` rows of its net/unix. */
  readonly unix?: readonly (readonly [number, string, boolean])[];
  /** What its `root` is: a symlink to this folder. */
  readonly root?: string;
}

async function procTree(dir: string, processes: readonly FixtureProcess[]): Promise<string> {
  const proc = join(dir, 'proc');
  await mkdir(proc);
  await symlink('1', join(proc, 'self'));
  for (const p of processes) {
    const d = join(proc, String(p.pid));
    await mkdir(join(d, 'fd'), { recursive: true });
    await mkdir(join(d, 'net'));
    await writeFile(join(d, 'comm'), `${p.comm}\n`);
    for (const [fd, target] of Object.entries(p.fds ?? {})) await symlink(target, join(d, 'fd', fd));
    const rows = (p.unix ?? []).map(([inode, path, listening]) => `0000000000000000: 00000002 00000000 ${listening ? '00010000' : '00000000'} 0001 ${listening ? '01' : '03'} ${inode} ${path}`);
    await writeFile(join(d, 'net', 'unix'), ['Num       RefCount Protocol Flags    Type St Inode Path', ...rows, ''].join('\n'));
    if (p.root !== undefined) await symlink(p.root, join(d, 'root'));
  }
  return proc;
}

describe('discoverEngines (fakes, fixture /proc)', function () {
  this.timeout(20_000);
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ww-discovery-'));
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await rm(dir, { recursive: true, force: true });
  });
  async function docker(product: 'docker' | 'podman' = 'docker'): Promise<FakeDocker> {
    const fake = await fakeDocker({ product });
    closers.push(() => fake.close());
    return fake;
  }
  function track<T extends { close(): Promise<void> }>(fake: T): T {
    closers.push(() => fake.close());
    return fake;
  }

  it('scans /proc: an engine process, its listening API socket resolved inside its own root, merged with the environment', async () => {
    const fake = await docker();
    const root = dirname(fake.socketPath);
    // inside the process's root, /var/run is an absolute symlink to /: it must resolve within that root
    await mkdir(join(root, 'var'));
    await symlink('/', join(root, 'var', 'run'));
    const gone = join(dir, 'gone-root');
    await mkdir(gone);
    const procRoot = await procTree(dir, [
      {
        pid: 4242,
        comm: 'dockerd',
        fds: { 0: '/dev/null', 3: 'socket:[777]', 4: 'socket:[778]', 5: 'pipe:[779]' },
        unix: [
          [777, '/var/run/fake.sock', true],
          [778, '/run/docker/metrics.sock', true], // skipped by name: never probed
          [780, '/held/by/another/process.sock', true],
          [781, '/var/run/fake.sock', false],
        ],
        root,
      },
      { pid: 100, comm: 'bash', fds: { 3: 'socket:[900]' }, unix: [[900, '/bash.sock', true]], root: gone },
      { pid: 4343, comm: 'containerd', fds: { 3: 'socket:[901]' }, unix: [[901, '/run/gone.sock', true]], root: gone },
    ]);

    const scanned = await discoverEngines({ env: {}, wellKnown: [], procRoot, timeout: 5_000 });
    const viaRoot = `unix://${procRoot}/4242/root/fake.sock`;
    expect(scanned.engines).to.deep.equal([
      {
        type: 'docker.com',
        product: 'docker',
        endpoint: viaRoot,
        pid: 4242,
        version: '26.1.5',
        routes: [{ by: 'process', pid: 4242, process: 'dockerd', path: '/var/run/fake.sock' }],
      },
    ]);
    // a listening socket whose file is gone is said, not thrown
    expect(scanned.unreadable).to.have.length(1);
    expect(scanned.unreadable[0]?.path).to.equal(`${procRoot}/4343/root/run/gone.sock`);
    expect(scanned.unreadable[0]?.reason).to.match(/^ENOENT/);
    expect(scanned.unanswered).to.deep.equal([]);

    // the same socket named by DOCKER_HOST too: one engine, the environment's endpoint, both routes, the PID
    const both = await discoverEngines({ env: { DOCKER_HOST: fake.url }, wellKnown: [], procRoot, timeout: 5_000 });
    expect(both.engines.map((e) => ({ endpoint: e.endpoint, pid: e.pid, routes: e.routes.map((r) => r.by) }))).to.deep.equal([
      { endpoint: fake.url, pid: 4242, routes: ['env', 'process'] },
    ]);
  });

  it('tells Podman from Docker; a containerd socket answers natively (its CRI is optional); a CRI runtime; one socket by two paths counts once', async () => {
    const podman = await docker('podman');
    const containerd = track(await FakeContainerd.start());
    const cri = track(await fakeCri());
    const alias = join(dir, 'podman.sock');
    await symlink(podman.socketPath, alias);
    const { engines, unreadable, unanswered } = await discoverEngines({
      env: { DOCKER_HOST: podman.url, CONTAINERD_ADDRESS: containerd.address, CONTAINER_RUNTIME_ENDPOINT: cri.address },
      wellKnown: [alias, join(dir, 'absent.sock')],
      scan: false,
      timeout: 5_000,
    });
    expect(engines.map((e) => [e.type, e.product, e.endpoint, e.routes.map((r) => r.by)])).to.deep.equal([
      ['docker.com', 'podman', podman.url, ['env', 'well-known']],
      ['containerd.io', 'containerd', containerd.address, ['env']],
      ['k8s.io/cri-api', 'fake-cri', cri.address, ['env']],
    ]);
    expect(engines.map((e) => e.version)).to.deep.equal(['4.3.1', '1.7.24-fake', '9.9.9']);
    expect(unreadable).to.deep.equal([]);
    expect(unanswered).to.deep.equal([]);
  });

  it('reports sockets that are not engines within the probe timeout (a silent one, a garbage one, a missing one), and skips files that are no sockets', async () => {
    const silent = track(await silentServer());
    const garbage: FakeSocket = track(await notGrpcServer());
    const plainFile = join(dir, 'docker.sock');
    await writeFile(plainFile, 'not a socket');
    // the adapters' own request timeout is 30 s, beyond this spec's: only the probe timeout can end this
    const { engines, unanswered, unreadable } = await discoverEngines({
      env: { DOCKER_HOST: silent.url, CONTAINERD_ADDRESS: garbage.socketPath, CONTAINER_RUNTIME_ENDPOINT: `unix://${dir}/missing.sock` },
      wellKnown: [plainFile],
      scan: false,
      timeout: 500,
    });
    expect(engines).to.deep.equal([]);
    expect(unreadable).to.deep.equal([]);
    expect(unanswered.map((u) => [u.endpoint, u.tried])).to.have.deep.members([
      [`unix://${dir}/missing.sock`, []],
      [silent.url, ['docker']],
      [garbage.address, ['containerd', 'cri']],
    ]);
    expect(unanswered.find((u) => u.endpoint === silent.url)?.reason).to.match(/time|500/i);
    expect(unanswered.find((u) => u.tried.length === 0)?.reason).to.match(/^ENOENT/);
  });
});
