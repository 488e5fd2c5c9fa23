// Pure: containerd event envelopes, container records and tasks → whalewatcher's
// model. No I/O, no node:* and no grpc-js imports (only the generated protobuf
// message codecs, which need nothing but @bufbuild/protobuf): the Any payloads of
// events are decoded here. Table-tested with frozen fixtures.

import type { EngineEvent } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { decodeError as kitDecodeError } from '../common/decode.js';
import type { StartHint } from '../common/start-hint.js';
import { TaskExit, TaskPaused, TaskResumed, TaskStart } from '../../gen/containerd/events/task.js';
import { Status } from '../../gen/containerd/types/task/task.js';

/** @internal Engine name used in the errors of the containerd adapter. */
export const CONTAINERD_ENGINE = 'containerd';

/** @internal containerd's default namespace: its container ids are shown without a `namespace/` prefix. */
export const CONTAINERD_DEFAULT_NAMESPACE = 'default';

/**
 * Namespaces skipped unless told otherwise: `moby` (Docker's containers, better
 * watched through the Docker API, which knows their names) and `k8s.io` (CRI's
 * pods and containers, better watched through CRI). Frozen.
 *
 * @example
 * ```ts
 * import { DEFAULT_IGNORED_NAMESPACES, watchContainerd } from 'whalewatcher';
 * // the defaults, and BuildKit's namespace too
 * const ww = watchContainerd({ ignoreNamespaces: [...DEFAULT_IGNORED_NAMESPACES, 'buildkit'] });
 * await ww.ready;
 * console.log(ww.portfolio.total);
 * await ww.close();
 * ```
 */
export const DEFAULT_IGNORED_NAMESPACES: readonly string[] = Object.freeze(['moby', 'k8s.io']);

/** Label nerdctl keeps a container's name in. */
export const NERDCTL_NAME_LABEL = 'nerdctl/name';

/** The task event topics the adapter subscribes to. */
const CONTAINERD_TASK_TOPICS: readonly string[] = Object.freeze(['/tasks/start', '/tasks/exit', '/tasks/paused', '/tasks/resumed']);

/**
 * Topic of the probe events the adapter publishes to itself: containerd sends no
 * response headers on `Subscribe` before the first event, so a probe coming back
 * on the stream is the only proof that the subscription is in place.
 *
 * @internal
 */
export const CONTAINERD_PROBE_TOPIC = '/whalewatcher/hello';

/** @internal The `Events.Subscribe` filters (containerd filter syntax; the filters are OR'ed): the task topics plus the probe topic. */
export const CONTAINERD_EVENT_FILTERS: readonly string[] = Object.freeze([...CONTAINERD_TASK_TOPICS, CONTAINERD_PROBE_TOPIC].map((topic) => `topic==${JSON.stringify(topic)}`));

/** @internal A protobuf `Timestamp` (64-bit seconds as bigint). */
export interface ContainerdTimestamp {
  readonly seconds: bigint;
  readonly nanos: number;
}

/** @internal The parts of an `Events.Subscribe` envelope the normaliser reads (structurally the generated `Envelope`). */
export interface ContainerdEnvelope {
  readonly timestamp?: ContainerdTimestamp | undefined;
  readonly namespace: string;
  readonly topic: string;
  readonly event?: { readonly typeUrl: string; readonly value: Uint8Array } | undefined;
}

/** The parts of a containerd container record the normaliser reads (structurally the generated `Container`). */
export interface ContainerdContainerRecord {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The parts of a task (`types.task.Process`) the normaliser reads. */
export interface ContainerdTask {
  readonly id: string;
  readonly containerId?: string;
  readonly pid: number;
  readonly status: Status;
}

/**
 * A `/tasks/start`: the event carries no labels, so the source must fetch the
 * container record (and check that its task still runs) before it can emit
 * `started`, keeping the engine's order. `id` is whalewatcher's id
 * (`namespace/id` outside `default`).
 *
 * @internal
 */
export type ContainerdStartHint = StartHint<{
  /** containerd namespace of the container. */
  readonly namespace: string;
  /** The container's id inside its namespace. */
  readonly containerId: string;
  /** PID of the started task, 0 when the event had none. */
  readonly pid: number;
}>;

/** @internal What one envelope turns into: an engine event, a start to inspect, or nothing (`null`). */
export type ContainerdEventResult = EngineEvent | ContainerdStartHint | null;

/** @internal Options of {@link normalizeContainerdEvent}. */
export interface ContainerdEventOptions {
  /** Namespaces whose events are dropped (default {@link DEFAULT_IGNORED_NAMESPACES}). */
  readonly ignoreNamespaces?: ReadonlySet<string> | readonly string[] | undefined;
  /** ms since the epoch used when the envelope has no timestamp (the caller's clock); default 0. */
  readonly fallbackTime?: number | undefined;
}

/** What the packer of the containerd adapter gets: the raw (generated) records of one alive container. */
export interface ContainerdRaw<C = ContainerdContainerRecord, T = ContainerdTask> {
  readonly namespace: string;
  /** The container record (`Containers.Get`/`List`), or undefined if containerd had none. */
  readonly container: C | undefined;
  /** The container's task (`Tasks.Get`/`List`). */
  readonly task: T;
}

/** The packer options of the containerd adapter (part of `ContainerdOptions`). */
export type ContainerdContainerOptions<C = ContainerdContainerRecord, T = ContainerdTask> = PackerOptions<ContainerdRaw<C, T>>;

/**
 * whalewatcher's id of a containerd container: the plain id in namespace
 * `default`, `namespace/id` elsewhere (containerd ids are unique per namespace only).
 *
 * @internal
 */
export function containerdDisplayId(namespace: string, id: string): string {
  return namespace === CONTAINERD_DEFAULT_NAMESPACE ? id : `${namespace}/${id}`;
}

/**
 * Splits the id of a container watched by `watchContainerd` (`namespace/id`
 * outside namespace `default`, the plain id inside it) into the containerd
 * namespace and the container's id there, e.g. to call containerd or
 * `nerdctl --namespace` about it. Pure.
 *
 * @example
 * ```ts
 * import { parseContainerdDisplayId, watchContainerd } from 'whalewatcher';
 * const ww = watchContainerd();
 * await ww.ready;
 * for (const c of ww.portfolio.containers) {
 *   const { namespace, id } = parseContainerdDisplayId(c.id); // 'ns2/web1' → { namespace: 'ns2', id: 'web1' }
 *   console.log(`nerdctl --namespace ${namespace} inspect ${id}`);
 * }
 * await ww.close();
 * ```
 */
export function parseContainerdDisplayId(displayId: string): { readonly namespace: string; readonly id: string } {
  const slash = displayId.indexOf('/');
  if (slash < 0) return { namespace: CONTAINERD_DEFAULT_NAMESPACE, id: displayId };
  return { namespace: displayId.slice(0, slash), id: displayId.slice(slash + 1) };
}

/**
 * A protobuf timestamp in ms since the epoch (fractions kept), or `fallback`
 * when it is missing or zero.
 *
 * @internal
 */
export function containerdEventTime(timestamp: ContainerdTimestamp | undefined, fallback: number): number {
  if (timestamp === undefined) return fallback;
  const ms = Number(timestamp.seconds) * 1000 + timestamp.nanos / 1e6;
  return Number.isFinite(ms) && ms > 0 ? ms : fallback;
}

/** @internal True for task states that have a process: RUNNING, PAUSED and the transient PAUSING. */
export function isContainerdTaskAlive(status: Status): boolean {
  return status === Status.RUNNING || status === Status.PAUSED || status === Status.PAUSING;
}

function decodeError(message: string, cause?: unknown): EngineError {
  return kitDecodeError(CONTAINERD_ENGINE, message, { cause });
}

function ignoredSet(ignore: ContainerdEventOptions['ignoreNamespaces']): ReadonlySet<string> {
  if (ignore === undefined) return DEFAULT_IGNORED_SET;
  return ignore instanceof Set ? ignore : new Set(ignore as readonly string[]);
}
const DEFAULT_IGNORED_SET: ReadonlySet<string> = new Set(DEFAULT_IGNORED_NAMESPACES);

/** Decodes an envelope's Any with `codec`, checking its type URL names `message`. */
function payload<T>(envelope: ContainerdEnvelope, message: string, codec: { decode(input: Uint8Array): T }): T {
  const any = envelope.event;
  if (any === undefined) throw decodeError(`containerd ${envelope.topic} event without a payload`);
  // containerd writes `containerd.events.TaskExit`; accept a type.googleapis.com/ style prefix too
  const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
  if (typeName !== `containerd.events.${message}`) {
    throw decodeError(`containerd ${envelope.topic} event carries ${JSON.stringify(any.typeUrl)}, expected containerd.events.${message}`);
  }
  try {
    return codec.decode(any.value);
  } catch (err) {
    throw decodeError(`containerd ${envelope.topic} event has an undecodable ${message} payload: ${(err as Error).message}`, err);
  }
}

function requireContainerId(envelope: ContainerdEnvelope, containerId: string): string {
  if (containerId === '') throw decodeError(`containerd ${envelope.topic} event without a container id (namespace ${JSON.stringify(envelope.namespace)})`);
  return containerId;
}

/**
 * Turns one envelope of containerd's `Events.Subscribe` stream into an
 * {@link EngineEvent}, a {@link ContainerdStartHint} for `/tasks/start`, or
 * `null` for everything else (other topics, the adapter's own probes, events
 * of ignored namespaces).
 *
 * - `/tasks/start` → a start hint (the event has no labels);
 * - `/tasks/exit` → `exited` only when `TaskExit.id` equals `TaskExit.container_id`
 *   (or is empty): that is the container's own process. An exec'd process's
 *   exit has the exec id in `id` and leaves the container alive;
 * - `/tasks/paused` → `paused`, `/tasks/resumed` → `unpaused`.
 *
 * Ids are `namespace/id` outside namespace `default`. The time is the
 * envelope's timestamp in ms.
 *
 * @throws EngineError `decode` when a task event's payload is missing, of
 *   another type, undecodable, or lacks its container id: dropping it would
 *   silently corrupt the picture.
 *
 * @internal
 */
export function normalizeContainerdEvent(envelope: ContainerdEnvelope, options: ContainerdEventOptions = {}): ContainerdEventResult {
  const topic = envelope.topic;
  if (!CONTAINERD_TASK_TOPICS.includes(topic)) return null;
  const namespace = envelope.namespace;
  if (ignoredSet(options.ignoreNamespaces).has(namespace)) return null;
  if (namespace === '') throw decodeError(`containerd ${topic} event without a namespace`);
  const time = containerdEventTime(envelope.timestamp, options.fallbackTime ?? 0);
  switch (topic) {
    case '/tasks/start': {
      const start = payload(envelope, 'TaskStart', TaskStart);
      const containerId = requireContainerId(envelope, start.containerId);
      return Object.freeze({ type: 'inspect', namespace, containerId, id: containerdDisplayId(namespace, containerId), pid: start.pid, time });
    }
    case '/tasks/exit': {
      const exit = payload(envelope, 'TaskExit', TaskExit);
      const containerId = requireContainerId(envelope, exit.containerId);
      // an exec'd process ended (id = exec id): the container lives on
      if (exit.id !== '' && exit.id !== containerId) return null;
      return Object.freeze({ type: 'exited', id: containerdDisplayId(namespace, containerId), time });
    }
    case '/tasks/paused': {
      const paused = payload(envelope, 'TaskPaused', TaskPaused);
      return Object.freeze({ type: 'paused', id: containerdDisplayId(namespace, requireContainerId(envelope, paused.containerId)), time });
    }
    case '/tasks/resumed': {
      const resumed = payload(envelope, 'TaskResumed', TaskResumed);
      return Object.freeze({ type: 'unpaused', id: containerdDisplayId(namespace, requireContainerId(envelope, resumed.containerId)), time });
    }
  }
  return null;
}

/**
 * Turns a task and its container record into a frozen {@link Container}, or
 * `null` when the task has no process (created, stopped, unknown).
 *
 * The id is `namespace/id` outside namespace `default`; the name is the
 * `nerdctl/name` label (prefixed `namespace/` like the id, outside `default`,
 * as names are unique per namespace only), else the id; the project comes from
 * `com.docker.compose.project`; `paused` is true for status PAUSED only
 * (PAUSING counts as still running: its `/tasks/paused` follows). The container
 * id is `containerId` when given, else the task's `container_id`, else its `id`
 * (`Tasks.List` puts the container id in `id`). The rucksack is
 * `packer({ namespace, container, task })`; a throwing packer leaves it
 * undefined and is reported to `onPackerError`.
 *
 * @internal
 */
export function normalizeContainerdTask<C extends ContainerdContainerRecord, T extends ContainerdTask>(
  namespace: string,
  container: C | undefined,
  task: T,
  options: ContainerdContainerOptions<C, T> = {},
  containerId?: string,
): Container | null {
  if (!isContainerdTaskAlive(task.status) || !Number.isInteger(task.pid) || task.pid <= 0) return null;
  const cid = containerId ?? (task.containerId !== undefined && task.containerId !== '' ? task.containerId : task.id);
  const id = containerdDisplayId(namespace, cid);
  const labels = container?.labels ?? {};
  const nerdName = Object.prototype.hasOwnProperty.call(labels, NERDCTL_NAME_LABEL) ? labels[NERDCTL_NAME_LABEL] : undefined;
  const name = typeof nerdName === 'string' && nerdName !== '' ? containerdDisplayId(namespace, nerdName) : id;

  const rucksack = options.packer === undefined ? undefined : packRucksack(options.packer, Object.freeze({ namespace, container, task }), id, options.onPackerError);
  return newContainer({ id, name, labels, pid: task.pid, paused: task.status === Status.PAUSED, rucksack });
}
