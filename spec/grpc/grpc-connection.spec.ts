/**
 * grpcConnection against a real gRPC server (one that implements nothing: every call answers
 * UNIMPLEMENTED, which is enough to make a connection) behind a counting socket proxy: each connection
 * has its own, a reset moves the next calls to a new one and lets the old one go, close ends it.
 */
import { expect } from 'chai';
import { grpcChannelConfig } from '../../lib/grpc/channel.js';
import { type GrpcConnection, grpcConnection, withCurrentClients } from '../../lib/grpc/grpc-connection.js';
import { VersionClient } from '../../lib/gen/containerd/services/version/v1/version.js';
import { type FakeSocket, unimplementedGrpcServer } from '../fakes/grpc-fakes.js';
import { type SocketProxy, socketProxy } from '../fakes/socket-proxy.js';
import { eventually } from '../helpers/observe.js';

describe('grpc/grpc-connection: grpcConnection', () => {
  let server: FakeSocket;
  let proxy: SocketProxy;
  const opened: GrpcConnection<{ version: VersionClient }>[] = [];

  beforeEach(async () => {
    server = await unimplementedGrpcServer();
    proxy = await socketProxy(server.address);
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) c.close();
    await proxy.close();
    await server.close();
  });

  function connection(): GrpcConnection<{ version: VersionClient }> {
    const config = grpcChannelConfig(proxy.url);
    const c = grpcConnection(config, (shared) => ({ version: new VersionClient(config.target, config.credentials, shared) }));
    opened.push(c);
    return c;
  }
  /** One call on the connection's current channel; resolves with its gRPC status code. */
  const call = (c: GrpcConnection<{ version: VersionClient }>) => new Promise<number>((resolve) => c.clients.version.version({}, (err) => resolve(err?.code ?? 0)));

  it('two connections to the same endpoint have one socket each (no shared subchannel to hand a dead connection back)', async () => {
    const [a, b] = [connection(), connection()];
    await call(a);
    await call(b);
    expect(proxy.connections).to.equal(2);
  });

  it('reset: the next call opens a new socket, the old one is let go, getters read the new clients; close: the socket ends, and a reset after it does nothing', async () => {
    const c = connection();
    const first = c.clients;
    const client = withCurrentClients<{ readonly version: VersionClient; readonly name: string }, { version: VersionClient }>({ name: 'adapter' }, c);
    expect(client.version).to.equal(first.version);
    await call(c);
    expect(proxy.connections).to.equal(1);
    c.reset();
    expect(c.clients, 'new clients on the new channel').to.not.equal(first);
    expect(client.version, 'read through the getter: the current one').to.equal(c.clients.version);
    expect(client.name).to.equal('adapter');
    await call(c);
    expect(proxy.connections).to.equal(2);
    await eventually(() => proxy.openConnections === 1, 'the old socket closed');
    c.close();
    c.close();
    await eventually(() => proxy.openConnections === 0, 'the socket closed');
    const last = c.clients;
    c.reset();
    expect(c.clients).to.equal(last);
  });
});
