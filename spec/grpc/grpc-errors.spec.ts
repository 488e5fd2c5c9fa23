import { expect } from 'chai';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { VersionClient } from '../../lib/gen/containerd/services/version/v1/version.js';
import { EngineError } from '../../lib/errors.js';
import type { EngineErrorCode } from '../../lib/errors.js';
import { grpcChannelConfig } from '../../lib/grpc/channel.js';
import { grpcErrorCode, isClientCancellation, isGrpcServiceError } from '../../lib/grpc/grpc-errors.js';
import { unaryCall } from '../helpers/unary-call.js';
import { expectNoLeakedHandles, handleCounts, startTestServer, tick } from './grpc-test-server.js';

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

describe('grpc/grpc-errors', () => {
  describe('grpcErrorCode', () => {
    const table: ReadonlyArray<readonly [status, string, EngineErrorCode]> = [
      [status.CANCELLED, 'Cancelled on client', 'closed'],
      [status.CANCELLED, 'context canceled', 'engine'],
      [status.UNAVAILABLE, 'No connection established. Last error: Error: connect ENOENT /run/containerd/containerd.sock.', 'unreachable'],
      [status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED /x.sock', 'unreachable'],
      [status.UNAVAILABLE, 'No connection established. Last error: Error: connect EACCES /run/containerd/containerd.sock', 'permission'],
      [status.UNAVAILABLE, 'No connection established. Last error: Protocol error (2026-01-01T00:00:00.000Z)', 'protocol'],
      [status.UNAVAILABLE, 'Connection dropped', 'unreachable'],
      [status.UNAVAILABLE, 'Received HTTP status code 503', 'unreachable'],
      [status.UNIMPLEMENTED, 'unknown method GetContainerEvents for service runtime.v1.RuntimeService', 'unsupported'],
      [status.UNIMPLEMENTED, 'method GetContainerEvents not implemented', 'unsupported'],
      [status.UNIMPLEMENTED, 'The server does not implement the method /runtime.v1.RuntimeService/GetContainerEvents', 'unsupported'],
      [status.UNIMPLEMENTED, 'unknown service runtime.v1.RuntimeService', 'protocol'],
      [status.UNIMPLEMENTED, 'Received HTTP status code 404', 'protocol'],
      [status.PERMISSION_DENIED, 'nope', 'permission'],
      [status.UNAUTHENTICATED, 'Received HTTP status code 401', 'permission'],
      [status.INTERNAL, 'Response message parsing error: premature EOF', 'decode'],
      [status.INTERNAL, 'Received RST_STREAM with code 0 (Call ended without gRPC status)', 'protocol'],
      [status.INTERNAL, 'grpc: error unmarshalling request: unexpected EOF', 'protocol'],
      [status.INTERNAL, 'Error deserializing request: invalid wire type 7', 'protocol'],
      [status.INTERNAL, 'failed to list containers: something broke', 'engine'],
      [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 0.502s,name resolution: 0.001s,Waiting for LB pick', 'unreachable'],
      [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.000s,remote_addr=/x.sock', 'engine'],
      [status.UNKNOWN, 'Received HTTP status code 500', 'protocol'],
      [status.UNKNOWN, 'oops', 'engine'],
      [status.NOT_FOUND, 'container "x" in namespace "default": not found', 'engine'],
      [status.RESOURCE_EXHAUSTED, 'Received message larger than max (70000000 vs 67108864)', 'engine'],
    ];
    for (const [code, details, expected] of table) {
      it(`${status[code]} "${details}" → ${expected}`, () => {
        expect(grpcErrorCode(serviceError(code, details))).to.equal(expected);
      });
    }

    it('keeps the code of an EngineError and calls other errors engine', () => {
      expect(grpcErrorCode(new EngineError('cri', 'config', 'bad'))).to.equal('config');
      expect(grpcErrorCode(new Error('x'))).to.equal('engine');
      expect(grpcErrorCode('x')).to.equal('engine');
    });

    it('isGrpcServiceError / isClientCancellation', () => {
      expect(isGrpcServiceError(serviceError(status.CANCELLED, 'Cancelled on client'))).to.equal(true);
      expect(isGrpcServiceError({ code: 1, details: 'x' })).to.equal(false);
      expect(isClientCancellation(serviceError(status.CANCELLED, 'Cancelled on client'))).to.equal(true);
      expect(isClientCancellation(serviceError(status.CANCELLED, 'server gone'))).to.equal(false);
      expect(isClientCancellation(serviceError(status.UNAVAILABLE, 'Cancelled on client'))).to.equal(false);
    });
  });

  describe('against real peers on unix sockets', () => {
    let baseline: Map<string, number>;

    before(async () => {
      await tick();
      baseline = handleCounts();
    });

    after(async () => {
      await expectNoLeakedHandles(baseline);
    });

    /** One Version call through the generated client at `address`; returns the error code mapping. */
    async function versionError(address: string): Promise<{ error: ServiceError; code: EngineErrorCode }> {
      const c = grpcChannelConfig(address);
      const client = new VersionClient(c.target, c.credentials, c.options);
      try {
        const error = (await unaryCall(client.version.bind(client), {}, new Metadata(), { deadline: Date.now() + 3000 }).then(
          () => {
            throw new Error('the call unexpectedly succeeded');
          },
          (e: unknown) => e,
        )) as ServiceError;
        return { error, code: grpcErrorCode(error) };
      } finally {
        client.close();
      }
    }

    async function listen(server: NetServer, path: string): Promise<() => Promise<void>> {
      const sockets = new Set<Socket>();
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(path, resolve));
      return () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        });
    }

    it('no socket → unreachable', async () => {
      const srv = await startTestServer([]);
      try {
        const { error, code } = await versionError(`${srv.dir}/missing.sock`);
        expect(error.code).to.equal(status.UNAVAILABLE);
        expect(code).to.equal('unreachable');
      } finally {
        await srv.close();
      }
    });

    it('an HTTP/1 server (e.g. a Docker socket) → protocol', async () => {
      const srv = await startTestServer([]);
      const http = createHttpServer((_req, res) => res.writeHead(404).end('page not found'));
      const close = await listen(http, `${srv.dir}/http1.sock`);
      try {
        const { error, code } = await versionError(`${srv.dir}/http1.sock`);
        expect(code, error.details).to.equal('protocol');
      } finally {
        http.closeAllConnections();
        await close();
        await srv.close();
      }
    });

    it('a socket that answers garbage → protocol', async () => {
      const srv = await startTestServer([]);
      const raw = createNetServer((s) => {
        s.on('error', () => {});
        s.end('220 smtp.example ESMTP ready\r\n');
      });
      const close = await listen(raw, `${srv.dir}/garbage.sock`);
      try {
        const { error, code } = await versionError(`${srv.dir}/garbage.sock`);
        expect(code, error.details).to.equal('protocol');
      } finally {
        await close();
        await srv.close();
      }
    });

    it('an HTTP/2 server that is not gRPC → protocol', async () => {
      const srv = await startTestServer([]);
      const h2 = createHttp2Server();
      h2.on('stream', (stream) => {
        stream.respond({ ':status': 404, 'content-type': 'text/plain' });
        stream.end('not here');
      });
      const close = await listen(h2 as unknown as NetServer, `${srv.dir}/h2.sock`);
      try {
        const { error, code } = await versionError(`${srv.dir}/h2.sock`);
        expect(error.code).to.equal(status.UNIMPLEMENTED);
        expect(code, error.details).to.equal('protocol');
      } finally {
        await close();
        await srv.close();
      }
    });

    it('a gRPC server without the method → unsupported', async () => {
      const srv = await startTestServer([]);
      try {
        const { error, code } = await versionError(srv.address);
        expect(error.code).to.equal(status.UNIMPLEMENTED);
        expect(code).to.equal('unsupported');
      } finally {
        await srv.close();
      }
    });

    it('a response that does not decode → decode', async () => {
      const raw: ServiceDefinition = {
        version: {
          path: '/containerd.services.version.v1.Version/Version',
          requestStream: false,
          responseStream: false,
          requestSerialize: (v: Buffer) => v,
          requestDeserialize: (v: Buffer) => v,
          responseSerialize: (v: Buffer) => v,
          responseDeserialize: (v: Buffer) => v,
        },
      };
      // field 1 with wire type 7 (does not exist)
      const srv = await startTestServer([[raw, { version: (_c: unknown, cb: (e: null, v: Buffer) => void) => cb(null, Buffer.from([0x0f, 0x01])) }]]);
      try {
        const { error, code } = await versionError(srv.address);
        expect(error.code).to.equal(status.INTERNAL);
        expect(code, error.details).to.equal('decode');
      } finally {
        await srv.close();
      }
    });
  });
});
