// Where the Docker (or Podman) API is and how to reach it, following the
// Docker CLI's conventions: host option, else DOCKER_HOST, else the system
// socket; TLS from DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../errors.js';
import { DOCKER_ENGINE } from './docker-normalize.js';

/**
 * The Docker engine's conventional system socket.
 *
 * @example
 * ```ts
 * import { DEFAULT_DOCKER_HOST, resolveDockerEndpoint } from 'whalewatcher';
 * console.log(resolveDockerEndpoint({}, {}).url === DEFAULT_DOCKER_HOST); // true: no host option, no DOCKER_HOST
 * ```
 */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * TLS settings of a tcp endpoint; each field overrides the environment.
 *
 * @example
 * ```ts
 * import { watchDocker, type DockerTlsOptions } from 'whalewatcher';
 * const tls: DockerTlsOptions = { verify: true, certPath: '/etc/docker/client' }; // ca.pem, cert.pem, key.pem
 * const ww = watchDocker({ host: 'tcp://10.0.0.1:2376', tls });
 * await ww.close();
 * ```
 */
export interface DockerTlsOptions {
  /** Verify the engine's certificate against `ca.pem` (default: `DOCKER_TLS_VERIFY` non-empty, i.e. true when TLS comes from it). */
  readonly verify?: boolean;
  /** Folder with `ca.pem`, `cert.pem`, `key.pem` (default: `DOCKER_CERT_PATH`, else `~/.docker`). */
  readonly certPath?: string;
}

/**
 * What {@link resolveDockerEndpoint} needs (part of `DockerOptions`).
 *
 * @example
 * ```ts
 * import { resolveDockerEndpoint, type DockerEndpointOptions } from 'whalewatcher';
 * const options: DockerEndpointOptions = { host: 'unix:///run/podman/podman.sock' };
 * console.log(resolveDockerEndpoint(options).socketPath); // /run/podman/podman.sock
 * ```
 */
export interface DockerEndpointOptions {
  /**
   * `unix:///path/to/docker.sock`, `tcp://host:port`, `http://host:port` or
   * `https://host:port` (a bare `/path` is taken as a unix socket). Default:
   * `DOCKER_HOST`, else `unix:///var/run/docker.sock`.
   */
  readonly host?: string;
  /**
   * TLS for `tcp://` endpoints: `true`/`false` forces it on/off, an object
   * turns it on with these settings. Default: on when `DOCKER_TLS_VERIFY` or
   * `DOCKER_TLS` is non-empty (`https://` endpoints always use TLS).
   */
  readonly tls?: boolean | DockerTlsOptions;
}

/**
 * A resolved endpoint: a canonical URL for messages and `info().api`, plus how to connect.
 *
 * @example
 * ```ts
 * import { resolveDockerEndpoint, type DockerEndpoint } from 'whalewatcher';
 * const e: DockerEndpoint = resolveDockerEndpoint({ host: 'tcp://10.0.0.1:2375' }, {});
 * console.log(e.url, e.protocol, e.hostname, e.port); // tcp://10.0.0.1:2375 http 10.0.0.1 2375
 * ```
 */
export interface DockerEndpoint {
  /** Canonical endpoint, e.g. `unix:///var/run/docker.sock`, `tcp://10.0.0.1:2376`. */
  readonly url: string;
  /** `https` when TLS is on, else `http` (unix sockets too). */
  readonly protocol: 'http' | 'https';
  /** Set for unix sockets. */
  readonly socketPath?: string;
  /** Set for tcp endpoints. */
  readonly hostname?: string;
  /** Set for tcp endpoints. */
  readonly port?: number;
  /** Set when `protocol` is `https`. */
  readonly tls?: {
    /** The CA certificate (`ca.pem`) to verify the engine against, when verifying. */
    readonly ca?: Buffer;
    /** The client certificate (`cert.pem`), when there is one. */
    readonly cert?: Buffer;
    /** The client key (`key.pem`), when there is one. */
    readonly key?: Buffer;
    /** Whether the engine's certificate is verified. */
    readonly rejectUnauthorized: boolean;
  };
}

/** Environment variables the resolution reads. @inline */
export type DockerEnv = Readonly<Record<string, string | undefined>>;

function configError(message: string, cause?: unknown): EngineError {
  return new EngineError(DOCKER_ENGINE, 'config', message, cause === undefined ? undefined : { cause });
}

/**
 * Resolves the endpoint from the options and the environment (Docker CLI
 * conventions), as `watchDocker` does. Reads TLS files synchronously.
 *
 * @param home where `~` is (for the default TLS folder `~/.docker`).
 * @throws EngineError `config` for an unusable endpoint or unreadable TLS files.
 *
 * @example
 * ```ts
 * import { resolveDockerEndpoint } from 'whalewatcher';
 * console.log(resolveDockerEndpoint().url); // DOCKER_HOST, else unix:///var/run/docker.sock
 * console.log(resolveDockerEndpoint({ host: 'tcp://10.0.0.1:2375' }, {})); // { url: 'tcp://10.0.0.1:2375', protocol: 'http', … }
 * ```
 */
export function resolveDockerEndpoint(options: DockerEndpointOptions = {}, env: DockerEnv = process.env, home: () => string = homedir): DockerEndpoint {
  const fromEnv = env['DOCKER_HOST'];
  const raw = (options.host ?? (fromEnv === undefined || fromEnv === '' ? DEFAULT_DOCKER_HOST : fromEnv)).trim();
  const source = options.host !== undefined ? 'the host option' : fromEnv ? 'DOCKER_HOST' : 'the default';

  if (raw.startsWith('/')) return { url: `unix://${raw}`, protocol: 'http', socketPath: raw };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // Docker accepts a bare host:port as tcp
    if (/^[^/\s]+:\d+$/.test(raw)) return resolveTcp(`tcp://${raw}`, 'tcp', options, env, home, source);
    throw configError(`unusable Docker endpoint ${JSON.stringify(raw)} from ${source}: use unix:///path/to/docker.sock or tcp://host:port`);
  }
  switch (scheme) {
    case 'unix': {
      const path = raw.slice('unix://'.length);
      if (path === '') return { url: DEFAULT_DOCKER_HOST, protocol: 'http', socketPath: '/var/run/docker.sock' };
      if (!path.startsWith('/')) throw configError(`unusable Docker endpoint ${JSON.stringify(raw)} from ${source}: a unix socket needs an absolute path (unix:///run/docker.sock)`);
      return { url: `unix://${path}`, protocol: 'http', socketPath: path };
    }
    case 'tcp':
    case 'http':
    case 'https':
      return resolveTcp(raw, scheme, options, env, home, source);
    default:
      throw configError(`unsupported Docker endpoint ${JSON.stringify(raw)} from ${source}: whalewatcher speaks unix://, tcp://, http:// and https:// (not ${scheme}://)`);
  }
}

function resolveTcp(raw: string, scheme: 'tcp' | 'http' | 'https', options: DockerEndpointOptions, env: DockerEnv, home: () => string, source: string): DockerEndpoint {
  let url: URL;
  try {
    url = new URL(raw.replace(/^tcp:/i, 'http:'));
  } catch (err) {
    throw configError(`unusable Docker endpoint ${JSON.stringify(raw)} from ${source}: expected tcp://host:port`, err);
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '') throw configError(`unusable Docker endpoint ${JSON.stringify(raw)} from ${source}: no host name`);

  const envVerify = (env['DOCKER_TLS_VERIFY'] ?? '') !== '';
  const envTls = envVerify || (env['DOCKER_TLS'] ?? '') !== '';
  let useTls: boolean;
  let settings: DockerTlsOptions = {};
  if (scheme === 'https') useTls = true;
  else if (scheme === 'http') useTls = false;
  else if (typeof options.tls === 'boolean') useTls = options.tls;
  else if (options.tls !== undefined) useTls = true;
  else useTls = envTls;
  if (typeof options.tls === 'object') settings = options.tls;

  // URL elides default ports (http:…:80), so read the port from the text
  const authority = raw.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  const given = /:(\d+)$/.exec(authority)?.[1];
  const port = given !== undefined ? Number(given) : scheme === 'tcp' ? (useTls ? 2376 : 2375) : scheme === 'https' ? 443 : 80;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const canonical = scheme === 'tcp' ? `tcp://${host}:${port}` : `${scheme}://${host}:${port}`;
  if (!useTls) return { url: canonical, protocol: 'http', hostname, port };

  const verify = settings.verify ?? (envVerify || !envTls);
  const certPath = settings.certPath ?? (env['DOCKER_CERT_PATH'] || join(home(), '.docker'));
  const read = (file: string, required: boolean): Buffer | undefined => {
    try {
      return readFileSync(join(certPath, file));
    } catch (err) {
      if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw configError(`cannot read ${join(certPath, file)} for TLS to ${canonical}: ${(err as Error).message} (set DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem)`, err);
    }
  };
  const ca = read('ca.pem', verify);
  const cert = read('cert.pem', false);
  const key = read('key.pem', cert !== undefined);
  return {
    url: canonical,
    protocol: 'https',
    hostname,
    port,
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined || key === undefined ? {} : { cert, key }),
      rejectUnauthorized: verify,
    },
  };
}
