/**
 * Helpers for the Docker adapter specs: bounded polling, recording an
 * observable, and driving a real Docker or Podman engine (through dockerode
 * on its Docker-compatible API) with containers that are all labelled for
 * cleanup.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { Container } from '../../../lib/model/container.js';
import { normalizeDockerInspect } from '../../../lib/engines/docker/docker-normalize.js';

import { eventually } from '../../helpers/observe.js';
import { type Truthful, byId } from '../../helpers/picture.js';

export { eventually, record, type Recording } from '../../helpers/observe.js';

/** The parts of a container the specs compare with the engine's truth. */
export interface Seen {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly paused: boolean;
  readonly project: string;
}

export function seen(c: Container): Seen {
  return { id: c.id, name: c.name, pid: c.pid, paused: c.paused, project: c.project };
}

/**
 * Collapses a repeated pause/unpause pair (`paused…`, `unpaused…`, `paused…`,
 * `unpaused…`) into one. Measured: Docker 20.10 and 26.1 now and then report a
 * pause/unpause pair twice (46 and 44 events for 20 pairs with execs in
 * between; Podman 4.3 exactly 40), apparently when containerd's task events
 * reach dockerd after its own; the end state is still right.
 */
export function collapsed(seq: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of seq) {
    const n = out.length;
    if (s.startsWith('paused') && out[n - 1]?.startsWith('unpaused') && out[n - 2]?.startsWith('paused')) {
      out.pop(); // the pair repeats: keep the first
      continue;
    }
    out.push(s);
  }
  return out;
}

const TEST_LABEL = 'whalewatcher.test';

/** Options to {@link DockerLab.run}. */
export interface RunOptions {
  readonly labels?: Record<string, string>;
  readonly privileged?: boolean;
  /** Command (default `sleep 100000`). */
  readonly cmd?: readonly string[];
  /** Create only (do not start). */
  readonly createOnly?: boolean;
}

/**
 * A real engine driven through its Docker-compatible API. Every container it
 * creates carries a label with this lab's run id; {@link DockerLab.cleanup}
 * removes them all.
 */
export class DockerLab implements Truthful<Seen> {
  readonly docker: Docker;
  readonly run_id = randomBytes(4).toString('hex');
  private serial = 0;

  constructor(
    readonly endpoint: string,
    readonly image: string,
    readonly engine: string,
  ) {
    this.docker = new Docker({ socketPath: endpoint.replace(/^unix:\/\//, ''), agent: this.agent } as Docker.DockerOptions);
  }

  private readonly agent = new Agent({ keepAlive: true });

  /** Closes the lab's own client sockets (after {@link DockerLab.cleanup}). */
  close(): void {
    this.agent.destroy();
  }

  /** A fresh container name for this lab. */
  name(hint: string): string {
    this.serial += 1;
    return `ww-${this.run_id}-${hint}-${this.serial}`;
  }

  /** Creates and (unless `createOnly`) starts a container; returns its id. */
  async run(name: string, options: RunOptions = {}): Promise<string> {
    const c = await this.docker.createContainer({
      name,
      Image: this.image,
      Cmd: [...(options.cmd ?? ['sleep', '100000'])],
      Labels: { [TEST_LABEL]: this.run_id, ...options.labels },
      HostConfig: { NetworkMode: 'none', Privileged: options.privileged ?? false },
    });
    if (!options.createOnly) await c.start();
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async pause(id: string): Promise<void> {
    await this.docker.getContainer(id).pause();
  }

  async unpause(id: string): Promise<void> {
    await this.docker.getContainer(id).unpause();
  }

  async kill(id: string): Promise<void> {
    await this.docker.getContainer(id).kill();
  }

  async restart(id: string): Promise<void> {
    await this.docker.getContainer(id).restart({ t: 0 });
  }

  async rename(id: string, name: string): Promise<void> {
    await this.docker.getContainer(id).rename({ name });
  }

  async remove(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true });
  }

  /** Runs `cmd` in the container and waits for it to end; returns its exit code. */
  async exec(id: string, cmd: readonly string[]): Promise<number> {
    // Docker may still (briefly) think a just-unpaused container is paused: its own
    // unpause raced a late containerd pause event (see collapsed()); try again then
    const exec = await eventually(
      () =>
        this.docker
          .getContainer(id)
          .exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true })
          .catch((e: { statusCode?: number }) => {
            if (e.statusCode === 409 && /paused/.test(String(e))) return undefined;
            throw e;
          }),
      'exec to be accepted',
    );
    // attached, as the docker CLI does: Podman 4.3 never ends a detached exec session
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.resume();
    });
    stream.destroy();
    const info = await eventually(async () => {
      const i = await exec.inspect();
      return i.Running ? undefined : i;
    }, `exec ${cmd.join(' ')} to end`);
    if (this.engine === 'podman') await reapExecConmons(id);
    return info.ExitCode ?? -1;
  }

  /** Podman only: runs the container's health check now (libpod API; without systemd nothing runs it on its timer); returns the status. */
  async healthcheck(id: string): Promise<string> {
    const socketPath = this.endpoint.replace(/^unix:\/\//, '');
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/healthcheck`, method: 'GET', agent: this.agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`healthcheck ${id}: HTTP ${res.statusCode} ${body}`));
          else resolve(String((JSON.parse(body) as { Status?: unknown }).Status));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async pid(id: string): Promise<number> {
    return (await this.docker.getContainer(id).inspect()).State.Pid;
  }

  /** The parts of a container {@link DockerLab.truth} covers: id, name, pid, paused, project. */
  seen(c: Container): Seen {
    return seen(c);
  }

  /** The engine's truth: every alive container, by list (all) + inspect, as the adapter should see them. */
  async truth(): Promise<Seen[]> {
    const all = await this.docker.listContainers({ all: true });
    const alive: Seen[] = [];
    for (const entry of all) {
      try {
        const c = normalizeDockerInspect(await this.docker.getContainer(entry.Id).inspect());
        if (c) alive.push(seen(c));
      } catch {
        // gone meanwhile
      }
    }
    return byId(alive);
  }

  /** Ids of this lab's containers, alive or not. */
  async mine(): Promise<string[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${this.run_id}`] } });
    return list.map((c) => c.Id);
  }

  /** Removes every container this lab created (and any compose project it ran). */
  async cleanup(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const ids = await this.mine().catch(() => [] as string[]);
      if (this.engine === 'podman') for (const id of ids) await reapExecConmons(id);
      if (ids.length === 0) return;
      await Promise.all(ids.map((id) => this.docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
    }
  }
}

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeout = 120_000, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { env, timeout, ...(cwd === undefined ? {} : { cwd }) }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Podman 4.3 leaves the conmon of an exec made through its Docker-compatible
 * API running (it outlives even the container): kill those of container `id`
 * (`conmon … -c <id> -u <exec session id>`), by PID.
 */
export async function reapExecConmons(id: string): Promise<number> {
  let killed = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('conmon')) continue;
    const c = argv[argv.indexOf('-c') + 1];
    const u = argv[argv.indexOf('-u') + 1];
    if (c === id && u !== undefined && u !== id) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed += 1;
      } catch {
        // gone already
      }
    }
  }
  return killed;
}
