import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { grpcEngineError, grpcSaid, isGrpcNotFound } from '../../../lib/engines/common/grpc-engine-error.js';
import { CONTAINERD_TERMS } from '../../../lib/engines/containerd/containerd-errors.js';

const AT = 'unix:///run/containerd/containerd.sock';

function serviceError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: undefined });
}

describe('grpcEngineError (the one gRPC mapper of containerd and CRI)', () => {
  const table: { name: string; err: unknown; core: boolean; code: EngineError['code'] }[] = [
    { name: 'UNAVAILABLE (nothing listens)', err: serviceError(status.UNAVAILABLE, 'No connection established. Last error: connect ENOENT /x.sock'), core: true, code: 'unreachable' },
    { name: 'UNAVAILABLE EACCES', err: serviceError(status.UNAVAILABLE, 'connect EACCES /x.sock'), core: true, code: 'permission' },
    { name: 'UNIMPLEMENTED on a call every engine has', err: serviceError(status.UNIMPLEMENTED, 'method not found'), core: true, code: 'protocol' },
    { name: 'UNIMPLEMENTED on an optional call', err: serviceError(status.UNIMPLEMENTED, 'method not found'), core: false, code: 'unsupported' },
    { name: 'UNIMPLEMENTED "No message received" (a truncated frame)', err: serviceError(status.UNIMPLEMENTED, 'No message received'), core: true, code: 'decode' },
    { name: 'INTERNAL parse error', err: serviceError(status.INTERNAL, 'Response message parsing error: premature EOF'), core: true, code: 'decode' },
    { name: 'not a gRPC error', err: new TypeError('boom'), core: true, code: 'engine' },
  ];
  for (const { name, err, core, code } of table) {
    it(`${name} → ${code}, worded by the kit, with the gRPC status in the message`, () => {
      const e = grpcEngineError(CONTAINERD_TERMS, AT, err, 'listing tasks', core);
      expect(e).to.include({ engine: 'containerd', code, endpoint: AT, cause: err });
      expect(e.message).to.contain(` while listing tasks (${grpcSaid(err)}): `);
    });
  }
  it('passes EngineErrors through unchanged', () => {
    const original = new EngineError('containerd', 'closed', 'x');
    expect(grpcEngineError(CONTAINERD_TERMS, AT, original, 'w', true)).to.equal(original);
  });
  it('isGrpcNotFound: NOT_FOUND only', () => {
    expect(isGrpcNotFound(serviceError(status.NOT_FOUND, 'no such task'))).to.equal(true);
    expect(isGrpcNotFound(serviceError(status.UNKNOWN, 'not found'))).to.equal(false);
    expect(isGrpcNotFound(new Error('not found'))).to.equal(false);
  });
});
