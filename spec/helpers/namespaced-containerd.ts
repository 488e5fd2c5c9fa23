/**
 * A real containerd 1.7 (the lab's binaries) started in a mount namespace of
 * its own (`unshare --mount --propagation private`), its socket on a tmpfs
 * mounted only in that namespace: the socket's path does not exist here, and
 * the engine is reachable only through `/proc/PID/root/…` (what discovery's
 * /proc scan finds). Its CRI plugin is off (no pause image needed); runc's
 * state is private to it, as in scripts/engines/start.sh. Root only.
 *
 * Used by spec/integration/host.spec.ts and scripts/bench/discovery.mjs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A namespaced containerd while it runs. */
export interface NamespacedContainerd {
  /** The daemon's PID (containerd itself: the unshare'd shell execs it). */
  readonly pid: number;
  /** The socket as containerd sees it (absent here). */
  readonly socket: string;
  /** The same socket reachable from here: `/proc/PID/root` + {@link socket}. */
  readonly reachable: string;
  /** Runs `ctr --address <reachable> …`; resolves with stdout. */
  ctr(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Runs a `sleep` container in namespace `default` (importing busybox from `image` first); resolves with the container's PID. */
  run(id: string, image: string, tarball: string): Promise<number>;
  /** SIGKILLs the daemon (its containers live on, as containerd's do) and waits for it to end. */
  kill(): Promise<void>;
  /** Ends the daemon if alive, the containers it ran (their shims and processes), and removes its folder. */
  stop(): Promise<void>;
}

/** The lab's containerd 1.7 binaries: `WW_CACHE` (default /var/cache/whalewatcher)/trixie/x-containerd/usr/bin. */
export function containerd17Bin(): string {
  return join(process.env['WW_CACHE'] ?? '/var/cache/whalewatcher', 'trixie', 'x-containerd', 'usr', 'bin');
}

/** Starts one; resolves once it answers `ctr version` through /proc/PID/root. */
export async function startNamespacedContainerd(bin = containerd17Bin()): Promise<NamespacedContainerd> {
  if (!existsSync(join(bin, 'containerd'))) throw new Error(`no containerd at ${bin} (the lab installs it: scripts/engines/install.sh)`);
  const dir = await mkdtemp(join(tmpdir(), 'ww-nsctd-'));
  const hidden = join(dir, 'hidden');
  await Promise.all([mkdir(hidden), mkdir(join(dir, 'runc'))]);
  const socket = join(hidden, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${hidden}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      '',
    ].join('\n'),
  );
  const log = join(dir, 'containerd.log');
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs tmpfs "$0" && mkdir -p /run/containerd/runc && mount --bind "$1" /run/containerd/runc && exec containerd --config "$2" >"$3" 2>&1',
      hidden,
      join(dir, 'runc'),
      config,
      log,
    ],
    { stdio: 'ignore', env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` } },
  );
  const pid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));
  const reachable = `/proc/${pid}/root${socket}`;
  const ctr = (args: readonly string[], timeoutMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile(join(bin, 'ctr'), ['--address', reachable, ...args], { timeout: timeoutMs }, (err, stdout, stderr) =>
        err ? reject(new Error(`ctr ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
  // processes of the containers it ran: their shims and the containers' own
  const started: number[] = [];
  const stopAll = async (): Promise<void> => {
    if (alive) child.kill('SIGKILL');
    await exited;
    for (const p of started) {
      const shim = await parentOf(p);
      for (const victim of [p, shim]) {
        if (victim === undefined || victim <= 1) continue;
        try {
          process.kill(victim, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive) {
      const why = await readFile(log, 'utf8').catch(() => '');
      await stopAll();
      throw new Error(`the namespaced containerd ended before it answered:\n${why.slice(-2_000)}`);
    }
    if (existsSync(reachable) && (await ctr(['version'], 5_000).then(() => true, () => false))) break;
    if (Date.now() > deadline) {
      await stopAll();
      throw new Error('the namespaced containerd did not answer within 30 s');
    }
    await sleep(50);
  }
  return {
    pid,
    socket,
    reachable,
    ctr,
    async run(id, image, tarball) {
      if (!(await ctr(['-n', 'default', 'images', 'ls', '-q'])).split('\n').includes(image)) await ctr(['-n', 'default', 'images', 'import', tarball], 60_000);
      await ctr(['-n', 'default', 'run', '-d', '--null-io', image, id, 'sleep', '100000']);
      const line = (await ctr(['-n', 'default', 'tasks', 'ls'])).split('\n').find((l) => l.startsWith(`${id} `));
      const taskPid = Number(line?.trim().split(/\s+/)[1]);
      if (!(taskPid > 0)) throw new Error(`no task ${id}: ${line}`);
      started.push(taskPid);
      return taskPid;
    },
    async kill() {
      if (alive) child.kill('SIGKILL');
      await exited;
    },
    stop: stopAll,
  };
}

/** The parent PID of a process, from /proc/PID/stat (undefined when it is gone). */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const m = /^\s*\S+\s+(\d+)/.exec(text.slice(text.lastIndexOf(')') + 1));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

