// I/O: the Docker engine (and Podman's Docker-compatible API) as an
// EngineAdapter: the event stream, info and version over dockerode; the list
// and the inspections, many small GETs, pipelined by lib/http. Everything
// engine-shaped is decoded by the pure docker-normalize.ts; this file only
// moves bytes and keeps order.

import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import {
  EMPTY,
  Observable,
  type SchedulerLike,
  asyncScheduler,
  firstValueFrom,
  mergeMap,
  of,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import type { EngineAdapter, EngineFeed, EngineInfo } from '../../core/engine.js';
import { orderedMergeMap } from '../../core/operators/ordered-merge-map.js';
import { EngineError } from '../../errors.js';
import { type CancelRequest, type HttpTarget, PipelinedHttpClient } from '../../http/pipelined-client.js';
import type { Container } from '../../model/container.js';
import { type DockerEndpoint, type DockerEndpointOptions, type DockerEnv, resolveDockerEndpoint } from './docker-endpoint.js';
import { dockerMessageOf, httpStatusOf, isDockerErrorBody, toDockerError } from './docker-errors.js';
import { DOCKER_ENGINE, DOCKER_EVENT_ACTIONS, type DockerEventResult, type DockerInspectOptions, normalizeDockerEvent, normalizeDockerInspect } from './docker-normalize.js';

/** Options of {@link dockerAdapter} (and of `watchDocker`). */
export interface DockerOptions extends DockerEndpointOptions, DockerInspectOptions {
  /**
   * Most container inspections in flight at once, for the list and for `start`
   * events together (default 64). They are pipelined over at most 4 connections.
   */
  readonly inspectConcurrency?: number;
  /** The engine's PID, reported by `info()` (whalewatcher cannot learn it through the API). */
  readonly pid?: number;
  /** Longest wait in ms for an answer to one request (inspect, list, info, and the event stream's response headers); default 30,000. */
  readonly requestTimeout?: number;
  /** Scheduler for request timeouts and for the time of events that carry none. */
  readonly scheduler?: SchedulerLike;
  /** Environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, … from (default `process.env`). */
  readonly env?: DockerEnv;
  /**
   * On unix sockets, ask the engine to replay the events of the last this
   * many ms when the event stream opens (default 1,000; 0 turns it off).
   * Podman 4.3 sends the stream's headers before its event reader runs, so an
   * event in that instant would be lost; the replay closes the gap. Replayed
   * events arrive while the watcher synchronises, so they are applied on top
   * of the list like any other event. Not done over tcp, where the engine's
   * clock may differ from ours.
   */
  readonly eventOverlap?: number;
}

/** @internal Docker's and Podman's `since`: unix seconds with a nanosecond fraction. */
export function dockerSince(epochMs: number): string {
  const ms = Math.max(0, Math.floor(epochMs));
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

const LISTENING: EngineFeed = Object.freeze({ type: 'listening' });
/** `GET /containers/json` of the alive containers (Podman leaves paused ones out without the filter). */
const LIST_PATH = `/containers/json?filters=${encodeURIComponent(JSON.stringify({ status: ['running', 'paused'] }))}`;
/** What a request for a container that is gone yields. */
const GONE: unique symbol = Symbol('gone');
/** An event line longer than this without a newline is not Docker talking. */
const MAX_LINE = 1 << 20;

/**
 * True when an inspection failed because the container is gone: Docker answers
 * 404; Podman 4.3 answers 500 "… does not exist in database: no such container"
 * while a removal is under way.
 */
function isGone(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status === 404) return isDockerErrorBody(err);
  return status === 500 && /no such container/i.test(dockerMessageOf(err) ?? '');
}

/** dockerode accepts `abortSignal` on info/version too; its type declarations just do not say so. */
function withSignal(docker: Docker): { info(opts: { abortSignal: AbortSignal }): Promise<unknown>; version(opts: { abortSignal: AbortSignal }): Promise<unknown> } {
  return docker as unknown as ReturnType<typeof withSignal>;
}

/**
 * docker-modem runs `util.inspect` over every request's options (debug or not);
 * a plain agent there means walking all its sockets on every request, which
 * measured 40-90x slower syncs. These agents describe themselves in one word.
 */
class QuietHttpAgent extends HttpAgent {
  [inspect.custom](): string {
    return 'HttpAgent';
  }
}
class QuietHttpsAgent extends HttpsAgent {
  [inspect.custom](): string {
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
  Object.defineProperty(controller.signal, inspect.custom, { value: quietSignal });
  return controller;
}
function quietSignal(): string {
  return 'AbortSignal';
}

function noop(): void {
  // swallow late errors of streams we dropped on purpose
}

/**
 * An {@link EngineAdapter} for a Docker engine or Podman's Docker-compatible
 * API. Cold: `events()` and `snapshot()` open their requests on subscribe and
 * cancel them on unsubscribe; `dispose()` closes every socket of the adapter.
 *
 * The list and the inspections go over at most 4 connections with requests
 * pipelined (up to `inspectConcurrency` in flight); starts are inspected (for
 * the PID) the same way, and events still come out in the engine's order.
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
  const endpoint: DockerEndpoint = resolveDockerEndpoint(options, options.env ?? process.env);
  const scheduler = options.scheduler ?? asyncScheduler;
  const concurrency = Math.max(1, Math.floor(options.inspectConcurrency ?? 64));
  const requestTimeout = options.requestTimeout ?? 30_000;
  const overlap = endpoint.socketPath === undefined ? 0 : Math.max(0, options.eventOverlap ?? 1_000);
  const inspectOptions: DockerInspectOptions = { packer: options.packer, onPackerError: options.onPackerError };

  const agent =
    endpoint.protocol === 'https'
      ? new QuietHttpsAgent({ keepAlive: true, ...endpoint.tls })
      : new QuietHttpAgent({ keepAlive: true });
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
  let docker: Docker;
  try {
    docker = new Docker(modemOptions as Docker.DockerOptions);
  } catch (err) {
    throw new EngineError(DOCKER_ENGINE, 'config', `cannot set up a Docker client for ${endpoint.url}: ${(err as Error).message}`, { cause: err, endpoint: endpoint.url });
  }
  const url = endpoint.url;
  const target: HttpTarget =
    endpoint.socketPath !== undefined
      ? { socketPath: endpoint.socketPath }
      : { hostname: endpoint.hostname ?? 'localhost', port: endpoint.port ?? 2375, ...(endpoint.tls === undefined ? {} : { tls: endpoint.tls }) };
  // Lists and inspections: many small GETs, pipelined (dockerode spends ~5x the CPU per call).
  const http = new PipelinedHttpClient(target, { maxInFlight: concurrency, maxConnections: 4, stallTimeout: requestTimeout, scheduler });

  const timedOut = (what: string) => () =>
    throwError(() => new EngineError(DOCKER_ENGINE, 'engine', `the Docker engine at ${url} did not answer within ${requestTimeout} ms while ${what}: is it overloaded or hung?`, { endpoint: url }));

  /** One request as a cold observable: aborted on unsubscribe, bounded by `requestTimeout`. */
  function request<T>(what: string, send: (signal: AbortSignal) => Promise<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      const controller = quietAbortController();
      let settled = false;
      let pending: Promise<T>;
      try {
        pending = send(controller.signal);
      } catch (err) {
        subscriber.error(toDockerError(err, url, what));
        return;
      }
      pending.then(
        (value) => {
          settled = true;
          if (subscriber.closed) return;
          subscriber.next(value);
          subscriber.complete();
        },
        (err: unknown) => {
          settled = true;
          if (!subscriber.closed) subscriber.error(toDockerError(err, url, what));
        },
      );
      return () => {
        if (!settled) controller.abort();
      };
    }).pipe(timeout({ first: requestTimeout, scheduler, with: timedOut(what) }));
  }

  /**
   * GET `path` on the pipelined connections: the JSON body of a 2xx answer,
   * {@link GONE} for a container that is gone (when `container` is set), else a
   * typed error. `what` builds the "while …" of error messages, only when needed.
   */
  function fetchJson(path: string, what: () => string, container: boolean, done: (err: EngineError | null, value?: unknown) => void): CancelRequest {
    return http.get(path, (err, res) => {
      if (err !== null || res === undefined) {
        done(toDockerError(err, url, what()));
        return;
      }
      let json: unknown;
      let parsed = false;
      try {
        json = JSON.parse(res.body.toString('utf8'));
        parsed = true;
      } catch {
        // not JSON: decided below
      }
      if (res.status >= 200 && res.status < 300) {
        if (parsed && typeof json === 'object' && json !== null) done(null, json);
        else done(new EngineError(DOCKER_ENGINE, 'protocol', `something at ${url} answers HTTP but not with Docker's JSON while ${what()}: check that the endpoint is a Docker or Podman API socket`, { endpoint: url }));
        return;
      }
      // the shape dockerode gives its HTTP errors, so one mapping serves both
      const httpError = Object.assign(new Error(`HTTP ${res.status}`), { statusCode: res.status, json: parsed ? json : res.body.toString('utf8', 0, 512) });
      if (container && isGone(httpError)) done(null, GONE);
      else done(toDockerError(httpError, url, what()));
    });
  }

  /** Inspects one container on the pipelined connections: `done` gets the alive container, or `null` when it is gone (404) or not alive. */
  function inspectOne(id: string, done: (err: unknown, container: Container | null) => void): CancelRequest {
    const what = () => `inspecting container ${id.slice(0, 12)}`;
    return fetchJson(`/containers/${encodeURIComponent(id)}/json`, what, true, (err, raw) => {
      if (err !== null) return done(err, null);
      if (raw === GONE) return done(null, null);
      let container: Container | null;
      try {
        container = normalizeDockerInspect(raw, inspectOptions);
      } catch (e) {
        return done(toDockerError(e, url, what()), null);
      }
      done(null, container);
    });
  }

  /** {@link inspectOne} as a cold observable (cancelled on unsubscribe). */
  function inspect(id: string): Observable<Container | null> {
    return new Observable<Container | null>((subscriber) =>
      inspectOne(id, (err, container) => {
        if (err !== null) return subscriber.error(err);
        subscriber.next(container);
        subscriber.complete();
      }),
    );
  }

  /** dockerode hands over a Buffer when the body was not JSON: not a Docker engine. */
  function notBytes(raw: unknown, what: string): unknown {
    if (raw instanceof Uint8Array || typeof raw !== 'object' || raw === null) {
      throw new EngineError(DOCKER_ENGINE, 'protocol', `something at ${url} answers HTTP but not with Docker's JSON while ${what}: check that the endpoint is a Docker or Podman API socket`, { endpoint: url });
    }
    return raw;
  }

  /** The raw event stream: `listening`, then engine events and start hints in the engine's order. */
  function rawEvents(): Observable<EngineFeed | Exclude<DockerEventResult, null>> {
    return new Observable<EngineFeed | Exclude<DockerEventResult, null>>((subscriber) => {
      const what = 'watching the event stream';
      const controller = quietAbortController();
      let stream: IncomingMessage | undefined;

      const release = () => {
        connectTimer.unsubscribe();
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
        if (subscriber.closed) return;
        subscriber.error(err); // runs release through the teardown
      };

      const connectTimer = timer(requestTimeout, scheduler).subscribe(() =>
        fail(new EngineError(DOCKER_ENGINE, 'engine', `the Docker engine at ${url} did not open its event stream within ${requestTimeout} ms: is it overloaded or hung?`, { endpoint: url })),
      );

      let opening: Promise<unknown>;
      try {
        // the engine's wall clock, not the scheduler's (which may be virtual)
        const since = overlap > 0 ? { since: dockerSince(Date.now() - overlap) } : {};
        // (dockerode's types say number; the engines take this string, nanoseconds and all)
        const query = { ...since, filters: { type: ['container'], event: [...DOCKER_EVENT_ACTIONS] }, abortSignal: controller.signal };
        opening = docker.getEvents(query as unknown as Docker.GetEventsOptions);
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
          res.on('error', (err) => fail(toDockerError(err, url, what)));
          const type = String(res.headers['content-type'] ?? '');
          if (!type.includes('json') && res.headers['api-version'] === undefined) {
            fail(new EngineError(DOCKER_ENGINE, 'protocol', `something at ${url} answers HTTP but not like a Docker engine API (event stream of type ${JSON.stringify(type)}): check that the endpoint is a Docker or Podman API socket`, { endpoint: url }));
            return;
          }
          subscriber.next(LISTENING);
          if (subscriber.closed) return;

          const decoder = new StringDecoder('utf8');
          let buffered = '';
          const ended = () =>
            fail(new EngineError(DOCKER_ENGINE, 'engine', `event stream ended: the Docker engine at ${url} closed it${buffered.trim() === '' ? '' : ' in the middle of an event'} (stopped or restarted?)`, { endpoint: url }));
          res.on('data', (chunk: Buffer) => {
            buffered += decoder.write(chunk);
            let nl: number;
            while (!subscriber.closed && (nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line === '') continue;
              let parsed: unknown;
              try {
                parsed = JSON.parse(line);
              } catch (err) {
                fail(new EngineError(DOCKER_ENGINE, 'decode', `the engine at ${url} sent an event that is not JSON: ${JSON.stringify(line.slice(0, 200))}`, { cause: err, endpoint: url }));
                return;
              }
              let result: DockerEventResult;
              try {
                result = normalizeDockerEvent(parsed, scheduler.now());
              } catch (err) {
                fail(toDockerError(err, url, what));
                return;
              }
              if (result !== null) subscriber.next(result);
            }
            if (buffered.length > MAX_LINE) {
              fail(new EngineError(DOCKER_ENGINE, 'decode', `the engine at ${url} sent more than ${MAX_LINE} bytes without a line break: not a Docker event stream`, { endpoint: url }));
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

  return {
    engine: DOCKER_ENGINE,
    endpoint: url,

    events(): Observable<EngineFeed> {
      return rawEvents().pipe(
        orderedMergeMap((item) => {
          if (item.type !== 'inspect') return of(item);
          const time = item.time;
          // a start whose container is no longer alive is dropped: its die follows anyway
          return inspect(item.id).pipe(mergeMap((container) => (container === null ? EMPTY : of<EngineFeed>(Object.freeze({ type: 'started', container, time })))));
        }, concurrency),
      );
    },

    snapshot(): Observable<readonly Container[]> {
      // One list, then every inspection handed to the pipelined client at once (it keeps
      // at most inspectConcurrency in flight); results are kept in the list's order.
      return new Observable<readonly Container[]>((subscriber) => {
        const cancels: CancelRequest[] = [];
        const fail = (err: unknown) => {
          if (!subscriber.closed) subscriber.error(err);
        };
        cancels.push(
          fetchJson(LIST_PATH, () => 'listing containers', false, (err, list) => {
            if (err !== null) return fail(err);
            if (!Array.isArray(list)) {
              return fail(new EngineError(DOCKER_ENGINE, 'protocol', `something at ${url} answers HTTP but not like a Docker engine API (the container list is not a JSON array): check that the endpoint is a Docker or Podman API socket`, { endpoint: url }));
            }
            const ids: string[] = [];
            for (const entry of list as unknown[]) {
              const id = (entry as { Id?: unknown } | null)?.Id;
              if (typeof id === 'string' && id !== '') ids.push(id);
            }
            const found: (Container | null)[] = new Array<Container | null>(ids.length).fill(null);
            let left = ids.length;
            const done = () => {
              subscriber.next(Object.freeze(found.filter((c): c is Container => c !== null)));
              subscriber.complete();
            };
            if (left === 0) return done();
            ids.forEach((id, i) => {
              cancels.push(
                inspectOne(id, (e, container) => {
                  if (subscriber.closed) return;
                  if (e !== null) return fail(e);
                  found[i] = container;
                  if (--left === 0) done();
                }),
              );
            });
          }),
        );
        return () => {
          for (const cancel of cancels) cancel();
        };
      });
    },

    async info(): Promise<EngineInfo> {
      const [info, version] = await Promise.all([
        firstValueFrom(request('asking for engine info', (signal) => withSignal(docker).info({ abortSignal: signal }))),
        firstValueFrom(request('asking for the engine version', (signal) => withSignal(docker).version({ abortSignal: signal }))),
      ]);
      const i = notBytes(info, 'asking for engine info') as { ID?: unknown; ServerVersion?: unknown };
      const v = notBytes(version, 'asking for the engine version') as { Version?: unknown; Components?: unknown };
      if (typeof i.ID !== 'string' || (typeof i.ServerVersion !== 'string' && typeof v.Version !== 'string')) {
        throw new EngineError(DOCKER_ENGINE, 'protocol', `something at ${url} answers HTTP but its /info is not a Docker engine's: check that the endpoint is a Docker or Podman API socket`, { endpoint: url });
      }
      const components = Array.isArray(v.Components) ? (v.Components as { Name?: unknown }[]) : [];
      const podman = components.some((c) => typeof c?.Name === 'string' && /podman/i.test(c.Name));
      return Object.freeze({
        id: i.ID,
        type: 'docker.com' as const,
        version: typeof i.ServerVersion === 'string' ? i.ServerVersion : (v.Version as string),
        api: url,
        ...(options.pid === undefined ? {} : { pid: options.pid }),
        product: podman ? 'podman' : 'docker',
      });
    },

    dispose(): void {
      http.destroy();
      agent.destroy();
    },
  };
}
