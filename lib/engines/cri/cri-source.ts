// I/O: a CRI runtime (runtime.v1 RuntimeService over gRPC) as an EngineAdapter,
// in the kit's four parts: raw events (one GetContainerEvents stream, with
// resync markers), the list (containers + sandboxes, each inspected for its
// PID), inspect one (a verbose status) and info. Everything engine-shaped is
// decoded by the pure cri-normalize.ts.

import { existsSync } from 'node:fs';
import { Metadata, status as grpcStatus } from '@grpc/grpc-js';
import { type Observable, catchError, concatWith, defer, filter, firstValueFrom, forkJoin, map, mergeMap, of, throwError } from 'rxjs';
import type { EngineAdapter, EngineEvent, EngineInfo, ExitDetails } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { IntrospectionClient } from '../../gen/containerd/services/introspection/v1/introspection.js';
import { type ContainerEventResponse, ContainerState, type PodSandboxMetadata, PodSandboxState, RuntimeServiceClient, type VersionResponse } from '../../gen/cri/api.js';
import { grpcChannelConfig } from '../../grpc/channel.js';
import { isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { fromServerStream } from '../../grpc/server-stream.js';
import { type UnaryMethod, fromUnary, unaryTransport } from '../../grpc/unary.js';
import type { Container } from '../../model/container.js';
import { type AdapterOptions, packerOptions } from '../common/adapter-options.js';
import { type AdapterBase, type AdapterParts, adapterBase, defineAdapter } from '../common/define-adapter.js';
import { engineInfo } from '../common/engine-info.js';
import { inspectAll, inspectOneOf } from '../common/inspect-all.js';
import { LISTENING, type RawFeed } from '../common/start-hint.js';
import { CRI_TERMS, criEventsUnsupported, isCriNotFound, toCriError } from './cri-errors.js';
import {
  CRI_ENGINE,
  type CriContainerOptions,
  type CriEventResult,
  type CriExitHint,
  type CriStartHint,
  criExitDetails,
  criInfoSandboxId,
  criLabelSelector,
  normalizeCriContainer,
  normalizeCriEvent,
  normalizeCriSandbox,
} from './cri-normalize.js';
import { criResync } from './cri-resync.js';

/** Where CRI runtimes listen by default, tried in this order (containerd, cri-o, cri-dockerd), as crictl does. */
export const DEFAULT_CRI_ENDPOINTS: readonly string[] = Object.freeze([
  'unix:///run/containerd/containerd.sock',
  'unix:///run/crio/crio.sock',
  'unix:///var/run/cri-dockerd.sock',
]);

/** @internal Default time in ms between two periodic relists (CRI events are only hints). */
export const DEFAULT_CRI_RESYNC_INTERVAL = 30_000;

/** The kubelet runtime API version sent with `Version` (what crictl sends). */
const KUBE_RUNTIME_API_VERSION = '0.1.0';
/** Status calls in flight by default. */
const DEFAULT_CONCURRENCY = 16;

/** Options of {@link criAdapter} (and of `watchCri`). */
export interface CriOptions extends AdapterOptions, CriContainerOptions {
  /**
   * The CRI runtime's socket: `unix:///path`, `/path` (or `tcp://host:port`).
   * Default: `CONTAINER_RUNTIME_ENDPOINT`, else the first of
   * {@link DEFAULT_CRI_ENDPOINTS} that exists, else containerd's.
   */
  readonly endpoint?: string;
  /**
   * Time in ms from one relist to the next periodic one (default 30,000); `0`
   * or `Infinity` turns periodic relists off (the relists on (re)subscribe and
   * after the first event stay). CRI events are only hints: containerd 1.7
   * loses and replays events, and only a relist repairs that.
   */
  readonly resyncInterval?: number;
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

/** What to inspect: a sandbox, or a container with what is known of its pod. */
type Target =
  | { readonly kind: 'sandbox'; readonly id: string }
  | { readonly kind: 'container' | 'unknown'; readonly id: string; readonly sandboxId?: string | undefined; readonly sandbox?: PodSandboxMetadata | undefined };

/** Everything the four parts share: the kit's base and the generated client. */
interface CriClient extends AdapterBase {
  readonly runtime: RuntimeServiceClient;
  /** containerd's introspection service on the same channel: the daemon's UUID, the engine's id where the runtime is containerd. */
  readonly introspection: IntrospectionClient;
  readonly containerOptions: CriContainerOptions;
  readonly resyncInterval: number;
  /** The `label_selector` of both lists: the `key=value` entries of the `labels` option the runtime can match. */
  readonly labelSelector: Readonly<Record<string, string>>;
  /** One unary call through the kit. */
  unary<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res>;
  /** The same, `null` when the runtime says the container or sandbox is gone. */
  unaryOrNull<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res | null>;
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
 * headers, before), and every `resyncInterval` ms after the last one. Started containers
 * and sandboxes are checked with a verbose status call (for the PID, and
 * because containerd 1.7 replays stale events), up to `concurrency` at once,
 * in the engine's order; a start whose container is gone or stopped is dropped.
 * A runtime without `GetContainerEvents` (containerd 1.6) fails the stream
 * with an `EngineError` `unsupported`.
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
  const config = grpcChannelConfig(resolveCriEndpoint(options, options.env ?? process.env), { engine: CRI_ENGINE });
  const base = adapterBase(options, { terms: CRI_TERMS, endpoint: config.endpoint, concurrency: DEFAULT_CONCURRENCY, toError: toCriError, isNotFound: isCriNotFound });
  const { calls } = base;
  const runtime = new RuntimeServiceClient(config.target, config.credentials, config.options);
  return {
    ...base,
    runtime,
    introspection: new IntrospectionClient(config.target, config.credentials, { channelOverride: runtime.getChannel() }),
    containerOptions: packerOptions(options),
    resyncInterval: options.resyncInterval ?? DEFAULT_CRI_RESYNC_INTERVAL,
    labelSelector: criLabelSelector(base.settings.labels),
    unary: (what, method, request) => calls.request(what, unaryTransport(method, request)),
    unaryOrNull: (what, method, request) => calls.request(what, unaryTransport(method, request), { notFound: 'null' }),
    dispose() {
      if (calls.disposed) return;
      calls.dispose();
      runtime.close();
    },
  };
}

function version(client: CriClient): Observable<VersionResponse> {
  return client.unary('asking for the runtime version', client.runtime.version.bind(client.runtime), { version: KUBE_RUNTIME_API_VERSION });
}

// ------------------------------------------------------------------------------------------ raw events

/** One event stream, normalised, with a `listening` whenever a relist is due (see {@link criResync}). */
function criEvents(client: CriClient): Observable<RawFeed<CriStartHint>> {
  return defer(() => {
    if (client.calls.disposed) return throwError(() => client.errors.closed('watching container events'));
    const stream$ = fromServerStream<ContainerEventResponse>(() => client.runtime.getContainerEvents({})).pipe(
      concatWith(throwError(() => client.errors.streamEnded('watching container events (GetContainerEvents)'))),
      catchError((err: unknown) => eventsFailed(client, err)),
    );
    return stream$.pipe(
      // the Version round trip, made after the stream was opened, also tells a non-CRI peer apart before any list
      criResync<ContainerEventResponse, typeof LISTENING>({ marker: LISTENING, interval: client.resyncInterval, scheduler: client.settings.scheduler, gate$: version(client) }),
      map((item): CriEventResult | typeof LISTENING => (item === LISTENING ? LISTENING : normalizeCriEvent(item as ContainerEventResponse, client.settings.scheduler.now()))),
      filter((item): item is NonNullable<CriEventResult> | typeof LISTENING => item !== null),
      // a STOPPED without its container's status: ask for it, in the engine's order (nothing overtakes it)
      orderedMergeMap((item): Observable<RawFeed<CriStartHint>> => (item.type === 'exit-status' ? exitOf(client, item) : of(item)), client.settings.concurrency),
    );
  });
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
 * The list: running containers and ready sandboxes, each inspected (the PID is
 * only in the verbose status). With a label selector the runtime lists only
 * the matching ones; the pods of matching containers whose sandbox does not
 * match are then looked up with one more (unfiltered) sandbox list, never one
 * call per container.
 */
function criList(client: CriClient): Observable<readonly Container[]> {
  const { runtime } = client;
  const labelSelector = { ...client.labelSelector };
  const selective = Object.keys(labelSelector).length > 0;
  const listPods = (what: string, selector: Record<string, string>) =>
    client.unary(what, runtime.listPodSandbox.bind(runtime), selective ? { filter: { id: '', labelSelector: selector } } : {});
  return forkJoin([
    client.unary('listing running containers', runtime.listContainers.bind(runtime), {
      filter: { id: '', podSandboxId: '', labelSelector, state: { state: ContainerState.CONTAINER_RUNNING } },
    }),
    // all (matching) sandboxes: the ready ones are containers, and every one names the pod of its containers
    listPods('listing pod sandboxes', labelSelector),
  ]).pipe(
    mergeMap(([listed, pods]) => {
      const known = new Set(pods.items.map((p) => p.id));
      const missing = selective && listed.containers.some((c) => c.podSandboxId !== '' && !known.has(c.podSandboxId));
      const all$ = missing ? listPods('listing all pod sandboxes (for the pods of matching containers)', {}) : of(pods);
      return all$.pipe(map((all) => [listed, pods, all] as const));
    }),
    mergeMap(([listed, pods, all]) => {
      const podById = new Map(all.items.map((p) => [p.id, p]));
      const targets: Target[] = [];
      for (const p of pods.items) if (p.state === PodSandboxState.SANDBOX_READY && p.id !== '') targets.push({ kind: 'sandbox', id: p.id });
      for (const c of listed.containers) {
        if (c.state !== ContainerState.CONTAINER_RUNNING || c.id === '') continue;
        const pod = podById.get(c.podSandboxId);
        targets.push({ kind: 'container', id: c.id, sandboxId: c.podSandboxId === '' ? undefined : c.podSandboxId, sandbox: pod?.metadata });
      }
      return inspectAll(targets, inspectOneOf((target: Target) => criInspect(client, target)), client.settings.concurrency);
    }),
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
