// I/O: the Docker API probe of discovery: `GET /_ping` (and `GET /version`
// only when the ping's `Server` header does not name the engine), under one
// timeout on the RxJS scheduler. Not the adapter's info(): it asks `/info` and
// `/version`, and Podman 4.3 takes about half a second for `/version` alone
// (measured here: 0.42-0.48 s, against under 1 ms for `/_ping`).

import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Observable, type SchedulerLike, asyncScheduler, concatMap, firstValueFrom, map, of, throwError, timeout } from 'rxjs';
import { resolveDockerEndpoint } from '../engines/docker/docker-endpoint.js';
import { dockerProduct } from '../engines/docker/docker-normalize.js';

/** What a Docker-API engine said about itself. @internal */
export interface DockerProbeAnswer {
  readonly version: string;
  readonly product: 'docker' | 'podman';
}

/** Longest answer read from a probe request (a `/version` is a few hundred bytes). */
const MAX_BODY = 1 << 20;

/** Options of {@link probeDocker}. @internal */
export interface DockerProbeOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly requestTimeout: number;
  readonly scheduler?: SchedulerLike;
}

/**
 * Asks `endpoint` (`unix:///…`, `tcp://…`) `/_ping`; resolves with the
 * version and product its `Server` header names (`Docker/26.1.5 (linux)`,
 * `Libpod/4.3.1 (linux)`: Podman), else asks `/version` and tells Podman by
 * a component named like it, as the Docker adapter's info() does. Rejects with an Error
 * (`code` `EACCES` kept for permission problems) when it is no Docker API or
 * did not answer within `requestTimeout` ms; every socket is closed either way.
 *
 * @internal
 */
export function probeDocker(endpoint: string, options: DockerProbeOptions): Promise<DockerProbeAnswer> {
  const resolved = resolveDockerEndpoint({ host: endpoint }, options.env);
  const ms = options.requestTimeout;
  return firstValueFrom(
    get(resolved, '/_ping').pipe(
      concatMap((ping) => {
        if (ping.status !== 200) return throwError(() => new Error(`no Docker API at ${resolved.url}: /_ping answered HTTP ${ping.status}`));
        const named = serverAnswer(ping.headers);
        return named !== undefined ? of(named) : get(resolved, '/version').pipe(map((version) => dockerAnswer(resolved.url, version)));
      }),
      timeout({ first: ms, scheduler: options.scheduler ?? asyncScheduler, with: () => throwError(() => new Error(`no answer from ${resolved.url} within ${ms} ms (Docker /_ping, /version)`)) }),
    ),
  );
}

/** The engine a ping's `Server` header names (`Docker/26.1.5+dfsg1 (linux)`, `Libpod/4.3.1 (linux)`), if any. @internal */
export function serverAnswer(headers: Readonly<Record<string, string | string[] | undefined>>): DockerProbeAnswer | undefined {
  const server = headers['server'];
  const m = typeof server === 'string' ? /^(Docker|Libpod)\/(\S+)/.exec(server) : null;
  if (m === null) return undefined;
  return { version: m[2] as string, product: m[1] === 'Libpod' ? 'podman' : 'docker' };
}

/** Decodes `/version`: a `Version` string, and Podman told apart by its components. */
function dockerAnswer(url: string, answer: Answer): DockerProbeAnswer {
  let v: { Version?: unknown; Components?: unknown } | undefined;
  try {
    v = answer.status === 200 ? (JSON.parse(answer.body) as typeof v) : undefined;
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || typeof v.Version !== 'string') throw new Error(`no Docker API at ${url}: /version answered HTTP ${answer.status} without a Version`);
  return { version: v.Version, product: dockerProduct(v) };
}

/** An HTTP answer. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One GET on a fresh connection: cold, the request is destroyed on unsubscribe. */
function get(target: ReturnType<typeof resolveDockerEndpoint>, path: string): Observable<Answer> {
  return new Observable((subscriber) => {
    const where =
      target.socketPath !== undefined
        ? { socketPath: target.socketPath }
        : { hostname: target.hostname, port: target.port, ...(target.tls === undefined ? {} : target.tls) };
    const send = target.protocol === 'https' ? httpsRequest : httpRequest;
    const req: ClientRequest = send({ ...where, path, method: 'GET', agent: false, headers: { accept: 'application/json' } }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_BODY) req.destroy(new Error(`no Docker API at ${target.url}: ${path} answered more than ${MAX_BODY} bytes`));
      });
      res.on('end', () => {
        subscriber.next({ status: res.statusCode ?? 0, headers: res.headers, body });
        subscriber.complete();
      });
      res.on('error', (err) => subscriber.error(err));
    });
    req.on('error', (err) => subscriber.error(err));
    req.end();
    return () => req.destroy();
  });
}
