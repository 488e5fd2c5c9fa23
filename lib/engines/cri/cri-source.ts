// I/O: a CRI runtime (runtime.v1 RuntimeService over gRPC) as an EngineAdapter.
// Everything engine-shaped is decoded by the pure cri-normalize.ts; this file
// only makes calls, keeps order, and asks for resyncs.

import { existsSync } from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  EMPTY,
  Observable,
  type SchedulerLike,
  asyncScheduler,
  catchError,
  concatWith,
  defer,
  firstValueFrom,
  forkJoin,
  from,
  map,
  mergeMap,
  of,
  throwError,
  timeout,
  toArray,
} from 'rxjs';
import type { EngineAdapter, EngineFeed, EngineInfo } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { EngineError } from '../../errors.js';
import type { Container } from '../../model/container.js';
import {
  type ContainerEventResponse,
  ContainerState,
  type PodSandboxMetadata,
  PodSandboxState,
  RuntimeServiceClient,
  type VersionResponse,
} from '../../gen/cri/api.js';
import { grpcChannelConfig } from '../../grpc/channel.js';
import { isGrpcServiceError } from '../../grpc/grpc-errors.js';
import { fromServerStream } from '../../grpc/server-stream.js';
import { type UnaryMethod, fromUnary } from '../../grpc/unary.js';
import { criEventsUnsupported, isCriNotFound, toCriError } from './cri-errors.js';
import {
  CRI_ENGINE,
  type CriContainerOptions,
  type CriStartHint,
  criInfoSandboxId,
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

/** Options of {@link criAdapter} (and of `watchCri`). */
export interface CriOptions extends CriContainerOptions {
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
  /** The engine's PID, reported by `info()`. */
  readonly pid?: number;
  /** Most status calls in flight at once, for the list and for started events (default 16). */
  readonly concurrency?: number;
  /** Longest wait in ms for one answer (a list, a status, the version); default 30,000. */
  readonly requestTimeout?: number;
  /** Scheduler for timeouts, periodic relists and the time of events that carry none. */
  readonly scheduler?: SchedulerLike;
  /** Environment to read `CONTAINER_RUNTIME_ENDPOINT` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const LISTENING: EngineFeed = Object.freeze({ type: 'listening' });

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
  const config = grpcChannelConfig(resolveCriEndpoint(options, options.env ?? process.env), { engine: CRI_ENGINE });
  const endpoint = config.endpoint;
  const scheduler = options.scheduler ?? asyncScheduler;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 16));
  const requestTimeout = options.requestTimeout ?? 30_000;
  const resyncInterval = options.resyncInterval ?? DEFAULT_CRI_RESYNC_INTERVAL;
  const containerOptions: CriContainerOptions = { packer: options.packer, onPackerError: options.onPackerError };
  const client = new RuntimeServiceClient(config.target, config.credentials, config.options);
  let disposed = false;

  const closedError = (what: string) => new EngineError(CRI_ENGINE, 'closed', `the CRI adapter for ${endpoint} was disposed before ${what}`, { endpoint });

  /** One unary call as a cold observable: cancelled on unsubscribe, bounded by `requestTimeout`, errors mapped; `null` for NOT_FOUND when asked. */
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req): Observable<Res>;
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, notFound: 'null'): Observable<Res | null>;
  function call<Req, Res>(what: string, method: UnaryMethod<Req, Res>, request: Req, notFound?: 'null'): Observable<Res | null> {
    return defer(() => (disposed ? throwError(() => closedError(what)) : fromUnary(method, request))).pipe(
      timeout({
        first: requestTimeout,
        scheduler,
        with: () => throwError(() => new EngineError(CRI_ENGINE, 'engine', `the CRI runtime at ${endpoint} did not answer within ${requestTimeout} ms while ${what}: is it overloaded or hung?`, { endpoint })),
      }),
      catchError((err: unknown) => (notFound === 'null' && isCriNotFound(err) ? of(null) : throwError(() => toCriError(err, endpoint, what)))),
    );
  }

  const version = (): Observable<VersionResponse> =>
    call('asking for the runtime version', client.version.bind(client), { version: KUBE_RUNTIME_API_VERSION });

  /** The pod metadata of a sandbox (non-verbose status), or undefined when it is gone. */
  function podOf(sandboxId: string): Observable<PodSandboxMetadata | undefined> {
    return call(`looking up pod sandbox ${sandboxId.slice(0, 12)}`, client.podSandboxStatus.bind(client), { podSandboxId: sandboxId, verbose: false }, 'null').pipe(
      map((res) => res?.status?.metadata),
    );
  }

  function inspectSandbox(id: string): Observable<Container | null> {
    return call(`asking for the status of pod sandbox ${id.slice(0, 12)}`, client.podSandboxStatus.bind(client), { podSandboxId: id, verbose: true }, 'null').pipe(
      map((res) => (res?.status === undefined ? null : normalizeCriSandbox({ kind: 'sandbox', status: res.status, info: res.info }, containerOptions))),
    );
  }

  function inspectContainer(target: Target & { kind: 'container' | 'unknown' }): Observable<Container | null> {
    return call(`asking for the status of container ${target.id.slice(0, 12)}`, client.containerStatus.bind(client), { containerId: target.id, verbose: true }, 'null').pipe(
      mergeMap((res) => {
        if (res?.status === undefined) {
          // an unknown kind of start may have been a sandbox's
          return target.kind === 'unknown' ? inspectSandbox(target.id) : of(null);
        }
        const status = res.status;
        if (status.state !== ContainerState.CONTAINER_RUNNING) return of(null);
        const sandboxId = target.sandboxId ?? criInfoSandboxId(res.info);
        const pod$ = target.sandbox !== undefined || sandboxId === undefined ? of(target.sandbox) : podOf(sandboxId);
        return pod$.pipe(map((sandbox) => normalizeCriContainer({ kind: 'container', status, info: res.info, sandboxId, sandbox }, containerOptions)));
      }),
    );
  }

  function inspect(target: Target): Observable<Container | null> {
    return target.kind === 'sandbox' ? inspectSandbox(target.id) : inspectContainer(target);
  }

  /** A started container or sandbox made whole, or nothing when it is gone or not alive any more (a stale, replayed event). */
  function started(hint: CriStartHint): Observable<EngineFeed> {
    const target: Target = hint.kind === 'sandbox' ? { kind: 'sandbox', id: hint.id } : { kind: hint.kind, id: hint.id, sandboxId: hint.sandboxId, sandbox: hint.sandbox };
    return inspect(target).pipe(mergeMap((container) => (container === null ? EMPTY : of<EngineFeed>(Object.freeze({ type: 'started', container, time: hint.time })))));
  }

  /** Explains a failed event stream: UNIMPLEMENTED from a runtime that answers `Version` is a runtime without GetContainerEvents. */
  function eventsFailed(err: unknown): Observable<never> {
    const what = 'watching container events (GetContainerEvents)';
    if (isGrpcServiceError(err) && err.code === grpcStatus.UNIMPLEMENTED && !/unknown service/i.test(err.details)) {
      return version().pipe(
        mergeMap((v) => throwError(() => criEventsUnsupported(endpoint, `${v.runtimeName} ${v.runtimeVersion}`.trim(), err))),
      );
    }
    return throwError(() => toCriError(err, endpoint, what));
  }

  return {
    engine: CRI_ENGINE,
    endpoint,

    events(): Observable<EngineFeed> {
      return defer(() => {
        if (disposed) return throwError(() => closedError('watching container events'));
        const stream$ = fromServerStream<ContainerEventResponse>(() => client.getContainerEvents({})).pipe(
          concatWith(
            throwError(() => new EngineError(CRI_ENGINE, 'engine', `the CRI runtime at ${endpoint} ended its container event stream (stopped or restarted?)`, { endpoint })),
          ),
          catchError(eventsFailed),
        );
        return stream$.pipe(
          // the Version round trip, made after the stream was opened, also tells a non-CRI peer apart before any list
          criResync<ContainerEventResponse, EngineFeed>({ marker: LISTENING, interval: resyncInterval, scheduler, gate$: version() }),
          orderedMergeMap((item): Observable<EngineFeed> => {
            if (item === LISTENING) return of(LISTENING);
            const result = normalizeCriEvent(item as ContainerEventResponse, scheduler.now());
            if (result === null) return EMPTY;
            if (result.type === 'inspect') return started(result);
            return of(result);
          }, concurrency),
        );
      });
    },

    snapshot(): Observable<readonly Container[]> {
      return forkJoin([
        call('listing running containers', client.listContainers.bind(client), {
          filter: { id: '', podSandboxId: '', labelSelector: {}, state: { state: ContainerState.CONTAINER_RUNNING } },
        }),
        // all sandboxes: the ready ones are containers, and every one names the pod of its containers
        call('listing pod sandboxes', client.listPodSandbox.bind(client), {}),
      ]).pipe(
        mergeMap(([listed, pods]) => {
          const podById = new Map(pods.items.map((p) => [p.id, p]));
          const targets: Target[] = [];
          for (const p of pods.items) if (p.state === PodSandboxState.SANDBOX_READY && p.id !== '') targets.push({ kind: 'sandbox', id: p.id });
          for (const c of listed.containers) {
            if (c.state !== ContainerState.CONTAINER_RUNNING || c.id === '') continue;
            const pod = podById.get(c.podSandboxId);
            targets.push({ kind: 'container', id: c.id, sandboxId: c.podSandboxId === '' ? undefined : c.podSandboxId, sandbox: pod?.metadata });
          }
          return from(targets).pipe(
            mergeMap((target) => inspect(target), concurrency),
            toArray(),
            map((found) => Object.freeze(found.filter((c): c is Container => c !== null))),
          );
        }),
      );
    },

    async info(): Promise<EngineInfo> {
      const v = await firstValueFrom(version());
      if (v.runtimeName === '' && v.runtimeVersion === '') {
        throw new EngineError(CRI_ENGINE, 'protocol', `something at ${endpoint} answers the CRI Version call without a runtime name or version: check that the endpoint is a CRI runtime socket`, { endpoint });
      }
      return Object.freeze({
        id: v.runtimeName,
        type: 'k8s.io/cri-api' as const,
        version: v.runtimeVersion,
        api: endpoint,
        ...(options.pid === undefined ? {} : { pid: options.pid }),
        product: v.runtimeName,
      });
    },

    dispose(): void {
      if (disposed) return;
      disposed = true;
      client.close();
    },
  };
}
