// Endpoint string → grpc-js target, credentials and channel options. Pure
// (no I/O): the channel itself is made by the generated client constructors.

import { isAbsolute, resolve } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { EngineError } from '../errors.js';

/** @internal Largest message accepted by default: big lists (thousands of containers, verbose CRI statuses). */
export const GRPC_MAX_RECEIVE_MESSAGE_LENGTH = 64 * 1024 * 1024;

/**
 * Default channel options: no keepalive pings (local sockets, long idle event
 * streams), a generous receive limit, and quick reconnection, because the
 * watcher owns retry and backoff (grpc-js's own backoff grows to 2 minutes,
 * during which new calls would fail at once).
 *
 * @internal
 */
export const DEFAULT_GRPC_CHANNEL_OPTIONS: Readonly<ChannelOptions> = Object.freeze({
  'grpc.max_receive_message_length': GRPC_MAX_RECEIVE_MESSAGE_LENGTH,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
});

/** @internal How to reach a gRPC endpoint: `new XxxClient(c.target, c.credentials, c.options)`. */
export interface GrpcChannelConfig {
  /** Canonical endpoint for messages and `info().api`: `unix:///abs/path` or `tcp://host:port`. */
  readonly endpoint: string;
  /** grpc-js target: `unix:///abs/path` or `dns:host:port`. */
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly options: ChannelOptions;
}

/**
 * Shortest interval in ms between keepalive pings: grpc-go servers (containerd,
 * measured on 1.7 and 1.6) allow a ping at most every 5 minutes by default
 * while they send nothing, and close the connection with GOAWAY
 * `too_many_pings` ("rejected by server because of excess pings") otherwise.
 * @internal
 */
export const GRPC_MIN_KEEPALIVE_TIME = 300_000;

/**
 * The keepalive channel options that make a dead HTTP/2 connection fail its
 * calls (UNAVAILABLE): an HTTP/2 ping after half of `deadPeerTimeout` without
 * traffic, but not more often than {@link GRPC_MIN_KEEPALIVE_TIME}, to be
 * answered within half of `deadPeerTimeout`, only while a call (the event
 * stream) is open. `{}` for 0 (the default options: no pings). An adapter
 * that needs the tighter bound checks its idle stream itself (containerd's
 * heartbeat probes).
 *
 * @internal
 */
export function grpcKeepAliveOptions(deadPeerTimeout: number): ChannelOptions {
  if (!(deadPeerTimeout > 0)) return {};
  const half = Math.max(1, Math.floor(deadPeerTimeout / 2));
  return { 'grpc.keepalive_time_ms': Math.max(half, GRPC_MIN_KEEPALIVE_TIME), 'grpc.keepalive_timeout_ms': half, 'grpc.keepalive_permit_without_calls': 0 };
}

/** @internal Options of {@link grpcChannelConfig}. */
export interface GrpcChannelConfigOptions {
  /** Engine name for a `config` {@link EngineError} (default `grpc`). */
  readonly engine?: string;
  /** The `deadPeerTimeout` adapter option: keepalive pings (see {@link grpcKeepAliveOptions}); default 0, none. */
  readonly deadPeerTimeout?: number;
  /** Merged over {@link DEFAULT_GRPC_CHANNEL_OPTIONS}. */
  readonly channelOptions?: ChannelOptions;
}

/**
 * Parses an endpoint (`unix:///path`, `unix:/path`, `unix:path`, `/path`, `./path`,
 * `tcp://host:port`, `http://host:port`, `host:port`, `[::1]:port`) into a grpc-js
 * target with insecure credentials (local sockets; the engines here speak plaintext
 * gRPC) and {@link DEFAULT_GRPC_CHANNEL_OPTIONS}. Relative socket paths are made
 * absolute. Throws an {@link EngineError} `config` for anything else.
 *
 * @internal
 */
export function grpcChannelConfig(endpoint: string, options: GrpcChannelConfigOptions = {}): GrpcChannelConfig {
  const engine = options.engine ?? 'grpc';
  const fail = (why: string): never => {
    throw new EngineError(engine, 'config', `unusable gRPC endpoint ${JSON.stringify(endpoint)}: ${why}`, { endpoint });
  };
  const channelOptions: ChannelOptions = { ...DEFAULT_GRPC_CHANNEL_OPTIONS, ...grpcKeepAliveOptions(options.deadPeerTimeout ?? 0), ...options.channelOptions };
  const trimmed = endpoint.trim();
  if (trimmed === '') return fail('empty');

  const unix = (path: string): GrpcChannelConfig => {
    if (path === '') return fail('no socket path');
    const abs = isAbsolute(path) ? path : resolve(path);
    const url = `unix://${abs}`;
    return { endpoint: url, target: url, credentials: credentials.createInsecure(), options: channelOptions };
  };
  const tcp = (hostPort: string): GrpcChannelConfig => {
    const m = /^(\[[0-9a-fA-F:.%\w]+\]|[^:/[\]\s]+):(\d{1,5})\/?$/.exec(hostPort);
    if (!m) return fail('expected host:port');
    const host = m[1] as string;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return fail(`port ${port} out of range`);
    return {
      endpoint: `tcp://${host}:${port}`,
      target: `dns:${host}:${port}`,
      credentials: credentials.createInsecure(),
      options: channelOptions,
    };
  };

  if (/^unix:\/\//i.test(trimmed)) {
    // unix:///abs/path, or unix://relative/path as some tools write it
    return unix(trimmed.slice('unix://'.length));
  }
  if (/^unix:/i.test(trimmed)) return unix(trimmed.slice('unix:'.length));
  if (trimmed.startsWith('/') || trimmed.startsWith('./') || trimmed.startsWith('../')) return unix(trimmed);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(trimmed);
  if (scheme) {
    const name = (scheme[1] as string).toLowerCase();
    const rest = scheme[2] as string;
    if (name === 'tcp' || name === 'http' || name === 'grpc') return tcp(rest);
    return fail(`scheme ${name}:// is not supported (use unix:// or tcp://; TLS is not supported)`);
  }
  return tcp(trimmed);
}
