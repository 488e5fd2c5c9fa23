/**
 * A unix-socket proxy between a client under test and a real engine: a real
 * `node:net` server on a temporary socket that forwards every connection to
 * the engine's socket, byte for byte, and that the spec can make misbehave
 * the way a network does: cut every connection (a short disconnect), refuse
 * new ones for a while (an outage), or stall (accept, forward nothing, never
 * close: a peer gone without FIN, e.g. a NAT timeout).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn } from './listen-on.js';

/** How the proxy treats connections. */
export type ProxyMode = 'forward' | 'refuse' | 'stall';

export interface SocketProxy {
  /** `unix:///tmp/…/proxy.sock` */
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now (client side). */
  readonly openConnections: number;
  /**
   * `forward` (default): new connections are forwarded. `refuse`: new
   * connections are closed at once. `stall`: new connections are accepted and
   * left hanging, and the open ones stop forwarding (nothing is closed).
   */
  mode(mode: ProxyMode): void;
  /** Cuts every open connection (both sides), as a broken network would. */
  cut(): void;
  /** Ends every connection, stops the server, removes its folder. */
  close(): Promise<void>;
}

/** Options of {@link socketProxy}. */
export interface SocketProxyOptions {
  /** Sees every chunk a client sends through the proxy (each connection's own order), e.g. to count requests. */
  readonly onClientData?: (chunk: Buffer, client: Socket) => void;
}

/** A proxy in front of the unix socket `target` (a path, or `unix://…`). */
export async function socketProxy(target: string, options: SocketProxyOptions = {}): Promise<SocketProxy> {
  const upstreamPath = target.replace(/^unix:\/\//, '');
  const dir = await mkdtemp(join(tmpdir(), 'ww-proxy-'));
  const socketPath = join(dir, 'proxy.sock');
  // Both sockets of every connection (client side first).
  const pairs = new Set<{ readonly client: Socket; upstream: Socket | undefined }>();
  let current: ProxyMode = 'forward';
  let accepted = 0;

  const server = createServer((client) => {
    accepted += 1;
    client.on('error', () => undefined);
    const pair: { readonly client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    pairs.add(pair);
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (current === 'refuse') {
      client.destroy();
      return;
    }
    if (current === 'stall') {
      client.pause(); // read nothing, answer nothing, close nothing
      return;
    }
    const upstream = connect(upstreamPath);
    pair.upstream = upstream;
    const tap = options.onClientData;
    if (tap !== undefined) client.on('data', (chunk: Buffer) => tap(chunk, client));
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await listenOn(server, socketPath);

  let closing: Promise<void> | undefined;
  return {
    url: `unix://${socketPath}`,
    get connections() {
      return accepted;
    },
    get openConnections() {
      return pairs.size;
    },
    mode(mode: ProxyMode) {
      current = mode;
      if (mode !== 'stall') return;
      for (const { client, upstream } of pairs) {
        // stop forwarding both ways, close nothing
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    cut() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream?.destroy();
      }
    },
    close() {
      return (closing ??= (async () => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream?.destroy();
        }
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })());
    },
  };
}
