import { expect } from 'chai';
import { Metadata, status } from '@grpc/grpc-js';
import type { ClientReadableStream, ServerWritableStream, ServiceError, StatusObject } from '@grpc/grpc-js';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { EventsClient, EventsService } from '../../lib/gen/containerd/services/events/v1/events.js';
import type { Envelope, EventsServer, SubscribeRequest } from '../../lib/gen/containerd/services/events/v1/events.js';
import { fromServerStream } from '../../lib/grpc/server-stream.js';
import { grpcErrorCode } from '../../lib/grpc/grpc-errors.js';
import { grpcChannelConfig } from '../../lib/grpc/channel.js';
import { expectNoLeakedHandles, handleCounts, startTestServer, tick } from './grpc-test-server.js';
import type { TestServer } from './grpc-test-server.js';

type Call = ServerWritableStream<SubscribeRequest, Envelope>;

const envelope = (topic: string, n = 0): Envelope => ({
  timestamp: { seconds: 1_700_000_000n + BigInt(n), nanos: n },
  namespace: 'default',
  topic,
  event: { typeUrl: 'containerd.events.TaskStart', value: Buffer.from([10, 1, 0x61, 16, n]) },
});

/** Resolves when `predicate` holds, polling on macrotasks (fails the test by timeout otherwise). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await tick(2);
}

describe('grpc/server-stream: fromServerStream', () => {
  let baseline: Map<string, number>;
  let srv: TestServer;
  let client: EventsClient;
  /** What the server does with each Subscribe call (set per test). */
  let behaviour: (call: Call) => void;
  let calls: Call[];
  let cancelled: number;

  before(async () => {
    await tick(); // so the baseline includes this hook's own mocha timer, as the after hook will have
    baseline = handleCounts();
    const impl: EventsServer = {
      publish(_call, callback) {
        callback(null, {});
      },
      subscribe(call) {
        calls.push(call);
        call.on('cancelled', () => {
          cancelled++;
        });
        behaviour(call);
      },
    };
    srv = await startTestServer([[EventsService, impl]]);
  });

  beforeEach(() => {
    calls = [];
    cancelled = 0;
    behaviour = () => {};
    const c = grpcChannelConfig(srv.address);
    client = new EventsClient(c.target, c.credentials, c.options);
  });

  afterEach(() => {
    client.close();
  });

  after(async function () {
    this.timeout(5000);
    await srv.close();
    await expectNoLeakedHandles(baseline, 3000);
  });

  it('is cold: no call until subscribed, one call per subscription', async () => {
    behaviour = (call) => call.end();
    let started = 0;
    const envelope$ = fromServerStream(() => {
      started++;
      return client.subscribe({ filters: [] });
    });
    await tick(20);
    expect(started).to.equal(0);
    expect(calls).to.have.length(0);
    await lastValueFrom(envelope$, { defaultValue: undefined });
    await lastValueFrom(envelope$, { defaultValue: undefined });
    expect(started).to.equal(2);
    expect(calls).to.have.length(2);
  });

  it('emits the messages in order, passes the request, and completes when the server ends', async () => {
    behaviour = (call) => {
      for (let i = 0; i < 50; i++) call.write(envelope(`/tasks/start`, i));
      call.write(envelope('/tasks/exit', 50));
      call.end();
    };
    const got = await lastValueFrom(
      fromServerStream(() => client.subscribe({ filters: ['topic~="/tasks/"'] })).pipe(toArray()),
    );
    expect(got).to.have.length(51);
    expect(got.map((e) => e.timestamp?.nanos)).to.deep.equal([...Array(51).keys()]);
    expect(got[50]?.topic).to.equal('/tasks/exit');
    expect(got[0]).to.deep.equal(envelope('/tasks/start', 0));
    expect(calls[0]?.request.filters).to.deep.equal(['topic~="/tasks/"']);
  });

  it('cancels the call on the server side on unsubscribe', async () => {
    behaviour = (call) => call.write(envelope('/tasks/start'));
    let stream: ClientReadableStream<Envelope> | undefined;
    const first = await firstValueFrom(
      fromServerStream(() => (stream = client.subscribe({ filters: [] }))),
    ); // firstValueFrom unsubscribes after the first value
    expect(first.topic).to.equal('/tasks/start');
    await until(() => cancelled === 1);
    expect(calls[0]?.cancelled).to.equal(true);
    // the error listener stays attached after cancel (grpc-js emits CANCELLED)
    expect(stream?.listenerCount('error')).to.equal(1);
    expect(stream?.listenerCount('data')).to.equal(0);
  });

  it('swallows the CANCELLED error grpc-js emits after an unsubscribe (no unhandled error)', async () => {
    behaviour = (call) => call.write(envelope('/tasks/start'));
    let stream: ClientReadableStream<Envelope> | undefined;
    const statuses: StatusObject[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => {
      uncaught.push(e);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      const values: Envelope[] = [];
      let errored: unknown;
      const sub = fromServerStream(() => {
        stream = client.subscribe({ filters: [] });
        stream.on('status', (s: StatusObject) => statuses.push(s));
        return stream;
      }).subscribe({ next: (v) => values.push(v), error: (e: unknown) => (errored = e) });
      await until(() => values.length === 1);
      sub.unsubscribe();
      await until(() => statuses.length === 1);
      await tick(10);
      expect(statuses[0]?.code).to.equal(status.CANCELLED);
      expect(errored).to.equal(undefined);
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });

  it('cancels a call unsubscribed before the server answered anything', async () => {
    const sub = fromServerStream(() => client.subscribe({ filters: [] })).subscribe();
    await until(() => calls.length === 1);
    sub.unsubscribe();
    await until(() => cancelled === 1);
  });

  it('errors with the ServiceError the server ends the call with', async () => {
    behaviour = (call) => {
      call.write(envelope('/tasks/start', 1));
      call.emit('error', { code: status.UNAVAILABLE, details: 'containerd is shutting down' });
    };
    const values: Envelope[] = [];
    let cancels = 0;
    const error = await new Promise<ServiceError>((resolve, reject) => {
      fromServerStream(() => {
        const stream = client.subscribe({ filters: [] });
        const cancel = stream.cancel.bind(stream);
        stream.cancel = () => {
          cancels++;
          cancel();
        };
        return stream;
      }).subscribe({
        next: (v) => values.push(v),
        error: resolve,
        complete: () => reject(new Error('completed instead of erroring')),
      });
    });
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.equal('containerd is shutting down');
    expect(grpcErrorCode(error)).to.equal('unreachable');
    expect(values.map((v) => v.timestamp?.nanos)).to.deep.equal([1]);
    expect(cancels, 'client-side cancel() calls').to.equal(0);
  });

  it('delivers every message written before a server error, then the error', async () => {
    behaviour = (call) => {
      for (let i = 0; i < 200; i++) call.write(envelope('/tasks/start', i % 250));
      call.emit('error', { code: status.INTERNAL, details: 'boom' });
    };
    const values: Envelope[] = [];
    const error = await new Promise<ServiceError>((resolve) => {
      fromServerStream(() => client.subscribe({ filters: [] })).subscribe({ next: (v) => values.push(v), error: resolve });
    });
    expect(error.code).to.equal(status.INTERNAL);
    expect(values).to.have.length(200);
  });

  it('errors when the call cannot be started', async () => {
    const error = await lastValueFrom(
      fromServerStream<Envelope>(() => {
        throw new Error('no client');
      }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error).with.property('message', 'no client');
  });

  it('reports an unreachable endpoint as an UNAVAILABLE error', async () => {
    const c = grpcChannelConfig(`${srv.dir}/nobody.sock`);
    const lonely = new EventsClient(c.target, c.credentials, c.options);
    try {
      const error = await lastValueFrom(fromServerStream(() => lonely.subscribe({ filters: [] }))).catch((e: unknown) => e);
      expect((error as ServiceError).code).to.equal(status.UNAVAILABLE);
      expect(grpcErrorCode(error)).to.equal('unreachable');
    } finally {
      lonely.close();
    }
  });

  describe('the established signal', () => {
    it('calls onMetadata when the server sends its headers, before any message', async () => {
      behaviour = (call) => {
        const md = new Metadata();
        md.set('x-served-by', 'spec');
        call.sendMetadata(md);
      };
      const seen: string[] = [];
      const sub = fromServerStream(() => client.subscribe({ filters: [] }), {
        onMetadata: (md) => seen.push(`metadata ${String(md.get('x-served-by')[0])}`),
      }).subscribe((e) => seen.push(e.topic));
      await until(() => seen.length === 1);
      expect(seen).to.deep.equal(['metadata spec']);
      calls[0]?.write(envelope('/tasks/start'));
      await until(() => seen.length === 2);
      expect(seen).to.deep.equal(['metadata spec', '/tasks/start']);
      sub.unsubscribe();
      await until(() => cancelled === 1);
    });

    it('has no headers to report while the server neither sends headers nor messages', async () => {
      let metadata = 0;
      const sub = fromServerStream(() => client.subscribe({ filters: [] }), { onMetadata: () => metadata++ }).subscribe();
      await until(() => calls.length === 1);
      await tick(50);
      expect(metadata).to.equal(0);
      sub.unsubscribe();
      await until(() => cancelled === 1);
    });
  });
});
