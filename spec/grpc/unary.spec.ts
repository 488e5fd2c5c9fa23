import { expect } from 'chai';
import { Metadata, status } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { firstValueFrom } from 'rxjs';
import { TasksClient, TasksService } from '../../lib/gen/containerd/services/tasks/v1/tasks.js';
import type { ListTasksRequest, ListTasksResponse, TasksServer } from '../../lib/gen/containerd/services/tasks/v1/tasks.js';
import { VersionClient, VersionService } from '../../lib/gen/containerd/services/version/v1/version.js';
import type { VersionServer } from '../../lib/gen/containerd/services/version/v1/version.js';
import { Status } from '../../lib/gen/containerd/types/task/task.js';
import { grpcChannelConfig } from '../../lib/grpc/channel.js';
import { grpcErrorCode, isClientCancellation } from '../../lib/grpc/grpc-errors.js';
import { fromUnary } from '../../lib/grpc/unary.js';
import { expectNoLeakedHandles, handleCounts, startTestServer, tick } from './grpc-test-server.js';
import type { TestServer } from './grpc-test-server.js';

type ListCall = ServerUnaryCall<ListTasksRequest, ListTasksResponse>;

async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await tick(2);
}

describe('grpc/unary: fromUnary', () => {
  let baseline: Map<string, number>;
  let srv: TestServer;
  let tasks: TasksClient;
  let version: VersionClient;
  /** What the server does with each Tasks.List call (set per test). */
  let behaviour: (call: ListCall, callback: sendUnaryData<ListTasksResponse>) => void;
  let calls: ListCall[];
  let cancelled: number;

  before(async () => {
    await tick();
    baseline = handleCounts();
    const tasksImpl: TasksServer = {
      list(call, callback) {
        calls.push(call);
        call.on('cancelled', () => {
          cancelled++;
        });
        behaviour(call, callback);
      },
      get(_call, callback) {
        callback({ code: status.NOT_FOUND, details: 'no such task' });
      },
    };
    const versionImpl: VersionServer = {
      version(_call, callback) {
        callback(null, { version: '1.7.24', revision: 'deadbeef' });
      },
    };
    srv = await startTestServer([
      [TasksService, tasksImpl],
      [VersionService, versionImpl],
    ]);
  });

  beforeEach(() => {
    calls = [];
    cancelled = 0;
    behaviour = (_call, callback) => callback(null, { tasks: [] });
    const c = grpcChannelConfig(srv.address);
    tasks = new TasksClient(c.target, c.credentials, c.options);
    version = new VersionClient(c.target, c.credentials, c.options);
  });

  afterEach(() => {
    tasks.close();
    version.close();
  });

  after(async () => {
    await srv.close();
    await expectNoLeakedHandles(baseline);
  });

  describe('fromUnary', () => {
    it('is cold: calls on subscribe, emits the response and completes', async () => {
      const version$ = fromUnary(version.version.bind(version), {});
      let count = 0;
      behaviour = (_call, callback) => callback(null, { tasks: [] });
      const list$ = fromUnary(tasks.list.bind(tasks), { filter: '' });
      await tick(20);
      expect(calls).to.have.length(0);
      expect(await firstValueFrom(version$)).to.deep.equal({ version: '1.7.24', revision: 'deadbeef' });
      await new Promise<void>((resolve, reject) =>
        list$.subscribe({ next: () => count++, error: reject, complete: resolve }),
      );
      await firstValueFrom(list$);
      expect(count).to.equal(1);
      expect(calls).to.have.length(2);
    });

    it('sends the request and the metadata (e.g. containerd-namespace)', async () => {
      behaviour = (call, callback) =>
        callback(null, {
          tasks: [
            {
              containerId: '',
              id: `${String(call.metadata.get('containerd-namespace')[0])}-task`,
              pid: 4242,
              status: Status.RUNNING,
              stdin: '',
              stdout: '',
              stderr: '',
              terminal: false,
              exitStatus: 0,
            },
          ],
        });
      const md = new Metadata();
      md.set('containerd-namespace', 'ns1');
      const res = await firstValueFrom(fromUnary(tasks.list.bind(tasks), { filter: 'status==running' }, md));
      expect(calls[0]?.request).to.deep.equal({ filter: 'status==running' });
      expect(res.tasks).to.have.length(1);
      expect(res.tasks[0]).to.include({ id: 'ns1-task', pid: 4242, status: Status.RUNNING });
    });

    it('passes call options such as a deadline', async () => {
      behaviour = () => {};
      const error = (await firstValueFrom(fromUnary(tasks.list.bind(tasks), { filter: '' }, new Metadata(), { deadline: Date.now() + 50 })).catch(
        (e: unknown) => e,
      )) as ServiceError;
      expect(error.code).to.equal(status.DEADLINE_EXCEEDED);
      await until(() => cancelled === 1);
    });

    it('errors with the ServiceError', async () => {
      const error = (await firstValueFrom(fromUnary(tasks.get.bind(tasks), { containerId: 'x', execId: '' })).catch(
        (e: unknown) => e,
      )) as ServiceError;
      expect(error.code).to.equal(status.NOT_FOUND);
      expect(error.details).to.equal('no such task');
      expect(grpcErrorCode(error)).to.equal('engine');
    });

    it('cancels the call on unsubscribe, with no error reported', async () => {
      behaviour = () => {};
      const events: string[] = [];
      const sub = fromUnary(tasks.list.bind(tasks), { filter: '' }).subscribe({
        next: () => events.push('next'),
        error: (e: unknown) => events.push(`error ${isClientCancellation(e)}`),
        complete: () => events.push('complete'),
      });
      await until(() => calls.length === 1);
      sub.unsubscribe();
      await until(() => cancelled === 1);
      await tick(10);
      expect(events).to.deep.equal([]);
    });
  });
});
