// I/O: containerd's native gRPC API as an EngineAdapter, in the kit's four
// parts: raw events (proven by a published probe), the list (namespaces →
// containers + tasks), inspect one (container record + task of a start) and
// info. Everything engine-shaped is decoded by the pure containerd-normalize.ts.

import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { Observable, Subject, Subscription, catchError, defer, filter, forkJoin, from, ignoreElements, map, merge, mergeMap, of, repeat, timer, toArray } from 'rxjs';
import type { EngineAdapter, EngineInfo } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { ContainersClient, type Container as ContainerRecord } from '../../gen/containerd/services/containers/v1/containers.js';
import { type Envelope, EventsClient } from '../../gen/containerd/services/events/v1/events.js';
import { IntrospectionClient } from '../../gen/containerd/services/introspection/v1/introspection.js';
import { NamespacesClient } from '../../gen/containerd/services/namespaces/v1/namespace.js';
import { TasksClient } from '../../gen/containerd/services/tasks/v1/tasks.js';
import { VersionClient } from '../../gen/containerd/services/version/v1/version.js';
import type { Process } from '../../gen/containerd/types/task/task.js';
import { grpcChannelConfig } from '../../grpc/channel.js';
import { connectionControls, grpcConnection, withCurrentClients } from '../../grpc/grpc-connection.js';
import { fromServerStream } from '../../grpc/server-stream.js';
import { type UnaryMethod, fromUnary, unaryTransport } from '../../grpc/unary.js';
import type { Container } from '../../model/container.js';
import { type AdapterOptions, deadPeerTimeoutOf, packerOptions } from '../common/adapter-options.js';
import { type AdapterBase, type AdapterParts, adapterBase, defineAdapter } from '../common/define-adapter.js';
import { DEAD_PEER_WHAT, deadPeerCheck } from '../common/dead-peer.js';
import { engineInfo } from '../common/engine-info.js';
import { StartTimes } from '../common/start-times.js';
import { isGrpcNotFound } from '../common/grpc-engine-error.js';
import { OomNotes } from '../common/oom-notes.js';
import { LISTENING, type RawFeed } from '../common/start-hint.js';
import { CONTAINERD_TERMS, toContainerdError } from './containerd-errors.js';
import {
  CONTAINERD_DEFAULT_NAMESPACE,
  CONTAINERD_ENGINE,
  CONTAINERD_EVENT_FILTERS,
  CONTAINERD_PROBE_TOPIC,
  type ContainerdContainerOptions,
  type ContainerdEventResult,
  type ContainerdStartHint,
  containerdDisplayId,
  containerdLabelFilters,
  containerdNamespaceFilter,
  normalizeContainerdEvent,
  normalizeContainerdTask,
} from './containerd-normalize.js';

/**
 * Where containerd listens unless told otherwise (and `CONTAINERD_ADDRESS` is unset).
 *
 * @example
 * ```ts
 * import { DEFAULT_CONTAINERD_ADDRESS, resolveContainerdAddress } from 'whalewatcher';
 * console.log(resolveContainerdAddress({}, {}) === DEFAULT_CONTAINERD_ADDRESS); // true
 * ```
 */
export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';

/** gRPC metadata key that selects the containerd namespace of a call. */
const NAMESPACE_HEADER = 'containerd-namespace';
/** Type URL of the probe payload (containerd passes Any payloads through untouched). */
const PROBE_TYPE_URL = 'whalewatcher.Probe';
/** @internal Default `resyncInterval` of containerd in ms: a relist is the namespace list and two list calls per namespace, no look-up. */
export const DEFAULT_CONTAINERD_RESYNC_INTERVAL = 30_000;
/** Look-ups in flight by default. */
const DEFAULT_CONCURRENCY = 16;
/** Most `/tasks/oom` notes kept per event stream for exits still to come. */
const MAX_OOM_NOTES = 1024;

/**
 * Options of {@link containerdAdapter} (and of `watchContainerd`).
 *
 * @example
 * ```ts
 * import { watchContainerd, type ContainerdOptions } from 'whalewatcher';
 * // nerdctl's default namespace only, each container's snapshotter in its rucksack
 * const options: ContainerdOptions = { namespaces: ['default'], packer: ({ container }) => container?.snapshotter };
 * const ww = watchContainerd(options);
 * await ww.close();
 * ```
 */
export interface ContainerdOptions extends AdapterOptions, ContainerdContainerOptions<ContainerRecord, Process> {
  /**
   * containerd's socket: `/path`, `unix:///path` (or `tcp://host:port`). Default:
   * `CONTAINERD_ADDRESS`, else {@link DEFAULT_CONTAINERD_ADDRESS}.
   */
  readonly address?: string;
  /**
   * containerd namespaces to leave out. Default `['moby', 'k8s.io']` (Docker's
   * and CRI's, better watched through their own APIs), but only without
   * `namespaces`: with an allow-list nothing else is left out unless given here.
   */
  readonly ignoreNamespaces?: readonly string[];
  /**
   * Watch only these containerd namespaces (less any `ignoreNamespaces`).
   * Default: every namespace but the ignored ones. `['k8s.io']` alone watches
   * CRI's namespace, despite the default ignore list.
   */
  readonly namespaces?: readonly string[];
  /** Longest interval in ms between re-sent subscription probes (they start at 5 ms and double up to this; default 100). */
  readonly probeInterval?: number;
}

/**
 * The address to use: the option, else `CONTAINERD_ADDRESS`, else the default socket.
 *
 * @example
 * ```ts
 * import { resolveContainerdAddress } from 'whalewatcher';
 * console.log(resolveContainerdAddress({}, { CONTAINERD_ADDRESS: '/run/k3s/containerd/containerd.sock' }));
 * ```
 */
export function resolveContainerdAddress(options: Pick<ContainerdOptions, 'address'>, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (options.address !== undefined && options.address.trim() !== '') return options.address;
  const fromEnv = env['CONTAINERD_ADDRESS'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : DEFAULT_CONTAINERD_ADDRESS;
}

/** Everything the four parts share: the kit's base and the generated clients on one channel. */
interface ContainerdClient extends AdapterBase {
  /** True for the namespaces this adapter covers (`namespaces` less `ignoreNamespaces`). */
  readonly watched: (namespace: string) => boolean;
  /** The `Containers.List` filters of the `labels` option; `[]`: list all. */
  readonly listFilters: readonly string[];
  /**
   * Start times learnt from `/tasks/start` events (containerd records none), by
   * whalewatcher id with the task's PID, so that a relist (after a reconnect)
   * keeps them. Set by the start look-up; an entry goes with its container's
   * exit and with every list that no longer has it, so it never outgrows the
   * containers seen alive.
   */
  readonly startTimes: StartTimes<number>;
  readonly containerOptions: ContainerdContainerOptions<ContainerRecord, Process>;
  readonly probeInterval: number;
  readonly events: EventsClient;
  readonly namespaces: NamespacesClient;
  readonly containers: ContainersClient;
  readonly tasks: TasksClient;
  readonly version: VersionClient;
  readonly introspection: IntrospectionClient;
  /** One unary call in `namespace` (none: a global call) through the kit. */
  unary<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, namespace: string | undefined): Observable<Res>;
  /** The same, `null` when containerd answers NOT_FOUND. */
  unaryOrNull<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, namespace: string | undefined): Observable<Res | null>;
  /** Swaps the channel of every client for a fresh one (its connection went dead). */
  dropConnection(): void;
  dispose(): void;
}

/**
 * An {@link EngineAdapter} for containerd's native gRPC API, covering all
 * namespaces except the ignored ones (default `moby` and `k8s.io`). Cold:
 * `events()` and `snapshot()` make their calls on subscribe and cancel every
 * call still in flight on unsubscribe; `dispose()` closes the one gRPC channel
 * all its clients share.
 *
 * `events()` subscribes to `/tasks/start`, `/tasks/exit`, `/tasks/paused` and
 * `/tasks/resumed`, then publishes a probe event (re-sent every
 * `probeInterval` ms) and emits `listening` once a probe comes back on the
 * stream: containerd sends nothing on a new subscription until its first
 * event, so that is the only proof that nothing will be missed. Starts are
 * inspected (container record and task) with up to `concurrency` calls in
 * flight, and events still come out in the engine's order. containerd keeps
 * no event history: a reopened stream cannot replay a gap (the watcher's
 * relist covers it). A stream silent for a third of `deadPeerTimeout`
 * publishes a heartbeat probe that must come back within another third, or
 * it fails as `unreachable` (the peer vanished without closing the connection).
 *
 * @throws EngineError `config` when the address is unusable.
 *
 * @example
 * ```ts
 * import { containerdAdapter, watch } from 'whalewatcher';
 * const ww = watch(containerdAdapter({ address: '/run/containerd/containerd.sock', ignoreNamespaces: ['moby'] }));
 * await ww.ready;
 * console.log(ww.portfolio.total, (await ww.info()).version);
 * await ww.close();
 * ```
 */
export function containerdAdapter(options: ContainerdOptions = {}): EngineAdapter {
  return defineAdapter(containerdClient(options), CONTAINERD_PARTS);
}

/** The containerd adapter's four parts. */
const CONTAINERD_PARTS: AdapterParts<ContainerdClient, ContainerdStartHint> = {
  rawEvents: containerdEvents,
  list: containerdList,
  inspect: containerdInspect,
  info: containerdInfo,
};

/** Resolves the address and sets up the clients on one channel (no I/O yet). */
function containerdClient(options: ContainerdOptions): ContainerdClient {
  const config = grpcChannelConfig(resolveContainerdAddress(options, options.env ?? process.env), { engine: CONTAINERD_ENGINE, deadPeerTimeout: deadPeerTimeoutOf(options) });
  const base = adapterBase(options, { terms: CONTAINERD_TERMS, endpoint: config.endpoint, concurrency: DEFAULT_CONCURRENCY, resyncInterval: DEFAULT_CONTAINERD_RESYNC_INTERVAL, toError: toContainerdError, isNotFound: isGrpcNotFound });
  const { calls } = base;
  // one channel (one connection) shared by all clients, swapped for a fresh one after a dead peer; closed by dispose()
  const connection = grpcConnection(config, (shared) => ({
    events: new EventsClient(config.target, config.credentials, shared),
    namespaces: new NamespacesClient(config.target, config.credentials, shared),
    containers: new ContainersClient(config.target, config.credentials, shared),
    tasks: new TasksClient(config.target, config.credentials, shared),
    version: new VersionClient(config.target, config.credentials, shared),
    introspection: new IntrospectionClient(config.target, config.credentials, shared),
  }));
  return withCurrentClients(
    {
      ...base,
      watched: containerdNamespaceFilter(options.namespaces, options.ignoreNamespaces),
      // what containerd cannot be told (never, in practice) the kit filters anyway
      listFilters: containerdLabelFilters(base.settings.labels) ?? [],
      startTimes: new StartTimes<number>(),
      containerOptions: packerOptions(options),
      probeInterval: Math.max(1, options.probeInterval ?? 100),
      unary: (what, method, request, namespace) => calls.request(what, unaryTransport(method, request, metadataFor(namespace))),
      unaryOrNull: (what, method, request, namespace) => calls.request(what, unaryTransport(method, request, metadataFor(namespace)), { notFound: 'null' }),
      ...connectionControls(connection, calls),
    },
    connection,
  );
}

/** @internal The gRPC metadata of a call in containerd `namespace` (none: a global call); the CRI adapter's native calls use it too. */
export function metadataFor(namespace: string | undefined): Metadata {
  const md = new Metadata();
  if (namespace !== undefined) md.set(NAMESPACE_HEADER, namespace);
  return md;
}

// ------------------------------------------------------------------------------------------ raw events

/** Subscribe, prove the subscription with probes, then `listening` and the normalised envelopes in engine order. */
function containerdEvents(client: ContainerdClient): Observable<RawFeed<ContainerdStartHint>> {
  const { errors, settings, endpoint } = client;
  return new Observable<RawFeed<ContainerdStartHint>>((subscriber) => {
    if (client.calls.disposed) {
      subscriber.error(errors.closed('watching the event stream'));
      return;
    }
    const probeId = Buffer.from(`${randomUUID()}`);
    const work = new Subscription();
    // True once our probe came back: from then on events count.
    let listening = false;
    // Containers whose cgroup hit the OOM killer since we listen: their next exit is `oomKilled`.
    const ooms = new OomNotes({ max: MAX_OOM_NOTES });
    /** The probes and their deadline: both end once a probe came back. */
    const probing = new Subscription();
    work.add(probing);
    const fail = (err: unknown, what: string) => {
      if (!subscriber.closed) subscriber.error(toContainerdError(err, endpoint, what));
    };
    // When the stream last received anything (scheduler time).
    let heard = settings.scheduler.now();
    // Probe payloads that came back on the stream (a heartbeat's echo is the dead-peer check's proof that the peer is there).
    const echoes = new Subject<Uint8Array>();

    work.add(
      fromServerStream(() => client.events.subscribe({ filters: [...CONTAINERD_EVENT_FILTERS] })).subscribe({
        next: (envelope: Envelope) => {
          heard = settings.scheduler.now();
          if (envelope.topic === CONTAINERD_PROBE_TOPIC) {
            if (envelope.event !== undefined) echoes.next(envelope.event.value);
            // ours or another watcher's probe: never part of the feed
            if (!listening && envelope.event !== undefined && probeId.equals(envelope.event.value)) {
              listening = true;
              probing.unsubscribe();
              subscriber.next(LISTENING);
              if (!subscriber.closed) work.add(deadPeerWatch());
            }
            return;
          }
          // before the probe came back: the list that follows `listening` covers it
          if (!listening) return;
          let result: ContainerdEventResult;
          try {
            result = normalizeContainerdEvent(envelope, { watched: client.watched, fallbackTime: settings.scheduler.now() });
          } catch (err) {
            fail(err, 'decoding an event');
            return;
          }
          // the exit after an OOM note is an OOM kill; a (re)start forgets an older note
          const item = ooms.apply(result);
          if (item === null) return;
          if (item.type === 'exited') client.startTimes.exited(item.id);
          subscriber.next(item);
        },
        error: (err: unknown) => fail(err, 'watching the event stream'),
        complete: () => fail(errors.streamEnded('watching the event stream'), 'watching the event stream'),
      }),
    );
    if (subscriber.closed) return work;

    const publishProbe = (value: Buffer = probeId, what = 'publishing the subscription probe') =>
      client.unary(what, client.events.publish.bind(client.events), { topic: CONTAINERD_PROBE_TOPIC, event: { typeUrl: PROBE_TYPE_URL, value } }, CONTAINERD_DEFAULT_NAMESPACE);
    /** The kit's dead-peer check over a heartbeat probe: published, and proven when it comes back on this stream. */
    const deadPeerWatch = (): Subscription =>
      deadPeerCheck({
        bound: settings.deadPeerTimeout,
        scheduler: settings.scheduler,
        errors,
        heard: () => heard,
        probe: () =>
          defer(() => {
            const heartbeat = Buffer.from(randomUUID());
            return merge(publishProbe(heartbeat, 'publishing a heartbeat probe').pipe(ignoreElements()), echoes.pipe(filter((echo) => heartbeat.equals(echo))));
          }),
        drop: () => client.dropConnection(),
        fail: (err) => fail(err, DEAD_PEER_WHAT),
      });
    // one probe at a time (a slow Publish on a cold connection is not piled up
    // on), re-sent after 5, 10, 20, … ms up to probeInterval: the first one is
    // often published before containerd registered the subscription
    probing.add(
      defer(() => publishProbe())
        .pipe(repeat({ delay: (count: number) => timer(Math.min(client.probeInterval, 5 * 2 ** (count - 1)), settings.scheduler) }))
        .subscribe({ error: (err: unknown) => fail(err, 'publishing the subscription probe') }),
    );
    probing.add(
      timer(settings.requestTimeout, settings.scheduler).subscribe(() =>
        fail(errors.timedOut('waiting for the subscription probe to come back', settings.requestTimeout), 'waiting for the subscription probe'),
      ),
    );
    return work;
  });
}

// ------------------------------------------------------------------------------------------ list

/**
 * The list: every watched namespace, each listed with up to `concurrency`
 * namespaces at once. It needs no look-up (the task list has the PID and the
 * status), so a relist costs the same calls whatever the picture.
 */
function containerdList(client: ContainerdClient): Observable<readonly Container[]> {
  return client.unary('listing namespaces', client.namespaces.list.bind(client.namespaces), { filter: '' }, undefined).pipe(
    mergeMap((answer) =>
      from(answer.namespaces.map((n) => n.name).filter((name) => name !== '' && client.watched(name))).pipe(
        orderedMergeMap((ns) => listNamespace(client, ns), client.settings.concurrency),
        toArray(),
      ),
    ),
    map((perNamespace) => {
      const all = perNamespace.flat();
      // forget the start times of containers this list no longer has (their exits were missed)
      client.startTimes.keepOnly(new Set(all.map((c) => c.id)));
      return Object.freeze(all);
    }),
  );
}

/**
 * The alive containers of one namespace: its container records (only those
 * matching the `labels` option: containerd filters them) joined with its
 * tasks (no inspection needed).
 */
function listNamespace(client: ContainerdClient, ns: string): Observable<Container[]> {
  const filtered = client.listFilters.length > 0;
  return forkJoin([
    client.unary(`listing containers in namespace ${ns}`, client.containers.list.bind(client.containers), { filters: [...client.listFilters] }, ns),
    client.unary(`listing tasks in namespace ${ns}`, client.tasks.list.bind(client.tasks), { filter: '' }, ns),
  ]).pipe(
    map(([containers, tasks]) => {
      const records = new Map<string, ContainerRecord>();
      for (const c of containers.containers) records.set(c.id, c);
      const alive: Container[] = [];
      for (const task of tasks.tasks) {
        // Tasks.List puts the container id in `id` and leaves `container_id` empty
        const cid = task.containerId !== '' ? task.containerId : task.id;
        if (cid === '') continue;
        const record = records.get(cid);
        // filtered out by containerd (a task without a record has no labels to match either)
        if (filtered && record === undefined) continue;
        const startedAt = client.startTimes.of(containerdDisplayId(ns, cid), task.pid);
        const container = normalizeContainerdTask(ns, record, task, client.containerOptions, cid, startedAt);
        if (container !== null) alive.push(container);
      }
      return alive;
    }),
  );
}

// ------------------------------------------------------------------------------------------ inspect one

/** A `/tasks/start` made whole: the container record (labels) and its task; `null` when either is gone or not alive. */
function containerdInspect(client: ContainerdClient, hint: ContainerdStartHint): Observable<Container | null> {
  const ns = hint.namespace;
  const about = `container ${hint.containerId} in namespace ${ns}`;
  return forkJoin([
    client.unaryOrNull(`inspecting ${about}`, client.containers.get.bind(client.containers), { id: hint.containerId }, ns),
    client.unaryOrNull(`inspecting the task of ${about}`, client.tasks.get.bind(client.tasks), { containerId: hint.containerId, execId: '' }, ns),
  ]).pipe(
    map(([got, task]) => {
      const record = got?.container;
      const process = task?.process;
      // gone already, or another incarnation of the task by now (its own start follows)
      if (record === undefined || process === undefined || (hint.pid !== 0 && process.pid !== hint.pid)) return null;
      // containerd records no start time: the /tasks/start event's time is it (and later lists reuse it)
      const container = normalizeContainerdTask(ns, record, process, client.containerOptions, hint.containerId, hint.time);
      if (container !== null) client.startTimes.seen(container.id, container.pid, hint.time);
      return container;
    }),
  );
}

// ------------------------------------------------------------------------------------------ info

/** The version, and the server UUID where containerd has introspection's `Server()` (1.5 and later). Cold. */
function containerdInfo(client: ContainerdClient): Observable<EngineInfo> {
  return forkJoin([
    client.unary('asking for the version', client.version.version.bind(client.version), {}, undefined),
    client.calls.call('asking for the server identity', () =>
      fromUnary(client.introspection.server.bind(client.introspection), {}, metadataFor(undefined)).pipe(
        // containerd before 1.5 has no introspection Server(); one in an unprivileged container fails it
        // (UNKNOWN: `stat /proc/1/ns/pid: permission denied`, seen here): no UUID then, the version tells it is containerd
        catchError(() => of(null)),
      ),
    ),
  ]).pipe(map(([version, server]) => engineInfo({ id: server?.uuid ?? '', type: 'containerd.io', version: version.version, api: client.endpoint, pid: client.pid, product: 'containerd' })));
}
