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

/** A container as `ps --json` prints it. */
interface PsJson {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly paused: boolean;
  readonly image?: string;
  readonly startedAt?: string;
  readonly createdAt?: string;
}

type Line = Record<string, unknown>;

/** `whalewatcher events …` as a child process, its JSON lines collected as they come. */
function eventsCli(args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, 'events', ...args], { env: { ...process.env, ...engineEnv('docker20') } });
  const lines: Line[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Line);
      buffered = buffered.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    lines,
    async waitFor(pred: (l: Line) => boolean, what: string): Promise<void> {
      for (let i = 0; i < 600 && !lines.some(pred); i++) await new Promise((r) => setTimeout(r, 50));
      expect(lines.some(pred), `${what}; got ${JSON.stringify(lines)}; stderr ${stderr}`).to.equal(true);
    },
    stop(): Promise<number | null> {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('CLI (real engines)', function () {
  this.timeout(120_000);

  it('ps prints the alive containers grouped by project, with image, PID and a docker-like status, in 80 columns', async function () {
    const host = useEngine(this, 'docker20');
    const image = labImage('docker20');
    const name = `cli-ps-${process.pid}`;
    const other = `cli-ps-other-${process.pid}`;
    await runEngineCli('docker20', ['run', '-d', '--name', name, '--network', 'none', '--label', 'com.docker.compose.project=cliproj', image, 'sleep', '1000']);
    await runEngineCli('docker20', ['run', '-d', '--name', other, '--network', 'none', image, 'sleep', '1000']);
    await runEngineCli('docker20', ['pause', name]);
    try {
      const json = await cli(['ps', '--json'], { DOCKER_HOST: host });
      expect(json.code, json.stderr).to.equal(0);
      const parsed = JSON.parse(json.stdout) as { engines: { engine: string; type: string; projects: { name: string; containers: PsJson[] }[] }[] };
      expect(parsed.engines[0]?.type).to.equal('docker.com');
      const project = parsed.engines[0]?.projects.find((p) => p.name === 'cliproj');
      const container = project?.containers.find((c) => c.name === name);
      expect(container?.paused).to.equal(true);
      expect(container?.pid).to.be.greaterThan(0);
      // image and times, where the engine's adapter fills them in, are the engine's (ISO dates in the JSON)
      expect(container?.image).to.equal(image);
      for (const at of [container?.startedAt, container?.createdAt]) expect(at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const table = await cli(['ps', '--docker', host]);
      expect(table.code, table.stderr).to.equal(0);
      const lines = table.stdout.split('\n');
      expect(lines.find((l) => l.startsWith('PROJECT'))).to.match(/^PROJECT\s+NAME\s+ID\s+IMAGE\s+PID\s+STATUS$/);
      for (const l of lines.filter((x) => !x.startsWith('ENGINE '))) expect([...l].length, l).to.be.at.most(80); // the heading names the socket
      const row = lines.find((l) => l.includes(name));
      const m = /^cliproj\s+(cli-ps-\d+)\s+([0-9a-f]{12})\s+(\S+)\s+(\d+)\s+(.+)$/.exec(row ?? '');
      expect(m, table.stdout).to.not.equal(null);
      const [, shownName, id, shownImage, pid, status] = m!;
      expect(shownName).to.equal(name);
      expect(container?.id.startsWith(id!)).to.equal(true);
      expect(shownImage).to.equal(container?.image ?? '-');
      expect(Number(pid)).to.equal(container?.pid);
      expect(status).to.match(/^Up (Less than a second|1 second|\d+ seconds|About a minute) \(Paused\)$/);

      // --label: only the matching containers, on every engine
      const only = await cli(['ps', '--docker', host, '--label', 'com.docker.compose.project=cliproj']);
      expect(only.code, only.stderr).to.equal(0);
      expect(only.stdout).to.match(/: 1 alive\n/);
      expect(only.stdout).to.include(name).and.not.include(other);
      const none = await cli(['ps', '--docker', host, '--label', 'com.docker.compose.project', '--label', 'com.docker.compose.project=nope']);
      expect(none.code, none.stderr).to.equal(0);
      expect(none.stdout).to.match(/: 0 alive\n\(no alive containers\)\n/);
    } finally {
      await runEngineCli('docker20', ['rm', '-f', name, other]);
    }
  });

  it('events streams synthetic starts first, then live changes with exit details, as JSON lines; --label filters them', async function () {
    const host = useEngine(this, 'docker20');
    const image = labImage('docker20');
    const before = `cli-ev-a-${process.pid}`;
    const after = `cli-ev-b-${process.pid}`;
    const stranger = `cli-ev-c-${process.pid}`;
    const label = `whalewatcher.cli.spec=${process.pid}`;
    await runEngineCli('docker20', ['run', '-d', '--name', before, '--network', 'none', '--label', label, image, 'sleep', '1000']);
    const all = eventsCli(['--docker', host]);
    const filtered = eventsCli(['--docker', host, '--label', label]);
    try {
      // the synthetic start of the container alive before says the stream is live
      for (const stream of [all, filtered]) {
        await stream.waitFor((l) => l.name === before, 'synthetic start of the container alive before');
        expect(stream.lines.find((l) => l.name === before)?.synthetic).to.equal(true);
      }
      await runEngineCli('docker20', ['run', '-d', '--name', after, '--network', 'none', '--label', label, image, 'sleep', '1000']);
      await runEngineCli('docker20', ['run', '-d', '--name', stranger, '--network', 'none', image, 'sleep', '1000']);
      await all.waitFor((l) => l.name === stranger && l.type === 'started', 'live start of the unlabelled one');
      await runEngineCli('docker20', ['kill', after]);
      for (const stream of [all, filtered]) {
        await stream.waitFor((l) => l.name === after && l.type === 'exited', 'live exit');
        const live = stream.lines.filter((l) => l.name === after);
        expect(live.map((l) => `${String(l.type)}:${String(l.synthetic)}`)).to.deep.equal(['started:false', 'exited:false']);
        const exit = live[1]?.exit as { code?: number; time?: string } | undefined;
        // the exit's details and the image, where the engine's adapter fills them in: killed by SIGKILL
        expect(exit?.code).to.equal(137);
        expect(Date.parse(exit?.time ?? '')).to.be.greaterThan(0);
        expect(live[0]?.image).to.equal(image);
      }
      // the unlabelled start came before the exit in the engine's stream: the filtered one left it out
      expect(filtered.lines.map((l) => l.name), JSON.stringify(filtered.lines)).to.deep.equal([before, after, after]);
    } finally {
      // SIGTERM: the watchers closed, then the status shells expect (128 + 15)
      const codes = await Promise.all([all.stop(), filtered.stop()]);
      expect(codes).to.deep.equal([143, 143]);
      await runEngineCli('docker20', ['rm', '-f', before, after, stranger]);
    }
  });

  it('events | head -n 1: the next event after the reader left ends it quietly with status 0', async function () {
    const host = useEngine(this, 'docker20');
    const image = labImage('docker20');
    const name = `cli-head-${process.pid}`;
    const child = spawn(process.execPath, [CLI, 'events', '--docker', host], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
    try {
      // live once its first line is out (a synthetic start, or this run's start of the container)
      const running = runEngineCli('docker20', ['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '1000']);
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy(); // as head does after its line
      await running;
      await runEngineCli('docker20', ['kill', name]); // a write, if the start was not one
      expect(await exited, stderr).to.deep.equal([0, null]);
      expect(stderr).to.equal('');
    } finally {
      child.kill('SIGKILL');
      await runEngineCli('docker20', ['rm', '-f', name]);
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

  it('rejects a label filter without a key, or without a value, with a message, usage and exit 2, before connecting', async () => {
    for (const args of [['ps', '--label', '=x'], ['events', '--label', 'ok', '--label', ''], ['ps', '--label']]) {
      const run = await cli([...args, '--docker', 'unix:///nonexistent/whalewatcher.sock']);
      expect(run.code, args.join(' ')).to.equal(2);
      expect(run.stderr, args.join(' ')).to.match(/^whalewatcher: .*label.*\n\nusage: whalewatcher/s);
      expect(run.stderr).to.not.match(/unreachable/);
      expect(run.stdout).to.equal('');
    }
  });
});
