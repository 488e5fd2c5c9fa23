import type { EngineInfo } from './engine-info.js';

/**
 * An alive container (running or paused: it has an initial process with a PID),
 * as seen by one engine. Immutable: instances are frozen, labels included.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(c.name, c.pid, c.paused);
 * await ww.close();
 * ```
 */
export interface Container {
  /** Engine-unique id; containerd ids outside namespace `default` are `namespace/id`. */
  readonly id: string;
  /** Name (Docker: without the leading `/`; containerd: `nerdctl/name` label or the id). */
  readonly name: string;
  /** Labels; a null-prototype frozen record, safe for any key including `__proto__`. */
  readonly labels: Readonly<Record<string, string>>;
  /** PID of the container's initial process, in the engine's PID namespace. */
  readonly pid: number;
  /** Composer project name (`com.docker.compose.project`), `''` for none. */
  readonly project: string;
  /** True while the container is paused (frozen). */
  readonly paused: boolean;
  /** Application data packed by the user-supplied packer from the raw inspection. */
  readonly rucksack?: unknown;
  /**
   * The image reference as the engine reports it (Docker `Config.Image`, e.g.
   * `busybox:lab`; containerd's container image; CRI's image spec); absent
   * where the engine does not say.
   */
  readonly image?: string;
  /** When the engine created the container, where it says. */
  readonly createdAt?: Date;
  /** When the container's current process started, where the engine says. */
  readonly startedAt?: Date;
  /**
   * The result of the container's health check (Docker and Podman); absent for
   * a container without a health check, and for engines without health checks.
   */
  readonly health?: ContainerHealth;
  /**
   * The engine the container lives in: the same frozen `EngineInfo` object
   * for all containers one watcher saw in one connection to the engine (the
   * adapters of `watchDocker`, `watchContainerd` and `watchCri` set it; an
   * adapter of your own may). Merged streams of several engines need no
   * tagging.
   */
  readonly engine?: EngineInfo;
}

/**
 * The state of a container's health check: Docker's and Podman's `State.Health.Status`.
 *
 * @example
 * ```ts
 * import type { ContainerHealth } from 'whalewatcher';
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * const health: ContainerHealth | undefined = ww.portfolio.container('shop-web-1')?.health;
 * if (health === 'unhealthy') console.log('shop-web-1 fails its health check');
 * await ww.close();
 * ```
 */
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy';

/**
 * Label of the composer project a container belongs to (docker compose, nerdctl compose).
 *
 * @example
 * ```ts
 * import { PROJECT_LABEL, newContainer } from 'whalewatcher';
 * const c = newContainer({ id: 'c1', name: 'shop-db-1', pid: 42, labels: { [PROJECT_LABEL]: 'shop' } });
 * console.log(c.labels[PROJECT_LABEL], c.project); // shop shop
 * ```
 */
export const PROJECT_LABEL = 'com.docker.compose.project';
/**
 * Label (value '') added to privileged Docker containers: the same name as the Go original's.
 *
 * @example
 * ```ts
 * import { PRIVILEGED_LABEL, watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * await ww.ready;
 * const privileged = ww.portfolio.containers.filter((c) => PRIVILEGED_LABEL in c.labels);
 * console.log(privileged.map((c) => c.name));
 * await ww.close();
 * ```
 */
export const PRIVILEGED_LABEL = 'github.com/thediveo/whalewatcher/moby/privileged';

/**
 * Fields to build a {@link Container} from with {@link newContainer}; labels may be any plain record.
 *
 * @example
 * ```ts
 * import type { ContainerInit } from 'whalewatcher';
 * import { newContainer } from 'whalewatcher';
 * const init: ContainerInit = { id: 'c1', name: 'web', pid: 4242, labels: { tier: 'front' }, paused: true };
 * console.log(newContainer(init).paused); // true
 * ```
 */
export interface ContainerInit {
  /** Engine-unique id ({@link Container.id}). */
  readonly id: string;
  /** Name ({@link Container.name}). */
  readonly name: string;
  /** Labels, copied into a frozen null-prototype record; default none. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** PID of the container's initial process. */
  readonly pid: number;
  /** Composer project name; default the `com.docker.compose.project` label, `''` without it. */
  readonly project?: string | undefined;
  /** Whether the container is paused; default false. */
  readonly paused?: boolean | undefined;
  /** Application data ({@link Container.rucksack}); absent when undefined. */
  readonly rucksack?: unknown;
  /** The image reference; absent when undefined or `''`. */
  readonly image?: string | undefined;
  /** When the engine created the container; absent when undefined or an invalid date. */
  readonly createdAt?: Date | undefined;
  /** When the container's current process started; absent when undefined or an invalid date. */
  readonly startedAt?: Date | undefined;
  /** The health check's state; absent when undefined. */
  readonly health?: ContainerHealth | undefined;
}

/** Copies labels into a frozen null-prototype record (safe for `__proto__` and friends). */
function freezeLabels(labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  if (labels) {
    for (const key of Object.keys(labels)) {
      const value = labels[key];
      if (typeof value === 'string') {
        Object.defineProperty(out, key, { value, enumerable: true, writable: false, configurable: false });
      }
    }
  }
  return Object.freeze(out);
}

/**
 * Makes a frozen {@link Container}, e.g. in an `EngineAdapter` of your
 * own or a fake one in tests. The project defaults to the
 * `com.docker.compose.project` label, `''` when absent; labels are copied into
 * a frozen null-prototype record.
 *
 * @example
 * ```ts
 * import { PROJECT_LABEL, newContainer } from 'whalewatcher';
 * const c = newContainer({ id: 'c1', name: 'shop-web-1', pid: 4242, labels: { [PROJECT_LABEL]: 'shop' } });
 * console.log(c.project, c.paused, Object.isFrozen(c)); // shop false true
 * ```
 */
export function newContainer(init: ContainerInit): Container {
  const labels = freezeLabels(init.labels);
  const project = init.project ?? labels[PROJECT_LABEL] ?? '';
  const c: { -readonly [K in keyof Container]: Container[K] } = {
    id: init.id,
    name: init.name,
    labels,
    pid: init.pid,
    project,
    paused: init.paused ?? false,
  };
  if (init.rucksack !== undefined) c.rucksack = init.rucksack;
  if (init.image !== undefined && init.image !== '') c.image = init.image;
  if (init.createdAt !== undefined && !Number.isNaN(init.createdAt.getTime())) c.createdAt = init.createdAt;
  if (init.startedAt !== undefined && !Number.isNaN(init.startedAt.getTime())) c.startedAt = init.startedAt;
  if (init.health !== undefined) c.health = init.health;
  return Object.freeze(c);
}

/** @internal Same container with another paused state (a new frozen object; labels shared). */
export function withPaused(c: Container, paused: boolean): Container {
  return c.paused === paused ? c : Object.freeze({ ...c, paused });
}

/** @internal Same container with another name (a new frozen object; labels shared). */
export function withName(c: Container, name: string): Container {
  return c.name === name ? c : Object.freeze({ ...c, name });
}

/** @internal Same container in `engine` (a new frozen object; labels shared), or the same object when it is there already. */
export function withEngine(c: Container, engine: EngineInfo): Container {
  return c.engine === engine ? c : Object.freeze({ ...c, engine });
}

/** @internal Same container with the label `key` set to `value` (a new frozen object with its own labels record), or the same object when it has that label already. */
export function withLabel(c: Container, key: string, value: string): Container {
  if (c.labels[key] === value) return c;
  const labels: Record<string, string> = Object.create(null);
  for (const k of Object.keys(c.labels)) labels[k] = c.labels[k] as string;
  labels[key] = value;
  return Object.freeze({ ...c, labels: freezeLabels(labels) });
}

/** @internal Same container with another health (a new frozen object; labels shared); `undefined` removes it. */
export function withHealth(c: Container, health: ContainerHealth | undefined): Container {
  if (c.health === health) return c;
  if (health !== undefined) return Object.freeze({ ...c, health });
  const { health: _gone, ...rest } = c;
  return Object.freeze(rest);
}

/**
 * Runs a user-supplied rucksack packer on an engine's raw data. A packer that
 * throws never stops the watcher: the container is kept without a rucksack and
 * `onPackerError` is told (errors it throws are ignored too).
 *
 * @internal
 */
export function packRucksack<R>(
  packer: ((raw: R) => unknown) | undefined,
  raw: R,
  id: string,
  onPackerError?: ((error: unknown, containerId: string) => void) | undefined,
): unknown {
  if (packer === undefined) return undefined;
  try {
    return packer(raw);
  } catch (err) {
    try {
      onPackerError?.(err, id);
    } catch {
      // a faulty error handler must not stop the watcher either
    }
    return undefined;
  }
}
