/**
 * The CLI as a user runs it: `node dist/cli/main.js` (what `npx whalewatcher`
 * runs) against the real engines started by the harness.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineEnv, labImage, runEngineCli, useEngine } from '../helpers/engines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('CLI (real engines)', function () {
  this.timeout(120_000);

  it('ps prints the alive containers grouped by project, with PID and paused state', async function () {
    const host = useEngine(this, 'docker20');
    const image = labImage('docker20');
    const name = `cli-ps-${process.pid}`;
    await runEngineCli('docker20', ['run', '-d', '--name', name, '--network', 'none', '--label', 'com.docker.compose.project=cliproj', image, 'sleep', '1000']);
    await runEngineCli('docker20', ['pause', name]);
    try {
      const table = await cli(['ps', '--docker', host]);
      expect(table.code, table.stderr).to.equal(0);
      const row = table.stdout.split('\n').find((l) => l.includes(name));
      expect(row, table.stdout).to.match(/^\s+cliproj\s+cli-ps-\d+\s+[0-9a-f]{12}\s+\d+\s+paused$/);

      const json = await cli(['ps', '--json'], { DOCKER_HOST: host });
      expect(json.code, json.stderr).to.equal(0);
      const parsed = JSON.parse(json.stdout) as { engines: { engine: string; type: string; projects: { name: string; containers: { name: string; pid: number; paused: boolean }[] }[] }[] };
      expect(parsed.engines[0]?.type).to.equal('docker.com');
      const project = parsed.engines[0]?.projects.find((p) => p.name === 'cliproj');
      const container = project?.containers.find((c) => c.name === name);
      expect(container?.paused).to.equal(true);
      expect(container?.pid).to.be.greaterThan(0);
    } finally {
      await runEngineCli('docker20', ['rm', '-f', name]);
    }
  });

  it('events streams synthetic starts first, then live changes, as JSON lines', async function () {
    const host = useEngine(this, 'docker20');
    const image = labImage('docker20');
    const before = `cli-ev-a-${process.pid}`;
    const after = `cli-ev-b-${process.pid}`;
    await runEngineCli('docker20', ['run', '-d', '--name', before, '--network', 'none', image, 'sleep', '1000']);
    const child = spawn(process.execPath, [CLI, 'events', '--docker', host], { env: { ...process.env, ...engineEnv('docker20') } });
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (pred: () => boolean, what: string) => {
      for (let i = 0; i < 600 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pred(), `${what}; got ${JSON.stringify(lines)}`).to.equal(true);
    };
    try {
      await waitFor(() => lines.some((l) => l.name === before), 'synthetic start of the container alive before');
      expect(lines.find((l) => l.name === before)?.synthetic).to.equal(true);
      await runEngineCli('docker20', ['run', '-d', '--name', after, '--network', 'none', image, 'sleep', '1000']);
      await waitFor(() => lines.some((l) => l.name === after && l.type === 'started'), 'live start');
      await runEngineCli('docker20', ['kill', after]);
      await waitFor(() => lines.some((l) => l.name === after && l.type === 'exited'), 'live exit');
      const live = lines.filter((l) => l.name === after);
      expect(live.map((l) => `${String(l.type)}:${String(l.synthetic)}`)).to.deep.equal(['started:false', 'exited:false']);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      await runEngineCli('docker20', ['rm', '-f', before, after]);
    }
  });

  it('says why and exits 1 when no engine answers', async () => {
    const run = await cli(['ps', '--docker', 'unix:///nonexistent/whalewatcher.sock']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/no Docker engine at unix:\/\/\/nonexistent\/whalewatcher\.sock.*\[unreachable\]/);
    const ev = await cli(['events', '--docker', 'unix:///nonexistent/whalewatcher.sock']);
    expect(ev.code).to.equal(1);
    expect(ev.stderr).to.match(/\[unreachable\]/);
  });

  it('rejects an unknown command with usage and exit 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/usage: whalewatcher/);
  });
});
