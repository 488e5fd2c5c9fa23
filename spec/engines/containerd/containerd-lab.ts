/**
 * Helpers for the containerd adapter specs: bounded polling, recording an
 * observable, and driving a real containerd with its own CLI (`ctr`), in
 * several namespaces, with container ids that carry a per-lab run id so that
 * {@link ContainerdLab.cleanup} removes exactly what the spec made.
 */
import { randomBytes } from 'node:crypto';
import type { Container } from '../../../lib/model/container.js';
import { type EngineName, labImage, runEngineCli } from '../../helpers/engines.js';

import { eventually } from '../../helpers/observe.js';
import { type Truthful, byId } from '../../helpers/picture.js';

export { eventually, record, type Recording } from '../../helpers/observe.js';

/** The parts of a container the specs compare with the engine's truth. */
export interface Seen {
  readonly id: string;
  readonly pid: number;
  readonly paused: boolean;
}

export function seen(c: Container): Seen {
  return { id: c.id, pid: c.pid, paused: c.paused };
}

/** whalewatcher's id of a containerd container (`namespace/id` outside `default`). */
export function displayId(namespace: string, id: string): string {
  return namespace === 'default' ? id : `${namespace}/${id}`;
}

/** Options of {@link ContainerdLab.run}. */
export interface CtrRunOptions {
  readonly labels?: Record<string, string>;
  /** Command (default `sleep 100000`). */
  readonly cmd?: readonly string[];
  /** More `ctr run` flags (e.g. `--memory-limit`). */
  readonly flags?: readonly string[];
}

/**
 * A real containerd driven through `ctr` (the lab's matching version). Every
 * container it makes has this lab's run id in its id; {@link ContainerdLab.cleanup}
 * kills and deletes them all, in every namespace the lab used.
 */
export class ContainerdLab implements Truthful<Seen> {
  readonly runId = randomBytes(3).toString('hex');
  readonly image: string;
  private serial = 0;
  private readonly made: { namespace: string; id: string }[] = [];
  private readonly imported = new Set<string>();

  constructor(readonly engine: EngineName) {
    this.image = labImage(engine);
  }

  ctr(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    return runEngineCli(this.engine, args, timeoutMs);
  }

  /** A fresh container id for this lab. */
  id(hint: string): string {
    this.serial += 1;
    return `ww-${this.runId}-${hint}-${this.serial}`;
  }

  /** Imports the lab's busybox image into `namespace` unless it is there. */
  async ensureImage(namespace: string): Promise<void> {
    if (this.imported.has(namespace)) return;
    const images = await this.ctr(['-n', namespace, 'images', 'ls', '-q']);
    if (!images.split('\n').includes(this.image)) {
      const lab = process.env['WW_LAB'];
      if (!lab) throw new Error('WW_LAB is not set: cannot import the busybox image');
      await this.ctr(['-n', namespace, 'images', 'import', `${lab}/images/busybox.tar`], 60_000);
    }
    this.imported.add(namespace);
  }

  /** Creates a container and starts its task (`ctr run -d`); returns its id. */
  async run(namespace: string, id: string, options: CtrRunOptions = {}): Promise<string> {
    await this.ensureImage(namespace);
    const labels = Object.entries(options.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    this.made.push({ namespace, id });
    await this.ctr(['-n', namespace, 'run', '-d', ...labels, ...(options.flags ?? []), this.image, id, ...(options.cmd ?? ['sleep', '100000'])]);
    return displayId(namespace, id);
  }

  pause(namespace: string, id: string): Promise<string> {
    return this.ctr(['-n', namespace, 'tasks', 'pause', id]);
  }

  resume(namespace: string, id: string): Promise<string> {
    return this.ctr(['-n', namespace, 'tasks', 'resume', id]);
  }

  /** Runs `cmd` as an exec'd process in the container and waits for it to end. */
  exec(namespace: string, id: string, execId: string, cmd: readonly string[] = ['true']): Promise<string> {
    return this.ctr(['-n', namespace, 'tasks', 'exec', '--exec-id', execId, id, ...cmd]);
  }

  /** SIGKILLs the task and waits until it has stopped (the task stays until deleted). */
  async kill(namespace: string, id: string): Promise<void> {
    await this.ctr(['-n', namespace, 'tasks', 'kill', '-s', 'SIGKILL', id]);
    await eventually(async () => (await this.status(namespace, id)) !== 'RUNNING', `task ${namespace}/${id} to stop`);
  }

  /** Deletes the (stopped) task, then the container. */
  async delete(namespace: string, id: string): Promise<void> {
    await this.ctr(['-n', namespace, 'tasks', 'delete', '-f', id]).catch(() => undefined);
    await this.ctr(['-n', namespace, 'containers', 'delete', id]);
  }

  /** `ctr tasks ls` of one namespace: id → { pid, status }. */
  async tasks(namespace: string): Promise<Map<string, { pid: number; status: string }>> {
    const out = await this.ctr(['-n', namespace, 'tasks', 'ls']);
    const tasks = new Map<string, { pid: number; status: string }>();
    for (const line of out.split('\n').slice(1)) {
      const [task, pid, status] = line.trim().split(/\s+/);
      if (task && pid && status) tasks.set(task, { pid: Number(pid), status });
    }
    return tasks;
  }

  async status(namespace: string, id: string): Promise<string | undefined> {
    return (await this.tasks(namespace)).get(id)?.status;
  }

  async pid(namespace: string, id: string): Promise<number> {
    const t = (await this.tasks(namespace)).get(id);
    if (t === undefined) throw new Error(`no task ${namespace}/${id}`);
    return t.pid;
  }

  /** The parts of a container {@link ContainerdLab.truth} covers: id, pid, paused. */
  seen(c: Container): Seen {
    return seen(c);
  }

  /**
   * The engine's truth, read through `ctr`: every task with a process (RUNNING,
   * PAUSED, PAUSING) in every namespace but the ignored ones, sorted by id.
   */
  async truth(ignore: readonly string[] = ['moby', 'k8s.io']): Promise<Seen[]> {
    const namespaces = (await this.ctr(['namespaces', 'ls', '-q'])).split('\n').map((s) => s.trim()).filter((s) => s !== '' && !ignore.includes(s));
    const all: Seen[] = [];
    for (const ns of namespaces) {
      for (const [id, t] of await this.tasks(ns)) {
        if (t.status === 'RUNNING' || t.status === 'PAUSED' || t.status === 'PAUSING') all.push({ id: displayId(ns, id), pid: t.pid, paused: t.status === 'PAUSED' });
      }
    }
    return byId(all);
  }

  /** Kills and deletes every container this lab made (best effort, then checks). */
  async cleanup(): Promise<void> {
    const made = this.made.splice(0);
    // a frozen (paused) process only dies once thawed
    await Promise.all(made.map(({ namespace, id }) => this.ctr(['-n', namespace, 'tasks', 'resume', id]).catch(() => undefined)));
    await Promise.all(made.map(({ namespace, id }) => this.ctr(['-n', namespace, 'tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined)));
    for (const { namespace, id } of made) {
      await this.ctr(['-n', namespace, 'tasks', 'delete', '-f', id]).catch(() => undefined);
      await this.ctr(['-n', namespace, 'containers', 'delete', id]).catch(() => undefined);
    }
  }
}
