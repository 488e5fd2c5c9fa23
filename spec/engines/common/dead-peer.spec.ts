import { expect } from 'chai';
import { NEVER, type Observable, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { deadPeerCheck } from '../../../lib/engines/common/dead-peer.js';
import { engineErrors } from '../../../lib/engines/common/engine-error.js';
import { DOCKER_TERMS } from '../../../lib/engines/docker/docker-errors.js';
import { isEngineError } from '../../../lib/errors.js';

describe('the kit\'s dead-peer check (virtual time)', () => {
  const errors = engineErrors(DOCKER_TERMS, 'unix:///fake.sock');
  const run = (probe: () => Observable<unknown>, heardAt: (now: number) => number, until: number, bound = 300) => {
    const ts = new TestScheduler(() => undefined);
    let probes = 0;
    const failures: { at: number; err: unknown }[] = [];
    // What the check did, in order: `drop` (the connection) and `fail`.
    const order: string[] = [];
    ts.run(({ flush }) => {
      const check = deadPeerCheck({
        bound,
        scheduler: ts,
        errors,
        heard: () => heardAt(ts.now()),
        probe: () => {
          probes += 1;
          return probe();
        },
        drop: () => order.push('drop'),
        fail: (err) => {
          order.push('fail');
          failures.push({ at: ts.now(), err });
        },
      });
      ts.schedule(() => check.unsubscribe(), until);
      flush();
    });
    return { probes, failures, order };
  };

  it('a silent stream whose probe never answers fails within the bound: probe at a third, deadPeer at two thirds', () => {
    const { probes, failures } = run(() => NEVER, () => 0, 1_000);
    expect(probes).to.equal(1);
    expect(failures.map((f) => f.at)).to.deep.equal([200]);
    expect(isEngineError(failures[0]?.err) && failures[0].err.code).to.equal('unreachable');
  });

  it('drops the connection just before it tells the dead peer (the reconnect must not wait on it), once; never while the peer answers', () => {
    expect(run(() => NEVER, () => 0, 1_000).order).to.deep.equal(['drop', 'fail']);
    expect(run(() => throwError(() => new Error('EPIPE')), () => 0, 1_000).order).to.deep.equal(['drop', 'fail']);
    expect(run(() => of(true), () => 0, 10_000).order).to.deep.equal([]);
  });

  // (six hours with the default bound of 60 s: RxJS's VirtualTimeScheduler nests every repetition of a periodic
  // timer in the one before, so a few thousand repetitions overflow the stack on unsubscribe; asyncScheduler does not nest)
  it('a silent stream whose probe answers is probed once a third and never failed, for six hours of virtual time', () => {
    const { probes, failures } = run(() => of(true), () => 0, 21_600_001, 60_000);
    expect(failures).to.deep.equal([]);
    expect(probes).to.equal(21_600_000 / 20_000);
  });

  it('a stream that keeps receiving is never probed', () => {
    const { probes, failures } = run(() => NEVER, (now) => now, 100_000);
    expect(probes).to.equal(0);
    expect(failures).to.deep.equal([]);
  });

  it('a probe that errors fails the stream with its own error', () => {
    const boom = new Error('ECONNREFUSED');
    const { failures } = run(() => throwError(() => boom), () => 0, 1_000);
    expect(failures.map((f) => f.err)).to.deep.equal([boom]);
  });

  it('bound 0: no timer, no probe', () => {
    expect(deadPeerCheck({ bound: 0, scheduler: new TestScheduler(() => undefined), errors, heard: () => 0, probe: () => NEVER, fail: () => undefined }).closed).to.equal(true);
  });
});
