// Pure: containerd event envelopes, container records and tasks → whalewatcher's
// model. No I/O, no node:* and no grpc-js imports (only the generated protobuf
// message codecs, which need nothing but @bufbuild/protobuf): the Any payloads of
// events are decoded here. Table-tested with frozen fixtures.

import type { EngineEvent, ExitDetails } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { decodeError as kitDecodeError } from '../common/decode.js';
import type { LabelSelector } from '../common/label-selector.js';
import type { OomMark } from '../common/oom-notes.js';
import type { StartHint } from '../common/start-hint.js';
import { TaskExit, TaskOOM, TaskPaused, TaskResumed, TaskStart } from '../../gen/containerd/events/task.js';
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

/**
 * Label nerdctl keeps a container's name in.
 *
 * @example
 * ```ts
 * import { NERDCTL_NAME_LABEL, watchContainerd } from 'whalewatcher';
 * const ww = watchContainerd();
 * await ww.ready;
 * console.log(ww.portfolio.containers.filter((c) => NERDCTL_NAME_LABEL in c.labels).map((c) => c.name)); // nerdctl's containers
 * await ww.close();
 * ```
 */
export const NERDCTL_NAME_LABEL = 'nerdctl/name';

/** The task event topics the adapter subscribes to (`/tasks/oom` only marks the exit that follows it). */
const CONTAINERD_TASK_TOPICS: readonly string[] = Object.freeze(['/tasks/start', '/tasks/exit', '/tasks/oom', '/tasks/paused', '/tasks/resumed']);

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
  /** The image reference the container was made from (e.g. `docker.io/library/busybox:lab`). */
  readonly image?: string | undefined;
  /** When the container (record) was created: a protobuf `Timestamp` (64-bit seconds as bigint). */
  readonly createdAt?: { readonly seconds: bigint; readonly nanos: number } | undefined;
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

/**
 * A `/tasks/oom`: the kernel's OOM killer struck in the container's cgroup.
 * Not an exit (the container may live on); the source remembers it and marks
 * the container's next exit `oomKilled`. `id` is whalewatcher's id.
 *
 * @internal
 */
export type ContainerdOomNote = OomMark & { readonly type: 'oom' };

/** @internal What one envelope turns into: an engine event, a start to inspect, an OOM note, or nothing (`null`). */
export type ContainerdEventResult = EngineEvent | ContainerdStartHint | ContainerdOomNote | null;

/** @internal Options of {@link normalizeContainerdEvent}. */
export interface ContainerdEventOptions {
  /** Namespaces whose events are dropped (default {@link DEFAULT_IGNORED_NAMESPACES}, none when `namespaces` is given). */
  readonly ignoreNamespaces?: ReadonlySet<string> | readonly string[] | undefined;
  /** When given, only these namespaces' events are kept (less the ignored ones). */
  readonly namespaces?: ReadonlySet<string> | readonly string[] | undefined;
  /** ms since the epoch used when the envelope has no timestamp (the caller's clock); default 0. */
  readonly fallbackTime?: number | undefined;
  /** The namespace filter made once by {@link containerdNamespaceFilter} (then `namespaces` and `ignoreNamespaces` are not read). */
  readonly watched?: ((namespace: string) => boolean) | undefined;
}

/** What the packer of the containerd adapter gets: the raw (generated) records of one alive container. @inline */
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
export function parseContainerdDisplayId(displayId: string): {
  /** The containerd namespace. */
  readonly namespace: string;
  /** The container's id in that namespace. */
  readonly id: string;
} {
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

function asSet(names: ReadonlySet<string> | readonly string[]): ReadonlySet<string> {
  return names instanceof Set ? names : new Set(names as readonly string[]);
}

/**
 * Which namespaces a containerd watcher covers, from its `namespaces`
 * allow-list and its `ignoreNamespaces`: a namespace is watched when it is in
 * `namespaces` (or `namespaces` is not given) and not ignored. The ignored
 * ones default to {@link DEFAULT_IGNORED_NAMESPACES} only without an
 * allow-list: naming `k8s.io` in `namespaces` is enough to watch it.
 *
 * @internal
 */
export function containerdNamespaceFilter(
  namespaces: ReadonlySet<string> | readonly string[] | undefined,
  ignoreNamespaces: ReadonlySet<string> | readonly string[] | undefined,
): (namespace: string) => boolean {
  const ignored = ignoreNamespaces !== undefined ? asSet(ignoreNamespaces) : namespaces === undefined ? DEFAULT_IGNORED_SET : NO_NAMESPACES;
  if (namespaces === undefined) return (ns) => !ignored.has(ns);
  const allowed = asSet(namespaces);
  return (ns) => allowed.has(ns) && !ignored.has(ns);
}
const DEFAULT_IGNORED_SET: ReadonlySet<string> = new Set(DEFAULT_IGNORED_NAMESPACES);
const NO_NAMESPACES: ReadonlySet<string> = new Set();

/** A protobuf timestamp as a Date, or undefined when it is missing, zero or unreadable. */
function timestampDate(timestamp: ContainerdTimestamp | undefined): Date | undefined {
  const ms = containerdEventTime(timestamp, 0);
  return ms > 0 ? new Date(ms) : undefined;
}

/** @internal How a task's init process ended: `TaskExit.exit_status` (137 for SIGKILL) and `exited_at` (the OOM note is the event stream's to add). */
export function containerdExitDetails(exit: { readonly exitStatus: number; readonly exitedAt?: ContainerdTimestamp | undefined }): ExitDetails {
  const details: { -readonly [K in keyof ExitDetails]: ExitDetails[K] } = { code: exit.exitStatus };
  const time = timestampDate(exit.exitedAt);
  if (time !== undefined) details.time = time;
  return Object.freeze(details);
}

/**
 * The `labels` option as a containerd `Containers.List` filter: one filter
 * string whose selectors (comma-separated: all must match) are
 * `labels."key"==value` or, for a key alone, `labels."key"` (presence), keys
 * and values quoted as Go strings. `[]` without selectors; `undefined` when
 * an entry cannot be quoted for containerd (a lone surrogate), so the caller
 * lists everything and filters client-side.
 *
 * @internal
 */
export function containerdLabelFilters(selectors: readonly LabelSelector[]): string[] | undefined {
  if (selectors.length === 0) return [];
  const parts: string[] = [];
  for (const s of selectors) {
    if (!isWellFormed(s.key) || (s.value !== undefined && !isWellFormed(s.value))) return undefined;
    // JSON's string escapes (\", \\, \n, \uXXXX, …) are all Go string escapes containerd's filter scanner accepts
    parts.push(s.value === undefined ? `labels.${JSON.stringify(s.key)}` : `labels.${JSON.stringify(s.key)}==${JSON.stringify(s.value)}`);
  }
  return [parts.join(',')];
}

/** True when `s` has no lone surrogate (containerd's Go strings are UTF-8). */
function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

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
 *   exit has the exec id in `id` and leaves the container alive. Its `exit`
 *   has `code` (`exit_status`: 137 for a SIGKILL) and `time` (`exited_at`);
 * - `/tasks/oom` → a {@link ContainerdOomNote} (the source marks the next exit `oomKilled`);
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
  if (!(options.watched ?? containerdNamespaceFilter(options.namespaces, options.ignoreNamespaces))(namespace)) return null;
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
      return Object.freeze({ type: 'exited', id: containerdDisplayId(namespace, containerId), time, exit: containerdExitDetails(exit) });
    }
    case '/tasks/oom': {
      const oom = payload(envelope, 'TaskOOM', TaskOOM);
      return Object.freeze({ type: 'oom', id: containerdDisplayId(namespace, requireContainerId(envelope, oom.containerId)), time });
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
 * (`Tasks.List` puts the container id in `id`). `image` and `createdAt` come
 * from the record; `startedAt` is given by the caller (containerd records no
 * start time: the adapter passes the time of the `/tasks/start` event it
 * inspected for that task, and nothing for tasks it never saw start). The rucksack is
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
  startedAt?: number,
): Container | null {
  if (!isContainerdTaskAlive(task.status) || !Number.isInteger(task.pid) || task.pid <= 0) return null;
  const cid = containerId ?? (task.containerId !== undefined && task.containerId !== '' ? task.containerId : task.id);
  const id = containerdDisplayId(namespace, cid);
  const labels = container?.labels ?? {};
  const nerdName = Object.prototype.hasOwnProperty.call(labels, NERDCTL_NAME_LABEL) ? labels[NERDCTL_NAME_LABEL] : undefined;
  const name = typeof nerdName === 'string' && nerdName !== '' ? containerdDisplayId(namespace, nerdName) : id;

  const rucksack = options.packer === undefined ? undefined : packRucksack(options.packer, Object.freeze({ namespace, container, task }), id, options.onPackerError);
  return newContainer({
    id,
    name,
    labels,
    pid: task.pid,
    paused: task.status === Status.PAUSED,
    rucksack,
    image: container?.image,
    createdAt: timestampDate(container?.createdAt),
    startedAt: startedAt !== undefined && startedAt > 0 ? new Date(startedAt) : undefined,
  });
}
