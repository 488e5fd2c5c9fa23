import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { OVERSIZED_EVENT_HEAD, normalizeOversizedDockerEvent } from '../../../lib/engines/docker/docker-normalize.js';

const ID = 'c0ffee'.repeat(10) + 'abcd';
const big = 'x'.repeat(2 * OVERSIZED_EVENT_HEAD);

/** A Docker API 1.52 event line with a huge label, as Docker writes it (Type, Action, Actor.ID before the attributes). */
const docker = (action: string) => JSON.stringify({ Type: 'container', Action: action, Actor: { ID, Attributes: { big, name: 'web' } }, scope: 'local', time: 1, timeNano: 1e9 });
/** Podman's shape: the legacy status/id/from fields first. */
const podman = (action: string) => JSON.stringify({ status: action, id: ID, from: 'busybox', Type: 'container', Action: action, Actor: { ID, Attributes: { big } }, time: 1 });

describe('normalizeOversizedDockerEvent (an event line over the limit, from its head)', () => {
  const cases: { name: string; line: string; want: unknown }[] = [
    { name: 'a Docker start: resolved by an inspection', line: docker('start'), want: { type: 'inspect', id: ID, time: 7 } },
    { name: 'a Podman start: resolved by an inspection', line: podman('start'), want: { type: 'inspect', id: ID, time: 7 } },
    { name: 'a rename (its name is lost in the attributes): resolved by an inspection, to a rename', line: docker('rename'), want: { type: 'inspect', id: ID, time: 7, resolvesTo: 'renamed' } },
    { name: 'a die: an exit without its code', line: docker('die'), want: { type: 'exited', id: ID, time: 7 } },
    { name: 'a pause', line: docker('pause'), want: { type: 'paused', id: ID, time: 7 } },
    { name: 'a health status', line: docker('health_status: unhealthy'), want: { type: 'health', id: ID, health: 'unhealthy', time: 7 } },
    { name: 'an event not watched', line: docker('exec_start: sh'), want: null },
    { name: 'an event of another type', line: JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID, Attributes: { big } } }), want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(normalizeOversizedDockerEvent(c.line, 7)).to.deep.equal(c.want);
    });
  }

  it('reads only the head: a line whose id comes after it is a decode error', () => {
    const late = JSON.stringify({ Type: 'container', Action: 'start', Actor: { Attributes: { big }, ID } });
    expect(() => normalizeOversizedDockerEvent(late, 7)).to.throw(EngineError).with.property('code', 'decode');
  });

  it('garbage without any id is a decode error', () => {
    expect(() => normalizeOversizedDockerEvent(big, 7)).to.throw(EngineError).with.property('code', 'decode');
  });
});
