// I/O: the Docker engine (and Podman's Docker-compatible API) as an
// EngineAdapter, in the kit's four parts: raw events (dockerode's event
// stream), the list and the inspections (many small GETs, pipelined by
// lib/http), and info (dockerode). Everything engine-shaped is decoded by the
// pure docker-normalize.ts; this file only moves bytes.

import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { inspect as utilInspect } from 'node:util';
import Docker from 'dockerode';
import { Observable, type Subscription, forkJoin, map, mergeMap, timer } from 'rxjs';
import type { ContainerList, EngineAdapter, EngineInfo, EngineType, ExitDetails } from '../../core/engine.js';
import { EngineError, isEngineError } from '../../errors.js';
import { type HttpTarget, PipelinedHttpClient } from '../../http/pipelined-client.js';
import type { Container } from '../../model/container.js';
import { type AdapterOptions, type PackerOptions, packerOptions } from '../common/adapter-options.js';
import { type AdapterBase, type AdapterParts, adapterBase, defineAdapter } from '../common/define-adapter.js';
import { type CallDone, type Transport, fromAbortable } from '../common/engine-call.js';
import { type EngineErrors, engineError } from '../common/engine-error.js';
import { engineInfo } from '../common/engine-info.js';
import { DEAD_PEER_WHAT, deadPeerCheck } from '../common/dead-peer.js';
import { DEFAULT_EVENT_REPLAY_WINDOW, EventReplay, type ReplayLease } from '../common/event-replay.js';
import { inspectAll } from '../common/inspect-all.js';
import { OomNotes } from '../common/oom-notes.js';
import { LISTENING, type RawFeed } from '../common/start-hint.js';
import { type DockerEndpoint, type DockerEndpointOptions, type DockerEnv, resolveDockerEndpoint } from './docker-endpoint.js';
import { DOCKER_TERMS, isDockerGone, toDockerError } from './docker-errors.js';
import { labelFilterValues } from '../common/label-selector.js';
import { dockerExitOf } from './docker-exit.js';
import {
  DOCKER_ENGINE,
  DOCKER_EVENT_ACTIONS,
  DOCKER_OOM_NOTES,
  type DockerListEntry,
  dockerListEntry,
  dockerListShowsUnchanged,
  dockerProduct,
  type DockerStartHint,
  eventLabelFilter,
  normalizeDockerEvent,
  normalizeDockerInspect,
  normalizeOversizedDockerEvent,
} from './docker-normalize.js';
import type { Portfolio } from '../../model/portfolio.js';

/**
 * Options of {@link dockerAdapter} (and of `watchDocker`).
 *
 * @example
 * ```ts
 * import { watchDocker, type DockerOptions } from 'whalewatcher';
 * const options: DockerOptions = { host: 'unix:///run/podman/podman.sock', labels: ['app'], eventReplayWindow: 0 };
 * const ww = watchDocker(options);
 * await ww.close();
 * ```
 */
export interface DockerOptions extends AdapterOptions, DockerEndpointOptions, PackerOptions<unknown> {
  /** Environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` from (default `process.env`). */
  readonly env?: DockerEnv;
  /**
   * Longest outage in ms after which a reopened event stream still asks the
   * engine to replay the events it missed (default 300,000; 0 turns replay
   * off). The adapter remembers the engine time of the last event it
   * delivered, across the watcher's reconnects, and the next event stream
   * asks for `since` that time (less a second), so that the gap's events
   * (`die` with its exit code among them) arrive as real events; the ones
   * delivered already are dropped by their identity (engine time, container,
   * kind). Since `since` is the engine's own time, this holds over tcp too,
   * whatever our clock says. After a longer outage the relist alone brings
   * the picture back. A first event stream on a unix socket asks for the
   * last second: Podman 4.3 sends the stream's headers before its event
   * reader runs. The engines keep a bounded history (Docker the last 256
   * events in memory, Podman its event log): a gap beyond it is covered by
   * the relist too.
   */
  readonly eventReplayWindow?: number;
  /**
   * The `type` `info()` and every container's `engine` report, e.g.
   * `podman.io` for a Podman (as the Go whalewatcher's callers may set it).
   * Default `docker.com` for Docker and Podman alike; Podman is told by
   * `product: 'podman'` either way.
   */
  readonly engineType?: EngineType;
}

/** @internal Default `resyncInterval` of Docker and Podman in ms: a relist costs one list call (and its JSON) for an unchanged picture. */
export const DEFAULT_DOCKER_RESYNC_INTERVAL = 60_000;
/**
 * Every this many relists inspects every container: Docker's list has no PID,
 * so a restart that kept the id and whose events were lost shows only then
 * (with the default interval: within 10 minutes). @internal
 */
export const DOCKER_FULL_RELIST_EVERY = 10;
/** Inspections in flight by default (pipelined over at most {@link MAX_CONNECTIONS} connections). */
const DEFAULT_CONCURRENCY = 64;
/** Connections the pipelined client opens at most. */
const MAX_CONNECTIONS = 4;
/**
 * `GET /containers/json` of the alive containers (Podman leaves paused ones out
 * without the status filter), with the `labels` option as Docker's `label`
 * filter (all must match, on Docker and Podman alike).
 */
function listPath(labels: readonly string[]): string {
  const filters: Record<string, string[]> = { status: ['running', 'paused'] };
  if (labels.length > 0) filters['label'] = [...labels];
  return `/containers/json?filters=${encodeURIComponent(JSON.stringify(filters))}`;
}
/**
 * An event line longer than this without a newline is read no further: Docker
 * copies every label into an event's attributes, so a label of a megabyte
 * makes such a line. It is resolved from its head (see
 * `normalizeOversizedDockerEvent`: a start by an inspection) and the rest of
 * it is skipped, on the same stream: no reconnect, no relist.
 */
const MAX_LINE = 1 << 20;

/** Docker's and Podman's `since`: unix seconds with a nanosecond fraction. @internal */
export function dockerSince(epochMs: number): string {
  const ms = Math.max(0, Math.floor(epochMs));
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

/** Everything the four parts share: the kit's base, the resolved endpoint and the two HTTP clients. */
interface DockerClient extends AdapterBase {
  readonly resolved: DockerEndpoint;
  /** dockerode: the event stream, info and version. */
  readonly modem: Docker;
  /** The pipelined client: the list and the inspections. */
  readonly http: PipelinedHttpClient;
  readonly packer: PackerOptions<unknown>;
  /** What the event streams of this adapter delivered, for the next one's replay. */
  readonly replay: EventReplay;
  /** True on a unix socket: the engine's clock is ours. */
  readonly sameClock: boolean;
  /** The `type` info() reports. */
  readonly engineType: EngineType;
  /** The `labels` option as Docker `label` filter values for the list (empty: all containers). */
  readonly labelFilter: readonly string[];
  /** The one `label` filter value of the event stream, if any (see {@link eventLabelFilter}). */
  readonly eventLabel: string | undefined;
  dispose(): void;
}

/**
 * An {@link EngineAdapter} for a Docker engine or Podman's Docker-compatible
 * API. Cold: `events()` and `snapshot()` open their requests on subscribe and
 * cancel them on unsubscribe; `dispose()` closes every socket of the adapter.
 *
 * The list and the inspections go over at most 4 connections with requests
 * pipelined (up to `concurrency` in flight); starts are inspected (for the
 * PID) the same way, and events still come out in the engine's order.
 *
 * Containers carry `image`, `createdAt`, `startedAt` and `health` from that
 * same inspection; `health_status` events become `health` events. `exited`
 * carries `exit` from the engine's `die` (`code`, `time`, and `oomKilled`
 * when Docker's `oom` came just before, with no `kill` between). An exit the watcher infers
 * from a list instead (after a reconnect) is synthetic; its `exit` comes from
 * inspecting the dead container afterwards (`exitDetails`), while it is not
 * removed, and the portfolio never waits for it.
 * The `labels` option is pushed into the list's `label` filter, and its first
 * `key=value` entry into the event stream's (Podman 4.3 delivers no event for
 * a key-only one).
 * A reopened event stream asks the engine to replay from the last event the
 * adapter delivered (`eventReplayWindow`) and drops the replayed events it
 * delivered already; an event stream whose peer vanished without closing the
 * connection fails within `deadPeerTimeout` (an `unreachable` error).
 *
 * @throws EngineError `config` when the endpoint or TLS settings are unusable.
 *
 * @example
 * ```ts
 * import { dockerAdapter, watch } from 'whalewatcher';
 * const ww = watch(dockerAdapter({ host: 'unix:///run/podman/podman.sock' }));
 * await ww.ready;
 * console.log(ww.portfolio.total, (await ww.info()).product);
 * await ww.close();
 * ```
 */
export function dockerAdapter(options: DockerOptions = {}): EngineAdapter {
  return defineAdapter(dockerClient(options), DOCKER_PARTS);
}

/** The Docker adapter's four parts. */
const DOCKER_PARTS: AdapterParts<DockerClient, DockerStartHint> = {
  rawEvents: dockerEvents,
  list: dockerList,
  inspect: (client, hint) => dockerInspect(client, hint.id),
  info: dockerInfo,
  exit: dockerExit,
  fullRelistEvery: DOCKER_FULL_RELIST_EVERY,
};

/** Resolves the endpoint and sets up the clients (no I/O yet). */
function dockerClient(options: DockerOptions): DockerClient {
  const endpoint = resolveDockerEndpoint(options, options.env ?? process.env);
  const url = endpoint.url;
  const base = adapterBase(options, { terms: DOCKER_TERMS, endpoint: url, concurrency: DEFAULT_CONCURRENCY, resyncInterval: DEFAULT_DOCKER_RESYNC_INTERVAL, toError: toDockerError, isNotFound: isDockerGone });
  const { settings, calls } = base;
  const agent =
    endpoint.protocol === 'https' ? new QuietHttpsAgent({ keepAlive: true, ...endpoint.tls }) : new QuietHttpAgent({ keepAlive: true });
  // Every key is given explicitly: docker-modem merges its own DOCKER_HOST/DOCKER_CERT_PATH
  // defaults underneath, which must not override the endpoint resolved here.
  const modemOptions: Record<string, unknown> = {
    socketPath: endpoint.socketPath,
    host: endpoint.socketPath === undefined ? endpoint.hostname : undefined,
    port: endpoint.port,
    protocol: endpoint.protocol,
    agent,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
    version: undefined,
    pathPrefix: undefined,
    headers: {},
  };
  let modem: Docker;
  try {
    modem = new Docker(modemOptions as Docker.DockerOptions);
  } catch (err) {
    agent.destroy();
    throw new EngineError(DOCKER_ENGINE, 'config', `cannot set up a Docker client for ${url}: ${(err as Error).message}`, { cause: err, endpoint: url });
  }
  const target: HttpTarget =
    endpoint.socketPath !== undefined
      ? { socketPath: endpoint.socketPath }
      : { hostname: endpoint.hostname ?? 'localhost', port: endpoint.port ?? 2375, ...(endpoint.tls === undefined ? {} : { tls: endpoint.tls }) };
  // Lists and inspections: many small GETs, pipelined (dockerode spends ~5x the CPU per call).
  const http = new PipelinedHttpClient(target, {
    maxInFlight: settings.concurrency,
    maxConnections: MAX_CONNECTIONS,
    stallTimeout: settings.requestTimeout,
    scheduler: settings.scheduler,
  });
  return {
    ...base,
    engineType: options.engineType ?? 'docker.com',
    resolved: endpoint,
    modem,
    http,
    packer: packerOptions(options),
    replay: new EventReplay({ window: options.eventReplayWindow ?? DEFAULT_EVENT_REPLAY_WINDOW }),
    sameClock: endpoint.socketPath !== undefined,
    labelFilter: Object.freeze(labelFilterValues(settings.labels)),
    eventLabel: eventLabelFilter(settings.labels),
    dispose() {
      calls.dispose();
      http.destroy();
      agent.destroy();
    },
  };
}

// ------------------------------------------------------------------------------------------ raw events

/**
 * The raw event stream: `listening` once the engine answered, then events and start hints in the engine's order;
 * replayed from where `lease` says, and checked for a dead peer once silent (see {@link dockerDeadPeerCheck}).
 */
function dockerEvents(client: DockerClient, lease: ReplayLease): Observable<RawFeed<DockerStartHint>> {
  const { modem, errors, settings } = client;
  const url = client.endpoint;
  return new Observable<RawFeed<DockerStartHint>>((subscriber) => {
    const what = 'watching the event stream';
    const controller = quietAbortController();
    // The response once it arrived; destroyed on teardown.
    let stream: IncomingMessage | undefined;
    // recent OOM kills of this stream, for the exits that follow them
    const ooms = new OomNotes(DOCKER_OOM_NOTES);

    // The dead-peer check, once the stream is open.
    let liveness: Subscription | undefined;
    const release = () => {
      connectTimer.unsubscribe();
      liveness?.unsubscribe();
      controller.abort();
      if (stream !== undefined) {
        stream.removeAllListeners('data');
        stream.removeAllListeners('end');
        stream.removeAllListeners('close');
        stream.on('error', noop); // destroy may still report; it is our own doing
        stream.destroy();
      }
    };
    const fail = (err: EngineError) => {
      if (!subscriber.closed) subscriber.error(err); // runs release through the teardown
    };
    if (client.calls.disposed) {
      fail(errors.closed('opening the event stream'));
      return;
    }
    const connectTimer = timer(settings.requestTimeout, settings.scheduler).subscribe(() => fail(errors.timedOut('opening the event stream', settings.requestTimeout)));

    let opening: Promise<unknown>;
    try {
      // a first open on a unix socket: the engine's wall clock is ours (not the scheduler's, which may be virtual)
      const from = lease.since(client.sameClock ? Date.now() : undefined);
      const since = from === undefined ? {} : { since: dockerSince(from) };
      // (dockerode's types say number; the engines take this string, nanoseconds and all)
      const filters = { type: ['container'], event: [...DOCKER_EVENT_ACTIONS], ...(client.eventLabel === undefined ? {} : { label: [client.eventLabel] }) };
      const query = { ...since, filters, abortSignal: controller.signal };
      opening = modem.getEvents(query as unknown as Docker.GetEventsOptions);
    } catch (err) {
      fail(toDockerError(err, url, 'opening the event stream'));
      return release;
    }
    opening.then(
      (value) => {
        connectTimer.unsubscribe();
        const res = value as IncomingMessage;
        if (subscriber.closed) {
          // unsubscribed while still connecting
          res.on('error', noop);
          res.destroy();
          return;
        }
        stream = res;
        // Node's HTTP parser reports broken framing (a bad chunk size) on the request, then aborts the
        // response with a bare ECONNRESET: the first says what happened, and it is no lost connection
        let framing: Error | undefined;
        const req = (res as IncomingMessage & { req?: { on(event: 'error', listener: (err: Error) => void): void } }).req;
        req?.on('error', (err: Error) => {
          if (framing === undefined && String((err as { code?: unknown }).code ?? '').startsWith('HPE_')) framing = err;
        });
        res.on('error', (err) => fail(framing === undefined ? toDockerError(err, url, what) : brokenFraming(client, what, framing)));
        const type = String(res.headers['content-type'] ?? '');
        if (!type.includes('json') && res.headers['api-version'] === undefined) {
          fail(errors.of('protocol', 'opening the event stream', `a response of type ${JSON.stringify(type)}`));
          return;
        }
        // the engine's clock as its answer says (Go's net/http sends `Date`, to the second)
        lease.opened(engineDate(res.headers['date']));
        subscriber.next(LISTENING);
        if (subscriber.closed) return;
        // When the stream last received anything (scheduler time).
        let heard = settings.scheduler.now();
        liveness = dockerDeadPeerCheck(client, res, () => heard, fail);

        const decoder = new StringDecoder('utf8');
        // Bytes after the last complete line.
        let buffered = '';
        // True while the rest of an oversized line (already resolved from its head) is skipped.
        let skipping = false;
        const ended = () => fail(errors.streamEnded(what, buffered.trim() === '' ? undefined : 'in the middle of an event'));
        res.on('data', (chunk: Buffer) => {
          heard = settings.scheduler.now();
          buffered += decoder.write(chunk);
          if (skipping) {
            const end = buffered.indexOf('\n');
            if (end < 0) {
              buffered = '';
              return;
            }
            buffered = buffered.slice(end + 1);
            skipping = false;
          }
          let nl: number;
          while (!subscriber.closed && (nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            let result: RawFeed<DockerStartHint> | null;
            try {
              result = ooms.apply(normalizeDockerEvent(parseLine(line, errors), settings.scheduler.now()));
            } catch (err) {
              fail(toDockerError(err, url, what));
              return;
            }
            if (result !== null) subscriber.next(result);
          }
          if (!subscriber.closed && buffered.length > MAX_LINE) {
            let result: RawFeed<DockerStartHint> | null;
            try {
              result = ooms.apply(normalizeOversizedDockerEvent(buffered, settings.scheduler.now()));
            } catch (err) {
              fail(toDockerError(err, url, what));
              return;
            }
            buffered = '';
            skipping = true;
            if (result !== null) subscriber.next(result);
          }
        });
        res.on('end', ended);
        res.on('close', ended);
      },
      (err: unknown) => {
        connectTimer.unsubscribe();
        fail(toDockerError(err, url, 'opening the event stream'));
      },
    );
    return release;
  });
}

/** The `protocol` error of an event stream whose HTTP framing broke (chunked encoding that is not). */
function brokenFraming(client: DockerClient, what: string, err: Error): EngineError {
  return engineError(client.errors.terms, client.endpoint, 'protocol', {
    what,
    said: `${String((err as { code?: unknown }).code)}: ${err.message}`,
    cause: err,
    headline: `${client.errors.terms.name} at ${client.endpoint} broke the HTTP framing (chunked encoding) of its event stream`,
    advice: 'a proxy in the way, or an engine bug; whalewatcher reconnects',
  });
}

/** The ms since the epoch of an HTTP `Date` header, if it has one that parses. */
function engineDate(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Notices an event stream whose peer vanished without closing the connection
 * (a NAT or firewall timeout, a host gone, a stalled proxy): TCP keepalive on
 * the stream's socket (tcp endpoints), and, since an idle Docker event stream
 * carries no traffic of its own, `GET /_ping` (on another connection) once the
 * stream was silent for a third of `deadPeerTimeout` (checked every third), to
 * be answered within another third: so within `deadPeerTimeout` of the last
 * traffic, no answer fails the stream with a `deadPeer` error and the watcher
 * reconnects (and replays the gap). All time on the scheduler. Nothing while
 * `deadPeerTimeout` is 0.
 */
function dockerDeadPeerCheck(client: DockerClient, res: IncomingMessage, heard: () => number, fail: (err: EngineError) => void): Subscription {
  const { settings, errors, modem } = client;
  if (settings.deadPeerTimeout > 0 && !client.sameClock) res.socket?.setKeepAlive(true, Math.max(1, Math.floor(settings.deadPeerTimeout / 3)));
  const modemWithSignal = modem as unknown as { ping(opts: { abortSignal: AbortSignal }): Promise<unknown> };
  return deadPeerCheck({
    bound: settings.deadPeerTimeout,
    scheduler: settings.scheduler,
    errors,
    heard,
    probe: () => fromAbortable((abortSignal) => modemWithSignal.ping({ abortSignal }), quietAbortController),
    fail: (err) => fail(isEngineError(err) ? err : toDockerError(err, client.endpoint, DEAD_PEER_WHAT)),
  });
}

/** One line of the event stream as JSON, or a `decode` error that shows the line. */
function parseLine(line: string, errors: EngineErrors): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw errors.of('decode', 'reading the event stream', `an event that is not JSON: ${JSON.stringify(line.slice(0, 200))}`, err);
  }
}

// ------------------------------------------------------------------------------------------ list

/**
 * The list: the alive containers, each inspected (the PID is only in the
 * inspection), in the list's order. On a relist (`previous`), an entry that
 * shows the picture's container unchanged (see {@link dockerListShowsUnchanged})
 * stands for it without an inspection: a relist of an unchanged picture is one call.
 */
function dockerList(client: DockerClient, previous?: Portfolio): Observable<ContainerList> {
  const what = 'listing containers';
  const known =
    previous === undefined
      ? undefined
      : (entry: DockerListEntry) => {
          const c = previous.byIdOnly(entry.id);
          return c !== undefined && dockerListShowsUnchanged(entry, c) ? c : undefined;
        };
  return getJson(client, what, listPath(client.labelFilter), (list) => {
    if (!Array.isArray(list)) throw client.errors.of('protocol', what, 'the container list is not a JSON array');
    const entries: DockerListEntry[] = [];
    for (const raw of list as unknown[]) {
      const entry = dockerListEntry(raw);
      if (entry !== null) entries.push(entry);
    }
    return entries;
  }).pipe(
    // all at once: the pipelined client keeps at most `concurrency` in flight
    mergeMap((entries) => inspectAll(entries, (entry, done) => dockerInspectOne(client, entry.id, done), Infinity, (entry) => entry.id, known)),
  );
}

// ------------------------------------------------------------------------------------------ inspect one

/** Inspects one container: the alive container, or `null` when it is gone or not alive. */
function dockerInspect(client: DockerClient, id: string): Observable<Container | null> {
  return client.calls.request(inspectWhat(id), inspectTransport(client, id), GONE_IS_NULL);
}

/** {@link dockerInspect} in the kit's callback form, for the many inspections of a list. */
function dockerInspectOne(client: DockerClient, id: string, done: CallDone<Container | null>): () => void {
  return client.calls.send<Container | null>(inspectWhat(id), inspectTransport(client, id), GONE_IS_NULL, done);
}

function inspectWhat(id: string): string {
  return `inspecting container ${id.slice(0, 12)}`;
}

function inspectTransport(client: DockerClient, id: string): Transport<Container | null> {
  return jsonTransport(client, inspectWhat(id), `/containers/${encodeURIComponent(id)}/json`, (raw) => normalizeDockerInspect(raw, client.packer));
}

/** How a container that left the alive set ended: its inspection after the fact (`null` once it is removed). */
function dockerExit(client: DockerClient, id: string): Observable<ExitDetails | null> {
  const what = `inspecting exited container ${id.slice(0, 12)}`;
  return client.calls.request(what, jsonTransport(client, what, `/containers/${encodeURIComponent(id)}/json`, dockerExitOf), GONE_IS_NULL);
}

/** Inspections ask for a gone container to be `null`; the pipelined client bounds every wait itself (its stall timeout is the request timeout). */
const GONE_IS_NULL = { notFound: 'null', timed: false } as const;
/** The pipelined client bounds every wait itself. */
const UNTIMED = { timed: false } as const;

/** GET `path` as an observable through the kit (see {@link jsonTransport}). */
function getJson<T>(client: DockerClient, what: string, path: string, decode: (json: object) => T): Observable<T> {
  return client.calls.request(what, jsonTransport(client, what, path, decode), UNTIMED);
}

/**
 * GET `path` over the pipelined connections, as a kit transport: the JSON
 * object of a 2xx answer, decoded by `decode`; an HTTP error (status and
 * body, as dockerode gives them) for anything else, which the kit maps (a gone
 * container to `null` when asked).
 */
function jsonTransport<T>(client: DockerClient, what: string, path: string, decode: (json: object) => T): Transport<T> {
  return (reply) =>
    client.http.get(path, (err, res) => {
      if (err !== null || res === undefined) return reply(err);
      let json: unknown;
      let parsed = false;
      try {
        json = JSON.parse(res.body.toString('utf8'));
        parsed = true;
      } catch {
        // not JSON: decided below
      }
      if (res.status >= 200 && res.status < 300) {
        if (!parsed || typeof json !== 'object' || json === null) return reply(client.errors.of('protocol', what, "an answer that is not Docker's JSON"));
        let value: T;
        try {
          value = decode(json);
        } catch (e) {
          return reply(e);
        }
        return reply(null, value);
      }
      // the shape dockerode gives its HTTP errors, so one mapping serves both
      reply(Object.assign(new Error(`HTTP ${res.status}`), { statusCode: res.status, json: parsed ? json : res.body.toString('utf8', 0, 512) }));
    });
}

// ------------------------------------------------------------------------------------------ info

/** The engine's identity: `/info` and `/version` (which tells Podman apart). Cold: unsubscribing aborts the requests. */
function dockerInfo(client: DockerClient): Observable<EngineInfo> {
  const { calls, modem, errors } = client;
  const ask = (what: string, send: (signal: AbortSignal) => Promise<unknown>) =>
    calls.call(what, () => fromAbortable(send, quietAbortController)).pipe(map((raw) => notBytes(raw, errors, what)));
  const modemWithSignal = modem as unknown as {
    info(opts: { abortSignal: AbortSignal }): Promise<unknown>;
    version(opts: { abortSignal: AbortSignal }): Promise<unknown>;
  };
  return forkJoin([
    ask('asking for engine info', (abortSignal) => modemWithSignal.info({ abortSignal })),
    ask('asking for the engine version', (abortSignal) => modemWithSignal.version({ abortSignal })),
  ]).pipe(
    map(([info, version]) => {
      const i = info as { ID?: unknown; ServerVersion?: unknown };
      const v = version as { Version?: unknown; Components?: unknown };
      if (typeof i.ID !== 'string' || (typeof i.ServerVersion !== 'string' && typeof v.Version !== 'string')) {
        throw errors.of('protocol', 'asking for engine info', "an /info that is not a Docker engine's");
      }
      return engineInfo({
        id: i.ID,
        type: client.engineType,
        version: typeof i.ServerVersion === 'string' ? i.ServerVersion : (v.Version as string),
        api: client.endpoint,
        pid: client.pid,
        product: dockerProduct(v),
      });
    }),
  );
}

/** dockerode hands over a Buffer when the body was not JSON: not a Docker engine. */
function notBytes(raw: unknown, errors: EngineErrors, what: string): unknown {
  if (raw instanceof Uint8Array || typeof raw !== 'object' || raw === null) throw errors.of('protocol', what, "an answer that is not Docker's JSON");
  return raw;
}

// ------------------------------------------------------------------------------------------ dockerode's quirks

/**
 * docker-modem runs `util.inspect` over every request's options (debug or not);
 * a plain agent there means walking all its sockets on every request, which
 * measured 40-90x slower syncs. These agents describe themselves in one word.
 */
class QuietHttpAgent extends HttpAgent {
  [utilInspect.custom](): string {
    return 'HttpAgent';
  }
}
class QuietHttpsAgent extends HttpsAgent {
  [utilInspect.custom](): string {
    return 'HttpsAgent';
  }
}

/**
 * An AbortController whose signal docker-modem's per-request
 * `util.inspect(options, { showHidden: true, depth: null })` reads in one step
 * instead of walking the signal's internals and listeners.
 */
function quietAbortController(): AbortController {
  const controller = new AbortController();
  Object.defineProperty(controller.signal, utilInspect.custom, { value: quietSignal });
  return controller;
}
function quietSignal(): string {
  return 'AbortSignal';
}

function noop(): void {
  // swallow late errors of streams we dropped on purpose
}
