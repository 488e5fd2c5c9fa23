/**
 * The CLI's way out (lib/cli/shutdown.ts) in this process: real writable
 * streams for stdout and stderr, real watchers on a fake Docker engine; only
 * the signals and `exit` are the test's (a spec cannot send itself SIGINT).
 * The real process is driven in unix-citizen.spec.ts.
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import sinon from 'sinon';
import { EXIT, type ShutdownHost, installShutdown } from '../../lib/cli/shutdown.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import { fakeDocker } from '../fakes/docker-fakes.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

function host() {
  const written = { stdout: [] as string[], stderr: [] as string[] };
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        into.push(chunk.toString());
        done();
      },
    }) as unknown as NodeJS.WriteStream;
  const signals = new EventEmitter();
  const exits: number[] = [];
  const h: ShutdownHost = {
    stdout: sink(written.stdout),
    stderr: sink(written.stderr),
    on: (signal, listener) => void signals.on(signal, listener),
    exit: (code) => {
      exits.push(code);
      throw new Exited(code);
    },
  };
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  return { h, written, signals, exits, epipe };
}

describe('cli/shutdown', () => {
  it('a first SIGINT asks to stop with 130, a second exits at once with 130', async () => {
    const t = host();
    const io = installShutdown(t.h);
    expect(io.code).to.equal(undefined);
    t.signals.emit('SIGINT');
    expect(await io.requested).to.equal(EXIT.sigint);
    expect(io.code).to.equal(130);
    expect(t.exits).to.deep.equal([]);
    expect(() => t.signals.emit('SIGINT')).to.throw(Exited);
    expect(t.exits).to.deep.equal([130]);
  });

  it('SIGTERM asks to stop with 143; a SIGINT after it exits at once, keeping 143', async () => {
    const t = host();
    const io = installShutdown(t.h);
    t.signals.emit('SIGTERM');
    expect(await io.requested).to.equal(EXIT.sigterm);
    expect(() => t.signals.emit('SIGINT')).to.throw(Exited);
    expect(t.exits).to.deep.equal([143]);
  });

  it('EPIPE on stdout asks to stop with 0, and later writes to stdout do nothing (no throw, no error)', async () => {
    const t = host();
    const io = installShutdown(t.h);
    io.out('one\n');
    t.h.stdout.emit('error', t.epipe);
    expect(await io.requested).to.equal(EXIT.ok);
    t.h.stdout.emit('error', t.epipe); // a destroyed stream may report again: still handled
    io.out('two\n');
    expect(t.written.stdout).to.deep.equal(['one\n']);
    expect(t.written.stderr).to.deep.equal([]);
    expect(io.code).to.equal(0);
  });

  it('another stdout error: its message on stderr, status 1', async () => {
    const t = host();
    const io = installShutdown(t.h);
    t.h.stdout.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
    expect(await io.requested).to.equal(EXIT.failure);
    expect(t.written.stderr).to.deep.equal(['whalewatcher: cannot write the output: write EIO\n']);
  });

  it('closeAll closes every tracked watcher, each once however often it is called', async () => {
    const fake = await fakeDocker();
    try {
      const t = host();
      const io = installShutdown(t.h);
      const watchers = [io.track(watchDocker({ host: fake.url })), io.track(watchDocker({ host: fake.url }))];
      await Promise.all(watchers.map((w) => w.ready));
      expect(fake.eventStreams).to.equal(2);
      const closes = watchers.map((w) => sinon.spy(w, 'close'));
      await Promise.all([io.closeAll(), io.closeAll()]);
      await io.closeAll();
      expect(closes.map((c) => c.callCount)).to.deep.equal([1, 1]);
      expect(watchers.map((w) => w.status.state)).to.deep.equal(['stopped', 'stopped']);
      while (fake.openConnections > 0) await new Promise((r) => setTimeout(r, 10)); // a condition, polled
      expect(fake.eventStreams).to.equal(0);
    } finally {
      await fake.close();
    }
  });
});
