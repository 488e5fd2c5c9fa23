import { expect } from 'chai';
import { Metadata } from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { lastValueFrom, toArray } from 'rxjs';
import {
  ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  ContainerStatus,
  ListContainersResponse,
  PodSandboxState,
  PodSandboxStatus,
  RuntimeServiceClient,
  RuntimeServiceService,
  StopContainerRequest,
} from '../../lib/gen/cri/api.js';
import type { RuntimeServiceServer } from '../../lib/gen/cri/api.js';
import { Envelope } from '../../lib/gen/containerd/services/events/v1/events.js';
import { ServerResponse } from '../../lib/gen/containerd/services/introspection/v1/introspection.js';
import { TaskExit } from '../../lib/gen/containerd/events/task.js';
import { Timestamp } from '../../lib/gen/google/protobuf/timestamp.js';
import { grpcChannelConfig } from '../../lib/grpc/channel.js';
import { fromServerStream } from '../../lib/grpc/server-stream.js';
import { unaryCall } from '../helpers/unary-call.js';
import { expectNoLeakedHandles, handleCounts, startTestServer, tick } from '../grpc/grpc-test-server.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** A CRI nanosecond timestamp of today (about 1.7e18, far beyond 2^53). */
const NOW_NS = 1_732_360_000_123_456_789n;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function containerStatus(id: string, createdAt: bigint): ContainerStatus {
  return ContainerStatus.fromPartial({
    id,
    metadata: { name: id, attempt: 0 },
    state: ContainerState.CONTAINER_RUNNING,
    createdAt,
    startedAt: createdAt / 2n,
    finishedAt: 0n,
    labels: { 'io.kubernetes.pod.name': 'p' },
  });
}

describe('protos: int64 and timestamps round-trip losslessly as bigint', () => {
  describe('google.protobuf.Timestamp (containerd Envelope.timestamp)', () => {
    const cases: ReadonlyArray<readonly [string, bigint, number]> = [
      ['2^63 - 1 seconds, max nanos', INT64_MAX, 999_999_999],
      ['-2^63 seconds', INT64_MIN, 0],
      ['2^53 + 1 seconds', 2n ** 53n + 1n, 1],
      ['today, with nanoseconds', 1_732_360_000n, 123_456_789],
    ];
    for (const [name, seconds, nanos] of cases) {
      it(name, () => {
        const env = Envelope.fromPartial({ timestamp: { seconds, nanos }, namespace: 'default', topic: '/tasks/exit' });
        const back = Envelope.decode(Envelope.encode(env).finish());
        expect(back.timestamp?.seconds).to.be.a('bigint').and.equal(seconds);
        expect(back.timestamp?.nanos).to.equal(nanos);
        expect(back).to.deep.equal(env);
      });
    }

    it('accepts decimal strings for int64 in fromPartial (e.g. from JSON)', () => {
      expect(Timestamp.fromPartial({ seconds: '9223372036854775807', nanos: 5 })).to.deep.equal({ seconds: INT64_MAX, nanos: 5 });
    });
  });

  describe('CRI int64 nanosecond fields', () => {
    const values: readonly bigint[] = [INT64_MAX, 2n ** 53n + 1n, NOW_NS, 0n, -1n, INT64_MIN];
    for (const v of values) {
      it(`created_at = ${v}`, () => {
        const ev: ContainerEventResponse = {
          containerId: 'c1',
          containerEventType: ContainerEventType.CONTAINER_STARTED_EVENT,
          createdAt: v,
          podSandboxStatus: PodSandboxStatus.fromPartial({ id: 's1', state: PodSandboxState.SANDBOX_READY, createdAt: v }),
          containersStatuses: [containerStatus('c1', v)],
        };
        const back = ContainerEventResponse.decode(ContainerEventResponse.encode(ev).finish());
        expect(back.createdAt).to.be.a('bigint').and.equal(v);
        expect(back.podSandboxStatus?.createdAt).to.equal(v);
        expect(back).to.deep.equal(ev);
      });
    }

    it('encodes exactly the upstream wire bytes', () => {
      const ev = ContainerEventResponse.fromPartial({
        containerId: 'c',
        containerEventType: ContainerEventType.CONTAINER_STOPPED_EVENT,
        createdAt: INT64_MAX,
      });
      // 1: string "c" | 2: varint 2 | 3: varint 2^63-1
      expect(hex(ContainerEventResponse.encode(ev).finish())).to.equal('0a01631002' + '18ffffffffffffffff7f');
      // a negative int64 is a 10-byte varint
      expect(hex(StopContainerRequest.encode({ containerId: '', timeout: -1n }).finish())).to.equal('10ffffffffffffffffff01');
    });

    it('refuses to encode values beyond int64 instead of wrapping', () => {
      expect(() => ContainerEventResponse.encode(ContainerEventResponse.fromPartial({ createdAt: INT64_MAX + 1n }))).to.throw(/too large/);
    });

    it('uint64 (introspection pid, pidns) up to 2^64 - 1', () => {
      const res = ServerResponse.fromPartial({ uuid: 'u', pid: UINT64_MAX, pidns: 4026531836n });
      expect(ServerResponse.decode(ServerResponse.encode(res).finish())).to.deep.equal(res);
    });
  });

  describe('wire compatibility with the full upstream messages', () => {
    it('skips the upstream fields the subset dropped and keeps the others', () => {
      // ContainerStatus as upstream encodes it, with mounts (14), resources (16) and user (18)
      const w = new BinaryWriter();
      w.uint32((1 << 3) | 2).string('c1');
      w.uint32((14 << 3) | 2).fork().uint32((1 << 3) | 2).string('/data').uint32((2 << 3) | 2).string('/host').join();
      w.uint32((4 << 3) | 0).int64(NOW_NS);
      w.uint32((16 << 3) | 2).fork().uint32((1 << 3) | 2).fork().uint32((1 << 3) | 0).int64(100000n).join().join();
      w.uint32((3 << 3) | 0).int32(ContainerState.CONTAINER_EXITED);
      w.uint32((18 << 3) | 2).fork().uint32((1 << 3) | 2).fork().uint32((1 << 3) | 0).int64(1000n).join().join();
      w.uint32((7 << 3) | 0).int32(137);
      const status = ContainerStatus.decode(w.finish());
      expect(status).to.include({ id: 'c1', createdAt: NOW_NS, state: ContainerState.CONTAINER_EXITED, exitCode: 137 });
    });

    it('decodes a containerd task event carried in Envelope.event (google.protobuf.Any)', () => {
      const exit = TaskExit.fromPartial({
        containerId: 'web',
        id: 'web',
        pid: 4242,
        exitStatus: 137,
        exitedAt: { seconds: 1_732_360_000n, nanos: 123_456_789 },
      });
      const env = Envelope.fromPartial({
        timestamp: { seconds: 1_732_360_000n, nanos: 200_000_000 },
        namespace: 'default',
        topic: '/tasks/exit',
        event: { typeUrl: 'containerd.events.TaskExit', value: Buffer.from(TaskExit.encode(exit).finish()) },
      });
      const back = Envelope.decode(Envelope.encode(env).finish());
      expect(back.event?.typeUrl).to.equal('containerd.events.TaskExit');
      expect(TaskExit.decode(back.event?.value ?? new Uint8Array())).to.deep.equal(exit);
      // upstream numbering of TaskExit: 1 container_id, 2 id, 3 pid, 4 exit_status, 5 exited_at
      const r = new BinaryReader(TaskExit.encode(exit).finish());
      const tags: number[] = [];
      while (r.pos < r.len) {
        const [field, wireType] = r.tag();
        tags.push(field);
        r.skip(wireType);
      }
      expect(tags).to.deep.equal([1, 2, 3, 4, 5]);
    });
  });

  describe('over a real grpc-js connection (CRI RuntimeService)', () => {
    let baseline: Map<string, number>;

    before(async () => {
      await tick();
      baseline = handleCounts();
    });

    after(async () => {
      await expectNoLeakedHandles(baseline);
    });

    it('ListContainers and GetContainerEvents deliver int64 nanoseconds as exact bigints', async () => {
      const values = [NOW_NS, INT64_MAX, 2n ** 53n + 1n, -1n];
      const impl: Partial<RuntimeServiceServer> = {
        listContainers(_call, callback) {
          callback(null, {
            containers: values.map((createdAt, i) => ({
              id: `c${i}`,
              podSandboxId: 's',
              imageRef: 'busybox',
              imageId: '',
              state: ContainerState.CONTAINER_RUNNING,
              createdAt,
              labels: {},
              annotations: {},
            })),
          });
        },
        getContainerEvents(call) {
          for (const createdAt of values) {
            call.write({
              containerId: 'c',
              containerEventType: ContainerEventType.CONTAINER_CREATED_EVENT,
              createdAt,
              containersStatuses: [containerStatus('c', createdAt)],
            });
          }
          call.end();
        },
      };
      const srv = await startTestServer([[RuntimeServiceService, impl as RuntimeServiceServer]]);
      const c = grpcChannelConfig(srv.address);
      const client = new RuntimeServiceClient(c.target, c.credentials, c.options);
      try {
        const list: ListContainersResponse = await unaryCall(client.listContainers.bind(client), {}, new Metadata());
        expect(list.containers.map((x) => x.createdAt)).to.deep.equal(values);
        const events = await lastValueFrom(fromServerStream(() => client.getContainerEvents({})).pipe(toArray()));
        expect(events.map((e) => e.createdAt)).to.deep.equal(values);
        expect(events.map((e) => e.containersStatuses[0]?.startedAt)).to.deep.equal(values.map((v) => v / 2n));
        for (const e of events) expect(e.createdAt).to.be.a('bigint');
      } finally {
        client.close();
        await srv.close();
      }
    });
  });
});
