// One error-message builder for every engine: each EngineError whalewatcher
// makes reads "<what happened> while <what we were doing> (<what the engine
// or the OS said>): <what to do>", in the engine's own words. Pure.

import { EngineError, type EngineErrorCode } from '../../errors.js';

/** How an engine is named in error messages, and what to tell a user to do. @internal */
export interface EngineTerms {
  /** Engine name of its errors: `docker`, `containerd`, `cri`. */
  readonly engine: string;
  /** The engine as a noun phrase: `the Docker engine`, `containerd`, `the CRI runtime`. */
  readonly name: string;
  /** Nothing of that engine: `no Docker engine`, `no containerd`, `no CRI runtime`. */
  readonly nobody: string;
  /** The API whose absence makes a `protocol` error: `a Docker engine API`, `containerd's gRPC API`, … */
  readonly api: string;
  /** The kind of socket the endpoint should be: `a Docker or Podman API socket`, … */
  readonly socket: string;
  /** How to point whalewatcher elsewhere: `set DOCKER_HOST or the host option`. */
  readonly setting: string;
  /** How to get access to the socket. */
  readonly access: string;
  /** What to do about a missing call: `upgrade containerd`. */
  readonly upgrade: string;
}

/** The parts of one message. Only `what` is required; the rest defaults by code. @internal */
export interface ErrorParts {
  /** What whalewatcher was doing: `listing containers`, `watching the event stream`. */
  readonly what: string;
  /** What the engine, the transport or the OS said (`ENOENT`, `gRPC UNAVAILABLE: …`, `HTTP 500: …`). */
  readonly said?: string | undefined;
  /** The original error. */
  readonly cause?: unknown;
  /** Replaces the code's headline (e.g. `lost the connection to …`). */
  readonly headline?: string | undefined;
  /** Replaces the code's advice. */
  readonly advice?: string | undefined;
}

function headline(t: EngineTerms, endpoint: string, code: EngineErrorCode): string {
  switch (code) {
    case 'unreachable':
      return `${t.nobody} at ${endpoint}`;
    case 'permission':
      return `permission denied by ${endpoint}`;
    case 'protocol':
      return `something at ${endpoint} answers, but not like ${t.api}`;
    case 'decode':
      return `${t.name} at ${endpoint} sent data that could not be decoded`;
    case 'unsupported':
      return `${t.name} at ${endpoint} does not implement a call whalewatcher needs`;
    case 'closed':
      return `the ${t.engine} adapter for ${endpoint} was closed`;
    case 'config':
      return `unusable ${t.engine} configuration for ${endpoint}`;
    case 'engine':
      return `${t.name} at ${endpoint} failed`;
  }
}

function advice(t: EngineTerms, code: EngineErrorCode): string {
  switch (code) {
    case 'unreachable':
      return `is it running? ${t.setting}`;
    case 'permission':
      return t.access;
    case 'protocol':
      return `check that the endpoint is ${t.socket}`;
    case 'decode':
      return 'a bug, or a proxy in the way';
    case 'unsupported':
      return t.upgrade;
    case 'closed':
      return 'whalewatcher was closed; nothing to do';
    case 'config':
      return `fix the endpoint: ${t.setting}`;
    case 'engine':
      return 'whalewatcher retries; see the engine\'s log if this persists';
  }
}

/**
 * The one way whalewatcher words an {@link EngineError}:
 * `<headline> while <what> (<said>): <advice>`, headline and advice chosen by
 * `code` in the engine's {@link EngineTerms} unless `parts` overrides them.
 * @internal
 */
export function engineError(terms: EngineTerms, endpoint: string, code: EngineErrorCode, parts: ErrorParts): EngineError {
  const said = parts.said === undefined || parts.said === '' ? '' : ` (${parts.said})`;
  const message = `${parts.headline ?? headline(terms, endpoint, code)} while ${parts.what}${said}: ${parts.advice ?? advice(terms, code)}`;
  return new EngineError(terms.engine, code, message, parts.cause === undefined ? { endpoint } : { cause: parts.cause, endpoint });
}

/** The errors every adapter makes for the same situations, worded once. @internal */
export interface EngineErrors {
  readonly terms: EngineTerms;
  readonly endpoint: string;
  /** An error of `code` with the code's headline and advice. */
  of(code: EngineErrorCode, what: string, said?: string, cause?: unknown): EngineError;
  /** No answer within `ms` (code `engine`); `ms` undefined when the transport did not say. */
  timedOut(what: string, ms: number | undefined, cause?: unknown): EngineError;
  /** The connection broke under a call or stream (code `engine`). */
  connectionLost(what: string, said?: string, cause?: unknown): EngineError;
  /** The engine ended a stream that should run forever (code `engine`). */
  streamEnded(what: string, said?: string, cause?: unknown): EngineError;
  /** A silent connection whose liveness check got no answer within `ms`: the peer is gone without closing it (code `unreachable`). */
  deadPeer(what: string, ms: number, cause?: unknown): EngineError;
  /** A call made after `dispose()`, or cut by whalewatcher itself (code `closed`). */
  closed(what: string, cause?: unknown): EngineError;
}

/** The {@link EngineErrors} of one engine at one endpoint. @internal */
export function engineErrors(terms: EngineTerms, endpoint: string): EngineErrors {
  return {
    terms,
    endpoint,
    of: (code, what, said, cause) => engineError(terms, endpoint, code, { what, said, cause }),
    timedOut: (what, ms, cause) =>
      engineError(terms, endpoint, 'engine', {
        what,
        cause,
        headline: `${terms.name} at ${endpoint} did not answer${ms === undefined ? '' : ` within ${ms} ms`}`,
        advice: 'is it overloaded or hung?',
      }),
    connectionLost: (what, said, cause) =>
      engineError(terms, endpoint, 'engine', { what, said, cause, headline: `lost the connection to ${terms.name} at ${endpoint}`, advice: 'the engine stopped or restarted; whalewatcher reconnects' }),
    streamEnded: (what, said, cause) =>
      engineError(terms, endpoint, 'engine', { what, said, cause, headline: `${terms.name} at ${endpoint} ended the stream`, advice: 'stopped or restarted? whalewatcher reconnects' }),
    deadPeer: (what, ms, cause) =>
      engineError(terms, endpoint, 'unreachable', {
        what,
        cause,
        said: `no answer to a liveness check within ${ms} ms`,
        headline: `the connection to ${terms.name} at ${endpoint} went dead`,
        advice: 'the engine, its host or the network between went away without closing the connection (a NAT or firewall timeout, a host down); whalewatcher reconnects',
      }),
    closed: (what, cause) => engineError(terms, endpoint, 'closed', { what, cause }),
  };
}
