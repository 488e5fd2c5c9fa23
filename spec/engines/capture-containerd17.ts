/**
 * Captures the real containerd 1.7 payloads the normaliser fixtures are made of
 * (spec/engines/containerd/containerd17-captured.ts, spec/engines/cri/cri17-captured.ts):
 * native event envelopes, container records and tasks; CRI events, statuses and lists. Not a spec:
 * run it against a private containerd 1.7 with the CRI plugin (the harness's containerd17), e.g.
 *
 *   WW_LAB=/tmp/lab scripts/engines/mk-images.sh && WW_LAB=/tmp/lab scripts/engines/start.sh containerd17
 *   npx tsc -p tsconfig.spec.json && WW_LAB=/tmp/lab node build/spec/engines/capture-containerd17.js native|cri
 *
 * It prints a TypeScript module (the payloads as hex, wire bytes of the generated codecs) on stdout.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, credentials } from '@grpc/grpc-js';
import { ContainersClient, Container as ContainerRecord } from '../../lib/gen/containerd/services/containers/v1/containers.js';
import { Envelope, EventsClient } from '../../lib/gen/containerd/services/events/v1/events.js';
import { TasksClient } from '../../lib/gen/containerd/services/tasks/v1/tasks.js';
import { Process } from '../../lib/gen/containerd/types/task/task.js';
import {
  ContainerEventResponse,
  ContainerStatusResponse,
  ListContainersResponse,
  ListPodSandboxResponse,
  NamespaceMode,
  NamespaceOption,
  PodSandboxConfig,
  PodSandboxStatusResponse,
  RuntimeServiceClient,
} from '../../lib/gen/cri/api.js';
import { unaryCall } from '../helpers/unary-call.js';

const lab = process.env['WW_LAB'] ?? '';
const env = Object.fromEntries(
  readFileSync(`${lab}/containerd17/env`, 'utf8')
    .split('\n')
    .map((l) => /^export (\w+)='(.*)'$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
) as Record<string, string>;
const socket = env['CONTAINERD_ADDRESS'] as string;
const ctrCli = env['WW_CTR_CLI'] as string;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const out: string[] = [];
const emit = (name: string, comment: string, value: unknown): void => {
  out.push(`/** ${comment} */\nexport const ${name} = ${JSON.stringify(value, null, 1)} as const;\n`);
};

function ctr(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(ctrCli, ['--address', socket, ...args], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${args.join(' ')}: ${stderr}`)) : resolve(stdout))),
  );
}

async function nativeCapture(): Promise<void> {
  const events = new EventsClient(`unix://${socket}`, credentials.createInsecure());
  const containers = new ContainersClient(`unix://${socket}`, credentials.createInsecure());
  const tasks = new TasksClient(`unix://${socket}`, credentials.createInsecure());
  const envelopes: { topic: string; hex: string }[] = [];
  const stream = events.subscribe({ filters: [] });
  stream.on('data', (e: Envelope) => envelopes.push({ topic: e.topic, hex: hex(Envelope.encode(e).finish()) }));
  stream.on('error', () => undefined);
  await sleep(300);
  const ns = 'ns2';
  const md = new Metadata();
  md.set('containerd-namespace', ns);
  const image = 'docker.io/library/busybox:lab';
  await ctr(['-n', ns, 'images', 'import', `${lab}/images/busybox.tar`]);
  // a long runner, labelled like nerdctl, recorded while alive
  await ctr(['-n', ns, 'run', '-d', '--label', 'nerdctl/name=web', '--label', 'com.docker.compose.project=shop', image, 'cap-web', 'sleep', '100000']);
  const record = await unaryCall(containers.get.bind(containers), { id: 'cap-web' }, md);
  const task = await unaryCall(tasks.get.bind(tasks), { containerId: 'cap-web', execId: '' }, md);
  const listed = await unaryCall(tasks.list.bind(tasks), { filter: '' }, md);
  // exits by itself with code 3
  await ctr(['-n', ns, 'run', '-d', image, 'cap-three', 'sh', '-c', 'sleep 0.2; exit 3']);
  // SIGKILLed
  await ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', 'cap-web']);
  // killed by the OOM killer (16 MiB limit, a shell doubling a string)
  await ctr(['-n', ns, 'run', '-d', '--memory-limit', String(16 * 1024 * 1024), image, 'cap-oom', 'sh', '-c', 'x=0123456789; while true; do x=$x$x; done']);
  await sleep(4000);
  stream.cancel();
  for (const id of ['cap-web', 'cap-three', 'cap-oom']) {
    await ctr(['-n', ns, 'tasks', 'delete', '-f', id]).catch(() => undefined);
    await ctr(['-n', ns, 'containers', 'delete', id]).catch(() => undefined);
  }
  emit('CONTAINERD17_RECORD_HEX', 'Containers.Get of cap-web (ns2): a Container record, as hex', hex(ContainerRecord.encode(record.container!).finish()));
  emit('CONTAINERD17_TASK_HEX', 'Tasks.Get of cap-web: its Process, as hex', hex(Process.encode(task.process!).finish()));
  emit('CONTAINERD17_LISTED_TASK_HEX', 'Tasks.List of ns2: the Process of cap-web, as hex', listed.tasks.map((t) => hex(Process.encode(t).finish())));
  emit('CONTAINERD17_EXITS', 'Envelopes (Events.Subscribe, no filters) of cap-web killed, cap-three exiting with 3, cap-oom OOM-killed', envelopes);
  events.close();
  containers.close();
  tasks.close();
}

async function criCapture(): Promise<void> {
  const client = new RuntimeServiceClient(`unix://${socket}`, credentials.createInsecure());
  const got: string[] = [];
  const stream = client.getContainerEvents({});
  stream.on('data', (e: ContainerEventResponse) => got.push(hex(ContainerEventResponse.encode(e).finish())));
  stream.on('error', () => undefined);
  await sleep(300);
  const host = NamespaceOption.fromPartial({ network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD });
  const config = PodSandboxConfig.fromPartial({
    metadata: { name: 'cap-pod', uid: 'cap-uid', namespace: 'cap-ns', attempt: 0 },
    logDirectory: `${lab}/cri-capture-logs`,
    labels: { 'pod-label': 'p' },
    annotations: { 'pod-note': 'n' },
    linux: { securityContext: { namespaceOptions: host } },
  });
  const { podSandboxId } = await unaryCall(client.runPodSandbox.bind(client), { config, runtimeHandler: '' });
  const make = async (name: string, command: string[], memory = 0n): Promise<string> => {
    const { containerId } = await unaryCall(client.createContainer.bind(client), {
      podSandboxId,
      sandboxConfig: config,
      config: {
        metadata: { name, attempt: 0 },
        image: { image: 'docker.io/library/busybox:lab', annotations: {}, userSpecifiedImage: '', runtimeHandler: '' },
        command,
        args: [],
        workingDir: '',
        envs: [],
        labels: { 'ctr-label': name },
        annotations: { 'ctr-note': `note of ${name}` },
        logPath: `${name}.log`,
        stdin: false,
        stdinOnce: false,
        tty: false,
        linux: { resources: memory > 0n ? { memoryLimitInBytes: memory } : undefined, securityContext: { privileged: false, namespaceOptions: host, readonlyRootfs: false } },
      },
    });
    await unaryCall(client.startContainer.bind(client), { containerId });
    return containerId;
  };
  const app = await make('app', ['/bin/sleep', '100000']);
  const running = await unaryCall(client.containerStatus.bind(client), { containerId: app, verbose: true });
  const sandbox = await unaryCall(client.podSandboxStatus.bind(client), { podSandboxId, verbose: true });
  const listed = await unaryCall(client.listContainers.bind(client), {});
  const pods = await unaryCall(client.listPodSandbox.bind(client), {});
  const three = await make('three', ['/bin/sh', '-c', 'sleep 0.2; exit 3']);
  await unaryCall(client.stopContainer.bind(client), { containerId: app, timeout: 0n });
  const oom = await make('oom', ['/bin/sh', '-c', 'x=0123456789; while true; do x=$x$x; done'], 16n * 1024n * 1024n);
  await sleep(4000);
  const statuses = await Promise.all([app, three, oom].map((id) => unaryCall(client.containerStatus.bind(client), { containerId: id, verbose: false })));
  await unaryCall(client.stopPodSandbox.bind(client), { podSandboxId });
  await unaryCall(client.removePodSandbox.bind(client), { podSandboxId });
  await sleep(500);
  stream.cancel();
  emit('CRI17_RUNNING_STATUS_HEX', 'ContainerStatus (verbose) of a running container, as hex', hex(ContainerStatusResponse.encode(running).finish()));
  emit('CRI17_SANDBOX_STATUS_HEX', 'PodSandboxStatus (verbose) of its ready sandbox, as hex', hex(PodSandboxStatusResponse.encode(sandbox).finish()));
  emit('CRI17_LIST_CONTAINERS_HEX', 'ListContainers (no filter), as hex', hex(ListContainersResponse.encode(listed).finish()));
  emit('CRI17_LIST_PODS_HEX', 'ListPodSandbox (no filter), as hex', hex(ListPodSandboxResponse.encode(pods).finish()));
  emit('CRI17_EXITED_STATUSES_HEX', 'ContainerStatus (not verbose) of app (stopped: SIGKILL), three (exit 3), oom (OOM-killed), as hex', statuses.map((s) => hex(ContainerStatusResponse.encode(s).finish())));
  emit('CRI17_EVENTS_HEX', 'GetContainerEvents of the whole run, in order, as hex', got);
  emit('CRI17_IDS', 'The ids of the run', { sandbox: podSandboxId, app, three, oom });
  client.close();
}

const what = process.argv[2];
await (what === 'cri' ? criCapture() : nativeCapture());
console.log(out.join('\n'));
