/**
 * The CLI as a Unix citizen: `node dist/cli/main.js` (what `npx whalewatcher`
 * runs) against a fake Docker engine on a real unix socket (no engine needed):
 * output into a closed pipe, SIGINT/SIGTERM, --help, usage errors, engine
 * errors on stderr with their advice.
 */
import { expect } from 'chai';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type FakeDocker, dockerEvent, fakeDocker, notDockerServer } from '../fakes/docker-fakes.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** Linux pipes buffer 64 KiB by default (up to 1 MiB when raised); the output must not fit. */
const PIPE_BUFFER = 1024 * 1024;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The CLI as a child process, its stdout and stderr through real pipes. */
function start(args: readonly string[]) {
  // no DOCKER_HOST & co. from the environment: only the engines named in args
  const env = { ...process.env };
  for (const v of ['DOCKER_HOST', 'CONTAINERD_ADDRESS', 'CONTAINER_RUNTIME_ENDPOINT']) delete env[v];
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    /** Resolves once stdout holds a complete line. */
    firstLine(): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const nl = stdout.indexOf('\n');
          if (nl < 0) return;
          child.stdout.off('data', check);
          resolve(stdout.slice(0, nl));
        };
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`exited before a line; stderr: ${stderr}`)));
        check();
      });
    },
  };
}

async function run(args: readonly string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const c = start(args);
  const exit = await c.exited;
  return { ...exit, stdout: c.stdout, stderr: c.stderr };
}

/** Resolves once the fake engine has no connection open. */
async function connectionsClosed(fake: FakeDocker): Promise<void> {
  while (fake.openConnections > 0) await new Promise((r) => setTimeout(r, 10)); // a condition, polled
}

const hex = (n: number) => n.toString(16).padStart(64, '0');

describe('CLI as a Unix citizen (fake Docker engine)', function () {
  this.timeout(60_000);
  let fake: FakeDocker;

  beforeEach(async () => {
    fake = await fakeDocker();
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('output into a closed pipe', () => {
    const MANY = 4000;
    beforeEach(() => {
      for (let i = 0; i < MANY; i++) {
        const id = hex(i + 1);
        fake.containers.set(id, { id, name: `c-${String(i).padStart(5, '0')}`, pid: 1000 + i, labels: { 'com.docker.compose.project': `p${i % 7}` } });
      }
    });

    it('ps --json into a pipe closed after the first chunk ends quietly with status 0 (the output is larger than a pipe buffer)', async () => {
      const whole = await run(['ps', '--json', '--docker', fake.url]);
      expect(whole.code, whole.stderr).to.equal(0);
      expect(whole.stdout.length).to.be.greaterThan(PIPE_BUFFER);
      const parsed = JSON.parse(whole.stdout) as { engines: { total: number }[] };
      expect(parsed.engines[0]?.total).to.equal(MANY);

      const c = start(['ps', '--json', '--docker', fake.url]);
      c.child.stdout.once('data', () => c.child.stdout.destroy());
      const exit = await c.exited;
      expect(exit, c.stderr).to.deep.equal({ code: 0, signal: null });
      expect(c.stderr).to.equal('');
      expect(c.stdout.length).to.be.lessThan(whole.stdout.length);
      await connectionsClosed(fake);
    });

    it('ps --json | head -c 10 in a shell: 10 bytes, every status of the pipeline 0 (pipefail)', async () => {
      const script = 'set -o pipefail; node "$1" ps --json --docker "$2" | head -c 10; echo " ${PIPESTATUS[*]}"; exit 0';
      const c = spawn('bash', ['-c', script, 'bash', CLI, fake.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      c.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      const code = await new Promise<number | null>((resolve) => c.on('close', resolve));
      expect(code).to.equal(0);
      expect(err).to.equal('');
      expect(out).to.equal('{\n  "engin 0 0\n');
    });

    it('ps (the table) into a closed pipe ends quietly with status 0 as well', async () => {
      const c = start(['ps', '--no-trunc', '--docker', fake.url]);
      c.child.stdout.once('data', () => c.child.stdout.destroy());
      expect(await c.exited, c.stderr).to.deep.equal({ code: 0, signal: null });
      expect(c.stderr).to.equal('');
    });
  });

  it('events | head -n 1: at the next write after the reader left, the watchers close and the status is 0', async () => {
    fake.containers.set(hex(1), { id: hex(1), name: 'before', pid: 41 });
    const c = start(['events', '--docker', fake.url]);
    const line = JSON.parse(await c.firstLine()) as { name: string; synthetic: boolean };
    expect(line).to.include({ name: 'before', synthetic: true });
    c.child.stdout.destroy(); // what head does after its line
    // the CLI does not know yet; it learns with its next line
    expect(fake.eventStreams).to.equal(1);
    fake.containers.set(hex(2), { id: hex(2), name: 'after', pid: 42 });
    fake.emit(dockerEvent('start', hex(2)));
    expect(await c.exited, c.stderr).to.deep.equal({ code: 0, signal: null });
    expect(c.stderr).to.equal('');
    await connectionsClosed(fake);
    expect(fake.eventStreams).to.equal(0);
  });

  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`events on ${signal}: closes the watchers, nothing on stderr, exit status ${status}`, async () => {
      fake.containers.set(hex(1), { id: hex(1), name: 'before', pid: 41 });
      const c = start(['events', '--docker', fake.url]);
      await c.firstLine();
      expect(fake.eventStreams).to.equal(1);
      c.child.kill(signal);
      // exited by itself with the status (not killed by the signal)
      expect(await c.exited, c.stderr).to.deep.equal({ code: status, signal: null });
      expect(c.stderr).to.equal('');
      await connectionsClosed(fake);
      expect(fake.eventStreams).to.equal(0);
    });
  }

  it(`ps on SIGINT while the engine holds its inspections back: closes the watcher, exit status 130`, async () => {
    fake.containers.set(hex(1), { id: hex(1), name: 'held', pid: 41 });
    const release = fake.holdAll();
    try {
      const c = start(['ps', '--docker', fake.url]);
      await fake.inspectsReached(1);
      c.child.kill('SIGINT');
      expect(await c.exited, c.stderr).to.deep.equal({ code: 130, signal: null });
      expect(c.stdout).to.equal('');
      expect(c.stderr).to.equal('');
      await connectionsClosed(fake);
    } finally {
      release();
    }
  });

  describe('--help and usage', () => {
    for (const [args, heading] of [
      [['--help'], 'usage: whalewatcher <ps|events|watch|engines>'],
      [['-h'], 'usage: whalewatcher <ps|events|watch|engines>'],
      [['ps', '--help'], 'usage: whalewatcher ps '],
      [['ps', '-h'], 'usage: whalewatcher ps '],
      [['events', '--help'], 'usage: whalewatcher events '],
      [['--help', 'events'], 'usage: whalewatcher events '],
      [['watch', '--help'], 'usage: whalewatcher watch '],
      [['engines', '--help'], 'usage: whalewatcher engines '],
    ] as const) {
      it(`${args.join(' ')} prints ${heading.trim()}… with the exit statuses on stdout, status 0, connecting nowhere`, async () => {
        const r = await run([...args, '--docker', fake.url]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.equal('');
        expect(r.stdout.startsWith(heading), r.stdout).to.equal(true);
        for (const line of r.stdout.split('\n')) expect([...line].length, line).to.be.at.most(80);
        expect(r.stdout).to.match(/exit status:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}130 .*143/s);
        expect(fake.connections).to.equal(0);
      });
    }

    for (const [args, message, heading] of [
      [['ps', '--frobnicate'], "Unknown option '--frobnicate'", 'usage: whalewatcher ps '],
      [['events', '-x'], "Unknown option '-x'", 'usage: whalewatcher events '],
      [['events', '--json'], '--json is an option of ps and engines, not of events', 'usage: whalewatcher events '],
      [['ps', 'extra'], "unexpected argument 'extra'", 'usage: whalewatcher ps '],
      [[], 'no command given', 'usage: whalewatcher <ps|events|watch|engines>'],
      [['frobnicate'], "unknown command 'frobnicate'", 'usage: whalewatcher <ps|events|watch|engines>'],
    ] as const) {
      it(`${args.join(' ') || '(nothing)'}: the message and the usage on stderr, nothing on stdout, status 2`, async () => {
        const r = await run([...args, '--docker', fake.url]);
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal('');
        expect(r.stderr.startsWith(`whalewatcher: ${message}\n\n${heading}`), r.stderr).to.equal(true);
        expect(fake.connections).to.equal(0);
      });
    }
  });

  it('engine trouble: the typed error with its advice on stderr, no stack trace, status 1', async () => {
    const html = await notDockerServer();
    try {
      for (const command of ['ps', 'events']) {
        const r = await run([command, '--docker', html.url]);
        expect(r.code, command).to.equal(1);
        expect(r.stdout, command).to.equal('');
        expect(r.stderr, command).to.match(/^whalewatcher: docker: something at unix:\/\/\S+ answers, but not like a Docker engine API while .*: check that the endpoint is .*\[protocol\]\n$/);
        expect(r.stderr, command).to.not.match(/\n\s+at /);
      }
    } finally {
      await html.close();
    }
  });
});
