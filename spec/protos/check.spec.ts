// Self-test of the proto tooling: scripts/protos/check.mjs accepts our protos and
// reports every deliberate incompatibility in an altered copy; lib/gen matches
// what scripts/protos/generate.sh produces. Needs protoc and the upstream protos
// (installed/fetched by the scripts when missing, hence the long timeouts).

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, from build/spec/protos/ (compiled) or spec/protos/ (ts-node style). */
const root = fileURLToPath(new URL(import.meta.url.includes('/build/spec/') ? '../../../' : '../../', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Replaces exactly one occurrence of `from` in `file` under `dir`. */
function alter(dir: string, file: string, from: string, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`${file}: ${JSON.stringify(from)} is not unique`);
  writeFileSync(path, text.slice(0, at) + to + text.slice(at + from.length));
}

describe('protos: tooling self-test', function () {
  this.timeout(180_000);
  this.slow(20_000);

  it('check.mjs finds our protos wire-compatible with upstream', async () => {
    const r = await run(process.execPath, [join(root, 'scripts/protos/check.mjs')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^protos check: OK, \d+ files/m);
  });

  it('check.mjs reports every mismatch in a deliberately altered copy and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ww-protos-altered-'));
    try {
      cpSync(join(root, 'protos'), dir, { recursive: true });
      alter(dir, 'containerd/events/task.proto', 'uint32 exit_status = 4;', 'uint32 exit_status = 6;');
      alter(dir, 'cri/api.proto', 'int64 created_at = 3;', 'int32 created_at = 3;');
      alter(dir, 'containerd/services/events/v1/events.proto', 'returns (stream Envelope)', 'returns (Envelope)');
      alter(dir, 'containerd/services/tasks/v1/tasks.proto', 'repeated containerd.v1.types.Process tasks = 1;', 'containerd.v1.types.Process tasks = 1;');
      alter(dir, 'cri/api.proto', 'CONTAINER_EXITED  = 2;', 'CONTAINER_EXITED  = 5;');
      alter(dir, 'cri/api.proto', 'rpc Version(VersionRequest) returns (VersionResponse) {}', 'rpc Version(VersionRequest) returns (VersionResponse) {}\n    rpc Bogus(VersionRequest) returns (VersionResponse) {}');
      alter(dir, 'containerd/services/containers/v1/containers.proto', 'string snapshotter = 6;', 'string snapshotter_name = 6;');
      alter(dir, 'containerd/services/namespaces/v1/namespace.proto', 'map<string, string> labels = 2;', 'map<string, bytes> labels = 2;');
      alter(dir, 'cri/api.proto', 'rpc ListPodSandbox(ListPodSandboxRequest) returns (ListPodSandboxResponse) {}', 'rpc ListPodSandbox(ListContainersRequest) returns (ListPodSandboxResponse) {}');

      const r = await run(process.execPath, [join(root, 'scripts/protos/check.mjs'), '--protos', dir]);
      expect(r.code, r.stdout + r.stderr).to.equal(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('MISMATCH '));
      const expected = [
        'containerd/events/task.proto: field containerd.events.TaskExit.exit_status: number 6, upstream 4',
        'cri/api.proto: field runtime.v1.ContainerEventResponse.created_at: type INT32, upstream INT64',
        'containerd/services/events/v1/events.proto: method containerd.services.events.v1.Events/Subscribe server streaming false, upstream true',
        'containerd/services/tasks/v1/tasks.proto: field containerd.services.tasks.v1.ListTasksResponse.tasks: label OPTIONAL, upstream REPEATED',
        'cri/api.proto: enum value runtime.v1.ContainerState.CONTAINER_EXITED = 5, upstream = 2',
        'cri/api.proto: method runtime.v1.RuntimeService/Bogus does not exist upstream',
        'containerd/services/containers/v1/containers.proto: field containerd.services.containers.v1.Container.snapshotter_name = 6 does not exist upstream (upstream field 6 is snapshotter)',
        'containerd/services/namespaces/v1/namespace.proto: field containerd.services.namespaces.v1.Namespace.LabelsEntry.value: type BYTES, upstream STRING',
        'cri/api.proto: method runtime.v1.RuntimeService/ListPodSandbox takes runtime.v1.ListContainersRequest, upstream runtime.v1.ListPodSandboxRequest',
      ];
      expect([...lines].sort()).to.deep.equal(expected.map((l) => `MISMATCH ${l}`).sort());
      expect(r.stderr).to.contain(`protos check: ${expected.length} mismatch(es)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check.mjs exits 2 when our protos do not compile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ww-protos-broken-'));
    try {
      writeFileSync(join(dir, 'broken.proto'), 'syntax = "proto3";\nmessage {\n');
      const r = await run(process.execPath, [join(root, 'scripts/protos/check.mjs'), '--protos', dir]);
      expect(r.code).to.equal(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lib/gen is what scripts/protos/generate.sh makes of protos/ (check-generated.sh)', async () => {
    const r = await run('sh', [join(root, 'scripts/protos/check-generated.sh')]);
    expect(r.code, r.stdout.slice(0, 4000) + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/is up to date/);
  });

  it('check-generated.sh exits 1 when lib/gen differs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ww-gen-altered-'));
    try {
      cpSync(join(root, 'lib/gen'), dir, { recursive: true });
      alter(dir, 'cri/api.ts', 'export const protobufPackage = "runtime.v1";', 'export const protobufPackage = "runtime.v2";');
      const r = await run('sh', [join(root, 'scripts/protos/check-generated.sh'), dir]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.contain('-export const protobufPackage = "runtime.v2";');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
