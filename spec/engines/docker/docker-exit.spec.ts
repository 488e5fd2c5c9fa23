import { expect } from 'chai';
import { dockerExitOf } from '../../../lib/engines/docker/docker-exit.js';

describe('dockerExitOf (how a container ended, from its inspection after the fact)', () => {
  const table: { what: string; raw: unknown; want: unknown }[] = [
    {
      what: 'an exited container (Docker 26 shape)',
      raw: { Id: 'a', State: { Status: 'exited', Running: false, Paused: false, OOMKilled: false, ExitCode: 42, Error: '', FinishedAt: '2026-12-02T01:02:03.456789Z' } },
      want: { code: 42, time: new Date('2026-12-02T01:02:03.456Z') },
    },
    {
      what: 'an OOM kill',
      raw: { State: { Running: false, OOMKilled: true, ExitCode: 137, FinishedAt: '2026-12-02T01:02:03Z' } },
      want: { code: 137, time: new Date('2026-12-02T01:02:03Z'), oomKilled: true },
    },
    { what: 'an engine error and the zero time', raw: { State: { Running: false, ExitCode: 128, Error: 'exec: "nope": not found', FinishedAt: '0001-01-01T00:00:00Z' } }, want: { code: 128, reason: 'exec: "nope": not found' } },
    { what: 'a container that still runs', raw: { State: { Running: true, ExitCode: 0 } }, want: null },
    { what: 'a paused one', raw: { State: { Running: false, Paused: true, ExitCode: 0 } }, want: null },
    { what: 'no State', raw: { Id: 'a' }, want: null },
    { what: 'garbage', raw: 'nope', want: null },
    { what: 'fields of the wrong type', raw: { State: { Running: false, ExitCode: '1', FinishedAt: 7, OOMKilled: 'yes' } }, want: null },
  ];
  for (const { what, raw, want } of table) {
    it(what, () => {
      const got = dockerExitOf(raw);
      expect(got).to.deep.equal(want);
      if (got !== null) expect(Object.isFrozen(got)).to.equal(true);
    });
  }
});
