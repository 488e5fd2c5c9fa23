// I/O: containerd's native gRPC API as an EngineAdapter. Everything
// engine-shaped is decoded by the pure containerd-normalize.ts; this file only
// makes calls, keeps order, and proves the event subscription is in place.

import { randomUUID } from 'node:crypto';
import { Channel, Metadata } from '@grpc/grpc-js';
import {
  EMPTY,
  Observable,
  type SchedulerLike,
  Subscription,
  asyncScheduler,
  catchError,
  defer,
  repeat,
  firstValueFrom,
  forkJoin,
  from,
  map,
  mergeMap,
  of,
  throwError,
  timeout,
  timer,
  toArray,
} from 'rxjs';
import type { EngineAdapter, EngineFeed, EngineInfo } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { EngineError } from '../../errors.js';
import type { Container } from '../../model/container.js';
import { ContainersClient, type Container as ContainerRecord } from '../../gen/containerd/services/containers/v1/containers.js';
import { type Envelope, EventsClient } from '../../gen/containerd/services/events/v1/events.js';
import { IntrospectionClient } from '../../gen/containerd/services/introspection/v1/introspection.js';
import { NamespacesClient } from '../../gen/containerd/services/namespaces/v1/namespace.js';
import { TasksClient } from '../../gen/containerd/services/tasks/v1/tasks.js';
import { VersionClient } from '../../gen/containerd/services/version/v1/version.js';
import type { Process } from '../../gen/containerd/types/task/task.js';
import { grpcChannelConfig } from '../../grpc/channel.js';
import { fromServerStream } from '../../grpc/server-stream.js';
import { type UnaryMethod, fromUnary } from '../../grpc/unary.js';
import { isContainerdNotFound, toContainerdError } from './containerd-errors.js';
import {
  CONTAINERD_DEFAULT_NAMESPACE,
  CONTAINERD_ENGINE,
  CONTAINERD_EVENT_FILTERS,
  CONTAINERD_PROBE_TOPIC,
  type ContainerdContainerOptions,
  type ContainerdEventResult,
  type ContainerdStartHint,
  DEFAULT_IGNORED_NAMESPACES,
  normalizeContainerdEvent,
  normalizeContainerdTask,
} from './containerd-normalize.js';

/** Where containerd listens unless told otherwise (and `CONTAINERD_ADDRESS` is unset). */
export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';

/** gRPC metadata key that selects the containerd namespace of a call. */
const NAMESPACE_HEADER = 'containerd-namespace';
/** Type URL of the probe payload (containerd passes Any payloads through untouched). */
const PROBE_TYPE_URL = 'whalewatcher.Probe';

/** Options of {@link containerdAdapter} (and of `watchContainerd`). */
export interface ContainerdOptions extends ContainerdContainerOptions<ContainerRecord, Process> {
  /**
   * containerd's socket: `/path`, `unix:///path` (or `tcp://host:port`). Default:
   * `CONTAINERD_ADDRESS`, else {@link DEFAULT_CONTAINERD_ADDRESS}.
   */
  readonly address?: string;
  /** containerd namespaces to leave out (default `['moby', 'k8s.io']`: Docker's and CRI's, better watched through their own APIs). */
  readonly ignoreNamespaces?: readonly string[];
  /** The engine's PID, reported by `info()`. */
  readonly pid?: number;
  /** Most lookups in flight at once: container records for `/tasks/start`, namespaces listed in parallel (default 16). */
  readonly concurrency?: number;
  /** Longest wait in ms for one answer (a call, or the probe proving the event subscription); default 30,000. */
  readonly requestTimeout?: number;
  /** Longest interval in ms between re-sent subscription probes (they start at 5 ms and double up to this; default 100). */
  readonly probeInterval?: number;
  /** Scheduler for timeouts, the probe and the time of events that carry none. */
  readonly scheduler?: SchedulerLike;
  /** Environment to read `CONTAINERD_ADDRESS` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const LISTENING: EngineFeed = Object.freeze({ type: 'listening' });

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

function metadataFor(namespace: string | undefined): Metadata {
  const md = new Metadata();
  if (namespace !== undefined) md.set(NAMESPACE_HEADER, namespace);
  return md;
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
 * looked up (labels, task state) with up to `concurrency` calls in flight,
 * and events still come out in the engine's order.
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
  const config = grpcChannelConfig(resolveContainerdAddress(options, options.env ?? process.env), { engine: CONTAINERD_ENGINE });
  const endpoint = config.endpoint;
  const scheduler = options.scheduler ?? asyncScheduler;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 16));
  const requestTimeout = options.requestTimeout ?? 30_000;
  const probeInterval = Math.max(1, options.probeInterval ?? 100);
  const ignored: ReadonlySet<string> = new Set(options.ignoreNamespaces ?? DEFAULT_IGNORED_NAMESPACES);
  const containerOptions: ContainerdContainerOptions<ContainerRecord, Process> = { packer: options.packer, onPackerError: options.onPackerError };

  // one channel (one connection) shared by all clients; closed by dispose()
  const channel = new Channel(config.target, config.credentials, config.options);
  const shared = { channelOverride: channel };
  const eventsClient = new EventsClient(config.target, config.credentials, shared);
  const namespacesClient = new NamespacesClient(config.target, config.credentials, shared);
  const containersClient = new ContainersClient(config.target, config.credentials, shared);
  const tasksClient = new TasksClient(config.target, config.credentials, shared);
  const versionClient = new VersionClient(config.target, config.credentials, shared);
  const introspectionClient = new IntrospectionClient(config.target, config.credentials, shared);
  let disposed = false;

  const closedError = (what: string) => new EngineError(CONTAINERD_ENGINE, 'closed', `the containerd adapter for ${endpoint} was disposed before ${what}`, { endpoint });

  /**
   * One unary call as a cold observable: cancelled on unsubscribe, bounded by
   * `requestTimeout`, errors mapped. `notFound` turns NOT_FOUND into `null`.
   */
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, namespace: string | undefined, core: boolean): Observable<Res>;
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, namespace: string | undefined, core: boolean, notFound: 'null'): Observable<Res | null>;
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, namespace: string | undefined, core: boolean, notFound?: 'null'): Observable<Res | null> {
    return defer(() => (disposed ? throwError(() => closedError(what)) : fromUnary(method, request, metadataFor(namespace)))).pipe(
      timeout({
        first: requestTimeout,
        scheduler,
        with: () => throwError(() => new EngineError(CONTAINERD_ENGINE, 'engine', `containerd at ${endpoint} did not answer within ${requestTimeout} ms while ${what}: is it overloaded or hung?`, { endpoint })),
      }),
      catchError((err: unknown) => (notFound === 'null' && isContainerdNotFound(err) ? of(null) : throwError(() => toContainerdError(err, endpoint, what, core)))),
    );
  }

  /** A `/tasks/start` made whole: the container record (labels) and its task; nothing when either is gone or not alive. */
  function lookup(hint: ContainerdStartHint): Observable<EngineFeed> {
    const ns = hint.namespace;
    const about = `container ${hint.containerId} in namespace ${ns}`;
    return forkJoin([
      call(`looking up ${about}`, containersClient.get.bind(containersClient), { id: hint.containerId }, ns, true, 'null'),
      call(`looking up the task of ${about}`, tasksClient.get.bind(tasksClient), { containerId: hint.containerId, execId: '' }, ns, true, 'null'),
    ]).pipe(
      mergeMap(([got, task]) => {
        const record = got?.container;
        const process = task?.process;
        // gone already, or another incarnation of the task by now (its own start follows)
        if (record === undefined || process === undefined || (hint.pid !== 0 && process.pid !== hint.pid)) return EMPTY;
        const container = normalizeContainerdTask(ns, record, process, containerOptions, hint.containerId);
        return container === null ? EMPTY : of<EngineFeed>(Object.freeze({ type: 'started', container, time: hint.time }));
      }),
    );
  }

  /** Subscribe, prove the subscription with probes, then `listening` and the normalised envelopes in engine order. */
  function rawEvents(): Observable<EngineFeed | Exclude<ContainerdEventResult, null>> {
    return new Observable<EngineFeed | Exclude<ContainerdEventResult, null>>((subscriber) => {
      if (disposed) {
        subscriber.error(closedError('watching the event stream'));
        return;
      }
      const probeId = Buffer.from(`${randomUUID()}`);
      const work = new Subscription();
      let listening = false;
      /** The probes and their deadline: both end once a probe came back. */
      const probing = new Subscription();
      work.add(probing);
      const fail = (err: unknown, what: string) => {
        if (!subscriber.closed) subscriber.error(toContainerdError(err, endpoint, what, true));
      };

      work.add(
        fromServerStream(() => eventsClient.subscribe({ filters: [...CONTAINERD_EVENT_FILTERS] })).subscribe({
          next: (envelope: Envelope) => {
            if (envelope.topic === CONTAINERD_PROBE_TOPIC) {
              // ours or another watcher's probe: never part of the feed
              if (!listening && envelope.event !== undefined && probeId.equals(envelope.event.value)) {
                listening = true;
                probing.unsubscribe();
                subscriber.next(LISTENING);
              }
              return;
            }
            // before the probe came back: the list that follows `listening` covers it
            if (!listening) return;
            let result: ContainerdEventResult;
            try {
              result = normalizeContainerdEvent(envelope, { ignoreNamespaces: ignored, fallbackTime: scheduler.now() });
            } catch (err) {
              fail(err, 'decoding an event');
              return;
            }
            if (result !== null) subscriber.next(result);
          },
          error: (err: unknown) => fail(err, 'watching the event stream'),
          complete: () =>
            fail(new EngineError(CONTAINERD_ENGINE, 'engine', `containerd at ${endpoint} ended the event stream (stopped or restarted?)`, { endpoint }), 'watching the event stream'),
        }),
      );
      if (subscriber.closed) return work;

      const publishProbe = () =>
        call(
          'publishing the subscription probe',
          eventsClient.publish.bind(eventsClient),
          { topic: CONTAINERD_PROBE_TOPIC, event: { typeUrl: PROBE_TYPE_URL, value: probeId } },
          CONTAINERD_DEFAULT_NAMESPACE,
          true,
        );
      // one probe at a time (a slow Publish on a cold connection is not piled up
      // on), re-sent after 5, 10, 20, … ms up to probeInterval: the first one is
      // often published before containerd registered the subscription
      probing.add(
        defer(() => publishProbe())
          .pipe(repeat({ delay: (count: number) => timer(Math.min(probeInterval, 5 * 2 ** (count - 1)), scheduler) }))
          .subscribe({ error: (err: unknown) => fail(err, 'publishing the subscription probe') }),
      );
      probing.add(
        timer(requestTimeout, scheduler).subscribe(() =>
          fail(
            new EngineError(CONTAINERD_ENGINE, 'engine', `containerd at ${endpoint} did not deliver the subscription probe within ${requestTimeout} ms: is it overloaded or hung?`, { endpoint }),
            'waiting for the subscription probe',
          ),
        ),
      );
      return work;
    });
  }

  /** The alive containers of one namespace: its container records joined with its tasks. */
  function listNamespace(ns: string): Observable<Container[]> {
    return forkJoin([
      call(`listing containers in namespace ${ns}`, containersClient.list.bind(containersClient), { filters: [] }, ns, true),
      call(`listing tasks in namespace ${ns}`, tasksClient.list.bind(tasksClient), { filter: '' }, ns, true),
    ]).pipe(
      map(([containers, tasks]) => {
        const records = new Map<string, ContainerRecord>();
        for (const c of containers.containers) records.set(c.id, c);
        const alive: Container[] = [];
        for (const task of tasks.tasks) {
          // Tasks.List puts the container id in `id` and leaves `container_id` empty
          const cid = task.containerId !== '' ? task.containerId : task.id;
          if (cid === '') continue;
          const container = normalizeContainerdTask(ns, records.get(cid), task, containerOptions, cid);
          if (container !== null) alive.push(container);
        }
        return alive;
      }),
    );
  }

  return {
    engine: CONTAINERD_ENGINE,
    endpoint,

    events(): Observable<EngineFeed> {
      return rawEvents().pipe(orderedMergeMap((item) => (item.type === 'lookup' ? lookup(item) : of(item)), concurrency));
    },

    snapshot(): Observable<readonly Container[]> {
      return call('listing namespaces', namespacesClient.list.bind(namespacesClient), { filter: '' }, undefined, true).pipe(
        mergeMap((answer) =>
          from(answer.namespaces.map((n) => n.name).filter((name) => name !== '' && !ignored.has(name))).pipe(
            orderedMergeMap(listNamespace, concurrency),
            toArray(),
          ),
        ),
        map((perNamespace) => Object.freeze(perNamespace.flat())),
      );
    },

    async info(): Promise<EngineInfo> {
      const [version, server] = await firstValueFrom(
        forkJoin([
          call('asking for the version', versionClient.version.bind(versionClient), {}, undefined, true),
          // containerd before 1.5 has no introspection Server(): no UUID then
          call('asking for the server identity', introspectionClient.server.bind(introspectionClient), {}, undefined, false).pipe(
            catchError((err: unknown) => (err instanceof EngineError && err.code === 'unsupported' ? of(null) : throwError(() => err))),
          ),
        ]),
      );
      return Object.freeze({
        id: server?.uuid ?? '',
        type: 'containerd.io' as const,
        version: version.version,
        api: endpoint,
        product: 'containerd',
        ...(options.pid === undefined ? {} : { pid: options.pid }),
      });
    },

    dispose(): void {
      if (disposed) return;
      disposed = true;
      channel.close();
    },
  };
}
