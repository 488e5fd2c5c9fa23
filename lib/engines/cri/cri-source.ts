// I/O: a CRI runtime (runtime.v1 RuntimeService over gRPC) as an EngineAdapter,
// in the kit's four parts: raw events (one GetContainerEvents stream, with
// resync markers), the list (containers + sandboxes, each inspected for its
// PID), inspect one (a verbose status) and info. Everything engine-shaped is
// decoded by the pure cri-normalize.ts.

import { existsSync } from 'node:fs';
import { Metadata, status as grpcStatus } from '@grpc/grpc-js';
import { Observable, catchError, concatWith, defer, filter, forkJoin, map, merge, mergeMap, of, tap, throwError } from 'rxjs';
import type { EngineAdapter, EngineEvent, EngineInfo, ExitDetails } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { IntrospectionClient } from '../../gen/containerd/services/introspection/v1/introspection.js';
import { ContainersClient } from '../../gen/containerd/services/containers/v1/containers.js';
import { TasksClient } from '../../gen/containerd/services/tasks/v1/tasks.js';
import { type ContainerEventResponse, ContainerState, type PodSandboxMetadata, PodSandboxState, RuntimeServiceClient, type VersionResponse } from '../../gen/cri/api.js';
import { grpcChannelConfig } from '../../grpc/channel.js';
import { connectionControls, grpcConnection, withCurrentClients } from '../../grpc/grpc-connection.js';
import { isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { fromServerStream } from '../../grpc/server-stream.js';
import { type UnaryMethod, fromUnary, unaryTransport } from '../../grpc/unary.js';
import type { Container } from '../../model/container.js';
import type { Portfolio } from '../../model/portfolio.js';
import { type AdapterOptions, deadPeerTimeoutOf, packerOptions } from '../common/adapter-options.js';
import { type AdapterBase, type AdapterParts, adapterBase, defineAdapter } from '../common/define-adapter.js';
import { DEAD_PEER_WHAT, deadPeerCheck } from '../common/dead-peer.js';
import { engineInfo } from '../common/engine-info.js';
import { inspectAll, inspectOneOf } from '../common/inspect-all.js';
import { LISTENING, type RawFeed } from '../common/start-hint.js';
import { StartTimes } from '../common/start-times.js';
import { isContainerdTaskAlive } from '../containerd/containerd-normalize.js';
import { metadataFor } from '../containerd/containerd-source.js';
import { CRI_TERMS, criEventsUnsupported, isCriNotFound, toCriError } from './cri-errors.js';
import {
  CRI_ENGINE,
  type CriContainerOptions,
  type CriEventResult,
  type CriExitHint,
  type CriRecordDetails,
  type CriStartHint,
  criExitDetails,
  criInfoSandboxId,
  criLabelSelector,
  criRecordDetails,
  criVerbosePid,
  normalizeCriContainer,
  normalizeCriEvent,
  normalizeCriListedContainer,
  normalizeCriListedSandbox,
  normalizeCriSandbox,
} from './cri-normalize.js';
import { criResync } from './cri-resync.js';

/**
 * Where CRI runtimes listen by default, tried in this order (containerd, cri-o, cri-dockerd), as crictl does.
 *
 * @example
 * ```ts
 * import { DEFAULT_CRI_ENDPOINTS, watchCri } from 'whalewatcher';
 * const crio = DEFAULT_CRI_ENDPOINTS.find((e) => e.includes('crio')) ?? 'unix:///run/crio/crio.sock';
 * const ww = watchCri({ endpoint: crio }); // cri-o, even where containerd's socket exists
 * await ww.close();
 * ```
 */
export const DEFAULT_CRI_ENDPOINTS: readonly string[] = Object.freeze([
  'unix:///run/containerd/containerd.sock',
  'unix:///run/crio/crio.sock',
  'unix:///var/run/cri-dockerd.sock',
]);

/** @internal Default `resyncInterval` of CRI in ms (CRI events are only hints). */
export const DEFAULT_CRI_RESYNC_INTERVAL = 30_000;

/** The kubelet runtime API version sent with `Version` (what crictl sends). */
const KUBE_RUNTIME_API_VERSION = '0.1.0';
/** Status calls in flight by default. */
const DEFAULT_CONCURRENCY = 16;
/** The `runtime_name` of containerd's CRI plugin in `Version`: its socket also serves containerd's native API. */
const CONTAINERD_RUNTIME_NAME = 'containerd';
/** The containerd namespace of CRI's containers and sandboxes (task id = CRI container or sandbox id). */
const CRI_CONTAINERD_NAMESPACE = 'k8s.io';

/**
 * Options of {@link criAdapter} (and of `watchCri`).
 *
 * @example
 * ```ts
 * import { watchCri, type CriOptions } from 'whalewatcher';
 * // cri-o, relisted every 10 s, each container's image reference in its rucksack
 * const options: CriOptions = {
 *   endpoint: 'unix:///run/crio/crio.sock',
 *   resyncInterval: 10_000,
 *   packer: (raw) => (raw.kind === 'container' ? raw.status.imageRef : undefined),
 * };
 * const ww = watchCri(options);
 * await ww.close();
 * ```
 */
export interface CriOptions extends AdapterOptions, CriContainerOptions {
  /**
   * The CRI runtime's socket: `unix:///path`, `/path` (or `tcp://host:port`).
   * Default: `CONTAINER_RUNTIME_ENDPOINT`, else the first of
   * {@link DEFAULT_CRI_ENDPOINTS} that exists, else containerd's.
   */
  readonly endpoint?: string;
}

/**
 * The endpoint to use: the option, else `CONTAINER_RUNTIME_ENDPOINT`, else the
 * first of {@link DEFAULT_CRI_ENDPOINTS} whose socket exists, else the first.
 *
 * @example
 * ```ts
 * import { resolveCriEndpoint } from 'whalewatcher';
 * console.log(resolveCriEndpoint({}, { CONTAINER_RUNTIME_ENDPOINT: 'unix:///run/crio/crio.sock' }));
 * ```
 */
export function resolveCriEndpoint(
  options: Pick<CriOptions, 'endpoint'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  exists: (path: string) => boolean = existsSync,
): string {
  if (options.endpoint !== undefined && options.endpoint.trim() !== '') return options.endpoint;
  const fromEnv = env['CONTAINER_RUNTIME_ENDPOINT'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv;
  for (const endpoint of DEFAULT_CRI_ENDPOINTS) {
    if (exists(endpoint.replace(/^unix:\/\//, ''))) return endpoint;
  }
  return DEFAULT_CRI_ENDPOINTS[0] as string;
}

/** What to inspect: a sandbox, or a container with what is known of its pod; `known` when the lists and the task list made it whole already. */
type Target =
  | { readonly kind: 'sandbox'; readonly id: string; readonly known?: Container | undefined }
  | {
      readonly kind: 'container' | 'unknown';
      readonly id: string;
      readonly sandboxId?: string | undefined;
      readonly sandbox?: PodSandboxMetadata | undefined;
      readonly known?: Container | undefined;
    };

/**
 * What containerd's native API (same socket, namespace `k8s.io`) tells about
 * all of CRI's containers and sandboxes in two calls: the PID of every alive
 * task (RUNNING or PAUSED) and each record's image and privileged flag.
 */
interface CriNativeView {
  /** PIDs by CRI container or sandbox id (the task id), alive tasks only. */
  readonly pids: ReadonlyMap<string, number>;
  /** Image and privileged flag by CRI container or sandbox id. */
  readonly details: ReadonlyMap<string, CriRecordDetails>;
}

/** Everything the four parts share: the kit's base and the generated client. */
interface CriClient extends AdapterBase {
  readonly runtime: RuntimeServiceClient;
  /** containerd's native Tasks and Containers services on the same channel (answered only when the runtime is containerd). */
  readonly tasks: TasksClient;
  readonly records: ContainersClient;
  /**
   * Start times seen in verbose statuses (start inspections, lists without
   * the task list), by container id with the PID, so that a list from the
   * task list (which has none) keeps them. An entry goes with its container's
   * exit and with every list that no longer has it.
   */
  readonly startTimes: StartTimes<bigint>;
  /** The `runtime_name` of the runtime's last `Version` answer (`containerd`: its native API serves the PIDs), once known. */
  readonly runtimeName: { value: string | undefined };
  /** containerd's introspection service on the same channel: the daemon's UUID, the engine's id where the runtime is containerd. */
  readonly introspection: IntrospectionClient;
  readonly containerOptions: CriContainerOptions;
  /** The `label_selector` of both lists: the `key=value` entries of the `labels` option the runtime can match. */
  readonly labelSelector: Readonly<Record<string, string>>;
  /** One unary call through the kit. */
  unary<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res>;
  /** The same, `null` when the runtime says the container or sandbox is gone. */
  unaryOrNull<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res | null>;
  /** One unary call of containerd's native API in CRI's namespace `k8s.io`. */
  native<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res>;
  /** Swaps the channel of every client for a fresh one (its connection went dead). */
  dropConnection(): void;
  dispose(): void;
}

/**
 * An {@link EngineAdapter} for a CRI runtime (containerd 1.7+ with its CRI
 * plugin, cri-o, …) over the CRI v1 `RuntimeService`. Pod sandboxes are
 * containers too (label `io.kubernetes.sandbox`). Cold: `events()` and
 * `snapshot()` make their calls on subscribe and cancel every call in flight on
 * unsubscribe; `dispose()` closes the gRPC channel.
 *
 * `events()` keeps ONE `GetContainerEvents` stream per subscription and treats
 * its events as hints: it emits `listening` (so the watcher relists) once the
 * runtime answered `Version` after the stream was opened (events that arrive
 * earlier follow it), again after the stream's first event if that came later
 * (it proves the stream is registered: the runtime sends nothing, not even
 * headers, before); the watcher relists every `resyncInterval` ms too. A
 * relist asks for a status only of containers and sandboxes the watcher's
 * picture lacks (CRI ids are never reused: a restart is a new container), so
 * a relist of an unchanged picture is the two list calls. Started containers
 * and sandboxes are checked with a verbose status call (for the PID, and
 * because containerd 1.7 replays stale events), up to `concurrency` at once,
 * in the engine's order; a start whose container is gone or stopped is dropped.
 * A runtime without `GetContainerEvents` (containerd 1.6) fails the stream
 * with an `EngineError` `unsupported`. A stream silent for a third of
 * `deadPeerTimeout` gets a `Version` call on the same connection that must
 * answer within another third, or the connection is dropped and the stream
 * fails as `unreachable`.
 *
 * `snapshot()` lists running containers and ready sandboxes; when `Version`
 * names containerd, their PIDs come from one `Tasks.List` (and images from
 * one `Containers.List`) of containerd's native API in namespace `k8s.io` on
 * the same socket, else (and for ids the task list lacks, and with a
 * `packer`) from a verbose status per entry; a relist asks the task list only
 * when more than two entries the picture lacks need a PID. `startedAt` is only in a verbose
 * status: the adapter keeps those it saw for later lists.
 *
 * @throws EngineError `config` when the endpoint is unusable.
 *
 * @example
 * ```ts
 * import { criAdapter, watch } from 'whalewatcher';
 * const ww = watch(criAdapter({ endpoint: 'unix:///run/containerd/containerd.sock' }));
 * await ww.ready;
 * console.log(ww.portfolio.total, (await ww.info()).version);
 * await ww.close();
 * ```
 */
export function criAdapter(options: CriOptions = {}): EngineAdapter {
  return defineAdapter(criClient(options), CRI_PARTS);
}

/** The CRI adapter's four parts. */
const CRI_PARTS: AdapterParts<CriClient, CriStartHint> = {
  rawEvents: criEvents,
  list: criList,
  inspect: (client, hint) => criInspect(client, hint.kind === 'sandbox' ? { kind: 'sandbox', id: hint.id } : { kind: hint.kind, id: hint.id, sandboxId: hint.sandboxId, sandbox: hint.sandbox }),
  info: criInfo,
  exit: criExit,
};

/** Resolves the endpoint and sets up the client (no I/O yet). */
function criClient(options: CriOptions): CriClient {
  const config = grpcChannelConfig(resolveCriEndpoint(options, options.env ?? process.env), { engine: CRI_ENGINE, deadPeerTimeout: deadPeerTimeoutOf(options) });
  const base = adapterBase(options, { terms: CRI_TERMS, endpoint: config.endpoint, concurrency: DEFAULT_CONCURRENCY, resyncInterval: DEFAULT_CRI_RESYNC_INTERVAL, toError: toCriError, isNotFound: isCriNotFound });
  const { calls } = base;
  // one channel (one connection) for the CRI service and containerd's native services, swapped for a fresh one after a dead peer; closed by dispose()
  const connection = grpcConnection(config, (shared) => ({
    runtime: new RuntimeServiceClient(config.target, config.credentials, shared),
    tasks: new TasksClient(config.target, config.credentials, shared),
    records: new ContainersClient(config.target, config.credentials, shared),
    introspection: new IntrospectionClient(config.target, config.credentials, shared),
  }));
  return withCurrentClients(
    {
      ...base,
      runtimeName: { value: undefined },
      startTimes: new StartTimes<bigint>(),
      containerOptions: packerOptions(options),
      labelSelector: criLabelSelector(base.settings.labels),
      unary: (what, method, request) => calls.request(what, unaryTransport(method, request)),
      unaryOrNull: (what, method, request) => calls.request(what, unaryTransport(method, request), { notFound: 'null' }),
      native: (what, method, request) => calls.request(what, unaryTransport(method, request, metadataFor(CRI_CONTAINERD_NAMESPACE))),
      ...connectionControls(connection, calls),
    },
    connection,
  );
}

function version(client: CriClient): Observable<VersionResponse> {
  return client
    .unary('asking for the runtime version', client.runtime.version.bind(client.runtime), { version: KUBE_RUNTIME_API_VERSION })
    .pipe(tap((v) => (client.runtimeName.value = v.runtimeName)));
}

// ------------------------------------------------------------------------------------------ raw events

/** One event stream, normalised, with a `listening` whenever a relist is due (see {@link criResync}). */
function criEvents(client: CriClient): Observable<RawFeed<CriStartHint>> {
  return defer(() => {
    if (client.calls.disposed) return throwError(() => client.errors.closed('watching container events'));
    const { scheduler } = client.settings;
    // When the stream last received anything (scheduler time).
    let heard = scheduler.now();
    const stream$ = merge(
      fromServerStream<ContainerEventResponse>(() => client.runtime.getContainerEvents({})).pipe(
        tap(() => (heard = scheduler.now())),
        concatWith(throwError(() => client.errors.streamEnded('watching container events (GetContainerEvents)'))),
      ),
      deadPeer(client, () => heard),
    ).pipe(catchError((err: unknown) => eventsFailed(client, err)));
    return stream$.pipe(
      // the Version round trip, made after the stream was opened, also tells a non-CRI peer apart before any list
      criResync<ContainerEventResponse, typeof LISTENING>({ marker: LISTENING, gate$: version(client) }),
      map((item): CriEventResult | typeof LISTENING => (item === LISTENING ? LISTENING : normalizeCriEvent(item as ContainerEventResponse, client.settings.scheduler.now()))),
      filter((item): item is NonNullable<CriEventResult> | typeof LISTENING => item !== null),
      // a STOPPED without its container's status: ask for it, in the engine's order (nothing overtakes it)
      orderedMergeMap((item): Observable<RawFeed<CriStartHint>> => (item.type === 'exit-status' ? exitOf(client, item) : of(item)), client.settings.concurrency),
      tap((item) => {
        if (item.type === 'exited') client.startTimes.exited(item.id);
      }),
    );
  });
}

/**
 * The kit's dead-peer check of the event stream: CRI streams nothing of its
 * own while nothing happens, so once the stream was silent for a third of
 * `deadPeerTimeout` a `Version` call on the same connection must answer
 * within another third, or the connection is dropped and the stream fails as
 * `unreachable` (the peer vanished without closing it). Never emits.
 */
function deadPeer(client: CriClient, heard: () => number): Observable<never> {
  const { settings, errors } = client;
  return new Observable<never>((subscriber) =>
    deadPeerCheck({
      bound: settings.deadPeerTimeout,
      scheduler: settings.scheduler,
      errors,
      heard,
      probe: () => client.unary(DEAD_PEER_WHAT, client.runtime.version.bind(client.runtime), { version: KUBE_RUNTIME_API_VERSION }),
      drop: () => client.dropConnection(),
      fail: (err) => subscriber.error(toCriError(err, client.endpoint, DEAD_PEER_WHAT)),
    }),
  );
}

/** The `exited` of a STOPPED whose event lacked the container's status: with the details of a status call, without them when it fails or the container is gone. */
function exitOf(client: CriClient, hint: CriExitHint): Observable<EngineEvent> {
  return criExit(client, hint.id).pipe(
    // the exit itself is certain: never hold it back or fail the stream for its details
    catchError(() => of(null)),
    map((exit): EngineEvent => Object.freeze(exit === null ? { type: 'exited', id: hint.id, time: hint.time } : { type: 'exited', id: hint.id, time: hint.time, exit })),
  );
}

/** How a container ended, from its (non-verbose) status: `null` while it runs, or once it is gone (sandboxes have none). */
function criExit(client: CriClient, id: string): Observable<ExitDetails | null> {
  const { runtime } = client;
  return client
    .unaryOrNull(`asking for the exit of container ${id.slice(0, 12)}`, runtime.containerStatus.bind(runtime), { containerId: id, verbose: false })
    .pipe(map((res) => (res?.status === undefined ? null : (criExitDetails(res.status) ?? null))));
}

/** Explains a failed event stream: UNIMPLEMENTED from a runtime that answers `Version` is a runtime without GetContainerEvents. */
function eventsFailed(client: CriClient, err: unknown): Observable<never> {
  if (isGrpcServiceError(err) && err.code === grpcStatus.UNIMPLEMENTED && !/unknown service/i.test(err.details)) {
    return version(client).pipe(mergeMap((v) => throwError(() => criEventsUnsupported(client.endpoint, `${v.runtimeName} ${v.runtimeVersion}`.trim(), err))));
  }
  return throwError(() => toCriError(err, client.endpoint, 'watching container events (GetContainerEvents)'));
}

// ------------------------------------------------------------------------------------------ list

/**
 * The list: running containers and ready sandboxes with their PIDs. CRI has
 * the PID only in the verbose status of each; when the runtime is containerd
 * (and no packer wants the verbose statuses), containerd's own task list in
 * `k8s.io` has them all in one call ({@link criNativeView}), and only the ids
 * it lacks (started after it) are inspected one by one. With a label
 * selector the runtime lists only the matching ones; the pods of matching
 * containers whose sandbox does not match are then looked up with one more
 * (unfiltered) sandbox list, never one call per container. On a relist
 * (`previous`), what the picture already has (same id: the same process, CRI
 * never restarts a container in place) is reused and needs no PID: the
 * native calls are made only when more entries lack one than they cost
 * (else those few get a verbose status each), so a relist of an unchanged
 * picture is the two list calls on containerd too.
 */
function criList(client: CriClient, previous?: Portfolio): Observable<readonly Container[]> {
  const { runtime } = client;
  const labelSelector = { ...client.labelSelector };
  const selective = Object.keys(labelSelector).length > 0;
  const listPods = (what: string, selector: Record<string, string>) =>
    client.unary(what, runtime.listPodSandbox.bind(runtime), selective ? { filter: { id: '', labelSelector: selector } } : {});
  // a packer is promised the verbose statuses: then every entry is inspected, as without containerd
  const native$ = client.containerOptions.packer === undefined ? criNativeView(client) : of(null);
  const lists$ = forkJoin([
    client.unary('listing running containers', runtime.listContainers.bind(runtime), {
      filter: { id: '', podSandboxId: '', labelSelector, state: { state: ContainerState.CONTAINER_RUNNING } },
    }),
    // all (matching) sandboxes: the ready ones are containers, and every one names the pod of its containers
    listPods('listing pod sandboxes', labelSelector),
  ]);
  // the first list asks the task list at once, beside the two lists; a relist only once the lists show that
  // more entries lack a PID than the task list costs calls (else their verbose statuses are the cheaper way)
  const listed$ =
    previous === undefined
      ? forkJoin([lists$, native$]).pipe(map(([[listed, pods], native]) => [listed, pods, native] as const))
      : lists$.pipe(
          mergeMap(([listed, pods]) => {
            const lacking = lackingPids(listed.containers, pods.items, previous);
            return (lacking > NATIVE_VIEW_CALLS ? native$ : of(null)).pipe(map((native) => [listed, pods, native] as const));
          }),
        );
  return listed$.pipe(
    mergeMap(([listed, pods, native]) => {
      const known = new Set(pods.items.map((p) => p.id));
      const missing = selective && listed.containers.some((c) => c.podSandboxId !== '' && !known.has(c.podSandboxId));
      const all$ = missing ? listPods('listing all pod sandboxes (for the pods of matching containers)', {}) : of(pods);
      return all$.pipe(map((all) => [listed, pods, all, native] as const));
    }),
    mergeMap(([listed, pods, all, native]) => {
      const podById = new Map(all.items.map((p) => [p.id, p]));
      const targets: Target[] = [];
      for (const p of pods.items) {
        if (p.state !== PodSandboxState.SANDBOX_READY || p.id === '') continue;
        const pid = native?.pids.get(p.id);
        const known = pid === undefined ? undefined : (normalizeCriListedSandbox(p, pid, native?.details.get(p.id)) ?? undefined);
        targets.push({ kind: 'sandbox', id: p.id, known });
      }
      for (const c of listed.containers) {
        if (c.state !== ContainerState.CONTAINER_RUNNING || c.id === '') continue;
        const pod = podById.get(c.podSandboxId);
        const pid = native?.pids.get(c.id);
        const startedAt = client.startTimes.of(c.id, pid);
        const known = pid === undefined ? undefined : (normalizeCriListedContainer(c, pid, pod?.metadata, native?.details.get(c.id), startedAt) ?? undefined);
        targets.push({ kind: 'container', id: c.id, sandboxId: c.podSandboxId === '' ? undefined : c.podSandboxId, sandbox: pod?.metadata, known });
      }
      // the entries the task list made whole answer at once; the others (or all, without it) get a verbose status;
      // on a relist, what the picture has needs neither (same id: the same process, CRI never restarts a container in place)
      const reuse = previous === undefined ? undefined : (target: Target) => previous.byIdOnly(target.id);
      return inspectAll(targets, inspectOneOf((target: Target) => (target.known !== undefined ? of(target.known) : criInspect(client, target))), client.settings.concurrency, (target) => target.id, reuse);
    }),
    tap((alive) => {
      // forget the start times of containers this list no longer has (their exits were missed)
      client.startTimes.keepOnly(new Set(alive.map((c) => c.id)));
    }),
  );
}

/** The calls {@link criNativeView} makes (Tasks.List and Containers.List). */
const NATIVE_VIEW_CALLS = 2;

/**
 * How many entries of a relist's two lists need a PID: the ready sandboxes
 * and running containers the picture lacks (CRI ids are never reused: one the
 * picture has is the same process, its PID known).
 */
function lackingPids(containers: readonly { readonly id: string; readonly state: ContainerState }[], pods: readonly { readonly id: string; readonly state: PodSandboxState }[], previous: Portfolio): number {
  let lacking = 0;
  for (const p of pods) if (p.state === PodSandboxState.SANDBOX_READY && p.id !== '' && previous.byIdOnly(p.id) === undefined) lacking += 1;
  for (const c of containers) if (c.state === ContainerState.CONTAINER_RUNNING && c.id !== '' && previous.byIdOnly(c.id) === undefined) lacking += 1;
  return lacking;
}

/**
 * The PIDs (and images, privileged flags) of CRI's containers and sandboxes
 * from containerd's native API on the same socket, in two calls whatever
 * their number: one `Tasks.List` and one `Containers.List` in namespace
 * `k8s.io`, where containerd's CRI plugin keeps them (task id = CRI id). Only
 * when `Version` names containerd as the runtime; `null` otherwise, and when
 * a native call fails (not served, refused, …): the caller then asks each
 * entry's verbose status, as for any CRI runtime. Also what a relist can use
 * to learn PIDs without a status call per container.
 */
function criNativeView(client: CriClient): Observable<CriNativeView | null> {
  const { tasks, records } = client;
  const view$ = forkJoin([
    client.native('listing containerd tasks in namespace k8s.io (for the PIDs)', tasks.list.bind(tasks), { filter: '' }),
    client.native('listing containerd containers in namespace k8s.io (for images)', records.list.bind(records), { filters: [] }),
  ]).pipe(
    map(([listedTasks, listedRecords]): CriNativeView => {
      const pids = new Map<string, number>();
      for (const task of listedTasks.tasks) {
        // Tasks.List puts the container id in `id` and leaves `container_id` empty
        const id = task.containerId !== '' ? task.containerId : task.id;
        if (id !== '' && isContainerdTaskAlive(task.status) && Number.isInteger(task.pid) && task.pid > 0) pids.set(id, task.pid);
      }
      const details = new Map<string, CriRecordDetails>();
      for (const record of listedRecords.containers) details.set(record.id, criRecordDetails(record));
      return { pids, details };
    }),
    // not served, refused, or not understood: the verbose statuses still work
    catchError(() => of(null)),
  );
  // the runtime's name as of the last Version answer (the event stream asks before every list): no extra round trip
  const runtime = client.runtimeName.value;
  if (runtime !== undefined) return runtime === CONTAINERD_RUNTIME_NAME ? view$ : of(null);
  return version(client).pipe(
    catchError(() => of(null)),
    mergeMap((v) => (v?.runtimeName === CONTAINERD_RUNTIME_NAME ? view$ : of(null))),
  );
}

// ------------------------------------------------------------------------------------------ inspect one

/** A container or sandbox as it is now: alive (with its PID), or `null` when it is gone or not running (a stale, replayed start). */
function criInspect(client: CriClient, target: Target): Observable<Container | null> {
  return target.kind === 'sandbox' ? inspectSandbox(client, target.id) : inspectContainer(client, target);
}

function inspectSandbox(client: CriClient, id: string): Observable<Container | null> {
  const { runtime } = client;
  return client.unaryOrNull(`asking for the status of pod sandbox ${id.slice(0, 12)}`, runtime.podSandboxStatus.bind(runtime), { podSandboxId: id, verbose: true }).pipe(
    map((res) => (res?.status === undefined ? null : normalizeCriSandbox({ kind: 'sandbox', status: res.status, info: res.info }, client.containerOptions))),
  );
}

function inspectContainer(client: CriClient, target: Target & { kind: 'container' | 'unknown' }): Observable<Container | null> {
  const { runtime } = client;
  return client.unaryOrNull(`asking for the status of container ${target.id.slice(0, 12)}`, runtime.containerStatus.bind(runtime), { containerId: target.id, verbose: true }).pipe(
    mergeMap((res) => {
      if (res?.status === undefined) {
        // an unknown kind of start may have been a sandbox's
        return target.kind === 'unknown' ? inspectSandbox(client, target.id) : of(null);
      }
      const status = res.status;
      if (status.state !== ContainerState.CONTAINER_RUNNING) return of(null);
      if (status.startedAt > 0n) {
        const pid = criVerbosePid(res.info);
        if (pid !== undefined) client.startTimes.seen(target.id, pid, status.startedAt);
      }
      const sandboxId = target.sandboxId ?? criInfoSandboxId(res.info);
      const pod$ = target.sandbox !== undefined || sandboxId === undefined ? of(target.sandbox) : podOf(client, sandboxId);
      return pod$.pipe(map((sandbox) => normalizeCriContainer({ kind: 'container', status, info: res.info, sandboxId, sandbox }, client.containerOptions)));
    }),
  );
}

/** The pod metadata of a sandbox (non-verbose status), or undefined when it is gone. */
function podOf(client: CriClient, sandboxId: string): Observable<PodSandboxMetadata | undefined> {
  const { runtime } = client;
  return client
    .unaryOrNull(`looking up pod sandbox ${sandboxId.slice(0, 12)}`, runtime.podSandboxStatus.bind(runtime), { podSandboxId: sandboxId, verbose: false })
    .pipe(map((res) => res?.status?.metadata));
}

// ------------------------------------------------------------------------------------------ info

/**
 * The runtime's name and version, and an id that is stable and unique per
 * engine: the runtime name is not (every containerd says `containerd`), so
 * where the runtime is containerd (1.5+) the id is the daemon's UUID from
 * introspection on the same socket (kept in its root folder across restarts;
 * the same id as the daemon's native API, whose `type` differs), else the
 * runtime name. Cold.
 */
function criInfo(client: CriClient): Observable<EngineInfo> {
  const uuid$ = client.calls
    .call('asking for the daemon identity', () => fromUnary(client.introspection.server.bind(client.introspection), {}, new Metadata()))
    .pipe(
      map((server) => server.uuid),
      // not containerd (cri-o), or a containerd before 1.5: no UUID, the runtime name stays the id
      catchError(() => of('')),
    );
  return forkJoin([version(client), uuid$]).pipe(
    map(([v, uuid]) => {
      if (v.runtimeName === '' && v.runtimeVersion === '') {
        throw client.errors.of('protocol', 'asking for the runtime version', 'a Version answer without a runtime name or version');
      }
      return engineInfo({ id: uuid !== '' ? uuid : v.runtimeName, type: 'k8s.io/cri-api', version: v.runtimeVersion, api: client.endpoint, pid: client.pid, product: v.runtimeName });
    }),
  );
}
