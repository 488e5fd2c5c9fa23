// One gRPC channel and the generated clients on it, swappable for a fresh
// channel once its connection went dead. No I/O until a call is made.

import { Channel } from '@grpc/grpc-js';
import type { GrpcChannelConfig } from './channel.js';

/** @internal What {@link grpcConnection} hands the client factory: `new XxxClient(target, credentials, shared)`. */
export interface SharedChannel {
  readonly channelOverride: Channel;
}

/** @internal The clients of one adapter on one channel; see {@link grpcConnection}. */
export interface GrpcConnection<C> {
  /** The clients on the current channel: read them anew for every call. */
  readonly clients: C;
  /**
   * Swaps the current channel for a fresh one: calls made from now on open a
   * new connection, calls still on the old one end as they will (the old
   * channel is closed, and drops its connection once they are gone).
   */
  reset(): void;
  /** Closes the current channel; idempotent (a reset after it does nothing). */
  close(): void;
}

/**
 * The clients `make` builds on one channel of `config`, and a way out of a
 * connection that went dead without closing (a stalled peer, a NAT that
 * dropped it): grpc-js keeps sending every call of the channel down such a
 * connection until its keepalive gives up, which may not be sooner than 5
 * minutes (the ping rate grpc-go servers allow). After {@link GrpcConnection.reset}
 * the next calls connect anew. Each channel has its own subchannel pool, so
 * that the fresh channel cannot be handed the dead connection back by
 * grpc-js's process-wide pool.
 *
 * @internal
 */
export function grpcConnection<C>(config: GrpcChannelConfig, make: (shared: SharedChannel) => C): GrpcConnection<C> {
  const open = () => {
    const channel = new Channel(config.target, config.credentials, { ...config.options, 'grpc.use_local_subchannel_pool': 1 });
    return { channel, clients: make({ channelOverride: channel }) };
  };
  // The channel new calls go to.
  let current = open();
  // True once closed for good.
  let closed = false;
  return {
    get clients() {
      return current.clients;
    },
    reset() {
      if (closed) return;
      const dead = current;
      current = open();
      dead.channel.close();
    },
    close() {
      if (closed) return;
      closed = true;
      current.channel.close();
    },
  };
}

/**
 * Defines on `target` one getter per client of `connection`, each reading
 * the current channel's client (code that reads `client.events` after a
 * reset gets the fresh one); returns `target`.
 *
 * @internal
 */
export function withCurrentClients<R extends C, C extends object>(target: Omit<R, keyof C>, connection: GrpcConnection<C>): R {
  for (const key of Object.keys(connection.clients)) {
    Object.defineProperty(target, key, { enumerable: true, get: () => (connection.clients as Record<string, unknown>)[key] });
  }
  return target as R;
}

/**
 * The two ends of a gRPC adapter's connection: `dropConnection` swaps the
 * channel (a dead peer), `dispose` ends the adapter's calls (`calls`, the
 * kit's) and then closes the channel, once.
 *
 * @internal
 */
export function connectionControls(connection: GrpcConnection<object>, calls: { readonly disposed: boolean; dispose(): void }): { dropConnection(): void; dispose(): void } {
  return {
    dropConnection: () => connection.reset(),
    dispose() {
      if (calls.disposed) return;
      calls.dispose();
      connection.close();
    },
  };
}
