import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { PRIVILEGED_LABEL, PROJECT_LABEL } from '../../../lib/model/container.js';
import {
  DOCKER_EVENT_ACTIONS,
  type DockerEventResult,
  dockerEventTime,
  normalizeDockerEvent,
  normalizeDockerInspect,
} from '../../../lib/engines/docker/docker-normalize.js';
import {
  DOCKER20_EVENTS,
  DOCKER26_EVENTS,
  DOCKER_API152_EVENTS,
  INSPECT_DOCKER20_EXITED,
  INSPECT_DOCKER20_RUNNING,
  INSPECT_DOCKER26_PAUSED_PRIVILEGED,
  INSPECT_PODMAN_PAUSED,
  INSPECT_PODMAN_PRIVILEGED,
  PODMAN_EVENTS,
} from './docker-fixtures.js';

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

const parse = (line: string): unknown => deepFreeze(JSON.parse(line));

/** `type` of each result, `-` for null. */
function kinds(lines: readonly string[]): string[] {
  return lines.map((l) => normalizeDockerEvent(parse(l), 0)?.type ?? '-');
}

describe('docker-normalize', () => {
  describe('normalizeDockerEvent on real event streams', () => {
    // run -d, pause, unpause, exec true, rename, restart -t 0, kill, rm
    const table: { engine: string; lines: readonly string[]; raw: string[]; want: string[] }[] = [
      {
        engine: 'Docker 20.10',
        lines: DOCKER20_EVENTS,
        raw: ['create', 'start', 'pause', 'unpause', 'exec_create: true ', 'exec_start: true ', 'exec_die', 'rename', 'kill', 'kill', 'die', 'stop', 'start', 'restart', 'kill', 'die', 'destroy'],
        want: ['-', 'inspect', 'paused', 'unpaused', '-', '-', '-', 'renamed', 'kill', 'kill', 'exited', '-', 'inspect', '-', 'kill', 'exited', '-'],
      },
      {
        engine: 'Docker 26.1 (API 1.45)',
        lines: DOCKER26_EVENTS,
        raw: ['create', 'start', 'pause', 'unpause', 'exec_create: true ', 'exec_start: true ', 'exec_die', 'rename', 'kill', 'kill', 'stop', 'die', 'start', 'restart', 'kill', 'die', 'destroy'],
        want: ['-', 'inspect', 'paused', 'unpaused', '-', '-', '-', 'renamed', 'kill', 'kill', '-', 'exited', 'inspect', '-', 'kill', 'exited', '-'],
      },
      {
        engine: 'Docker API 1.52 (no status/id/from)',
        lines: DOCKER_API152_EVENTS,
        raw: ['create', 'start', 'pause', 'unpause', 'exec_create: true ', 'exec_start: true ', 'exec_die', 'rename', 'kill', 'kill', 'stop', 'die', 'start', 'restart', 'kill', 'die', 'destroy'],
        want: ['-', 'inspect', 'paused', 'unpaused', '-', '-', '-', 'renamed', 'kill', 'kill', '-', 'exited', 'inspect', '-', 'kill', 'exited', '-'],
      },
      {
        engine: 'Podman 4.3',
        lines: PODMAN_EVENTS,
        raw: ['create', 'init', 'start', 'pause', 'unpause', 'exec', 'exec_died', 'rename', 'restart', 'stop', 'die', 'init', 'start', 'kill', 'die', 'cleanup', 'remove'],
        want: ['-', '-', 'inspect', 'paused', 'unpaused', '-', '-', 'renamed', '-', '-', 'exited', '-', 'inspect', 'kill', 'exited', '-', '-'],
      },
    ];
    for (const { engine, lines, raw, want } of table) {
      it(`maps ${engine}`, () => {
        expect(lines.map((l) => (JSON.parse(l) as { Action: string }).Action)).to.deep.equal(raw);
        expect(kinds(lines)).to.deep.equal(want);
      });
    }

    it('never takes an exec exit for a container exit', () => {
      for (const lines of [DOCKER20_EVENTS, DOCKER26_EVENTS, DOCKER_API152_EVENTS, PODMAN_EVENTS]) {
        for (const line of lines) {
          const action = (JSON.parse(line) as { Action: string }).Action;
          if (action.startsWith('exec')) expect(normalizeDockerEvent(parse(line)), action).to.equal(null);
        }
      }
    });

    it('reads id, new name (without /) and the engine time in ms from timeNano', () => {
      const rename = DOCKER_API152_EVENTS.find((l) => l.includes('"Action":"rename"'))!;
      const raw = JSON.parse(rename) as { Actor: { ID: string }; timeNano: number };
      expect(normalizeDockerEvent(parse(rename))).to.deep.equal({ type: 'renamed', id: raw.Actor.ID, name: 'cap2', time: raw.timeNano / 1e6 });
      const podmanDie = PODMAN_EVENTS.filter((l) => l.includes('"Action":"die"'))[1]!;
      const pd = JSON.parse(podmanDie) as { Actor: { ID: string }; timeNano: number };
      const code = Number((JSON.parse(podmanDie) as { Actor: { Attributes: { containerExitCode: string } } }).Actor.Attributes.containerExitCode);
      expect(normalizeDockerEvent(parse(podmanDie))).to.deep.equal({ type: 'exited', id: pd.Actor.ID, time: pd.timeNano / 1e6, exit: { code, time: new Date(pd.timeNano / 1e6) } });
    });

    it('returns frozen results', () => {
      for (const line of DOCKER20_EVENTS) {
        const r = normalizeDockerEvent(parse(line));
        if (r !== null) expect(Object.isFrozen(r)).to.equal(true);
      }
    });
  });

  describe('normalizeDockerEvent on hand-made shapes', () => {
    const ID = 'c7ffd4440f6f3a19a8c49b7704c257423176386f4db88b41c9576a34cc443467';
    const cases: { name: string; raw: unknown; want: DockerEventResult }[] = [
      {
        name: "older Podman's died without labels",
        raw: { Type: 'container', Action: 'died', Actor: { ID, Attributes: { name: 'x' } }, time: 1700000000, timeNano: 1700000000123456789 },
        want: { type: 'exited', id: ID, time: 1700000000123456789 / 1e6, exit: { time: new Date(1700000000123456789 / 1e6) } },
      },
      {
        name: 'died without any Attributes at all',
        raw: { Type: 'container', Action: 'died', Actor: { ID }, time: 1700000000 },
        want: { type: 'exited', id: ID, time: 1700000000000, exit: { time: new Date(1700000000000) } },
      },
      {
        name: 'die without timeNano falls back to time * 1000',
        raw: { Type: 'container', Action: 'die', Actor: { ID, Attributes: {} }, time: 1700000001 },
        want: { type: 'exited', id: ID, time: 1700000001000, exit: { time: new Date(1700000001000) } },
      },
      {
        name: 'die without any time has no exit time (the fallback is not the engine time)',
        raw: { Type: 'container', Action: 'die', Actor: { ID, Attributes: { exitCode: '42' } } },
        want: { type: 'exited', id: ID, time: 42, exit: { code: 42 } },
      },
      {
        name: 'die without time and code has no exit details',
        raw: { Type: 'container', Action: 'die', Actor: { ID, Attributes: { exitCode: 'x' } } },
        want: { type: 'exited', id: ID, time: 42 },
      },
      {
        name: "Podman's containerExitCode alone",
        raw: { Type: 'container', Action: 'died', Actor: { ID, Attributes: { containerExitCode: '3' } }, time: 1 },
        want: { type: 'exited', id: ID, time: 1000, exit: { code: 3, time: new Date(1000) } },
      },
      {
        name: 'a numeric exit code',
        raw: { Type: 'container', Action: 'die', Actor: { ID, Attributes: { exitCode: 1 } }, time: 1 },
        want: { type: 'exited', id: ID, time: 1000, exit: { code: 1, time: new Date(1000) } },
      },
      {
        name: 'start without any time falls back to the given clock',
        raw: { Type: 'container', Action: 'start', Actor: { ID } },
        want: { type: 'inspect', id: ID, time: 42 },
      },
      {
        name: 'timeNano as a decimal string',
        raw: { Type: 'container', Action: 'pause', Actor: { ID }, timeNano: '1700000000500000000' },
        want: { type: 'paused', id: ID, time: 1700000000500 },
      },
      {
        name: 'rename keeps a name without slash as is',
        raw: { Type: 'container', Action: 'rename', Actor: { ID, Attributes: { name: 'new', oldName: '/old' } }, timeNano: 1e18 },
        want: { type: 'renamed', id: ID, name: 'new', time: 1e12 },
      },
      {
        name: 'rename strips the leading /',
        raw: { Type: 'container', Action: 'rename', Actor: { ID, Attributes: { name: '/new' } }, timeNano: 1e18 },
        want: { type: 'renamed', id: ID, name: 'new', time: 1e12 },
      },
      {
        name: 'ignores the legacy status/id fields (reads Action and Actor.ID only)',
        raw: { status: 'die', id: 'legacy', Type: 'container', Action: 'unpause', Actor: { ID }, timeNano: 1e18 },
        want: { type: 'unpaused', id: ID, time: 1e12 },
      },
      { name: 'events of other object types', raw: { Type: 'network', Action: 'start', Actor: { ID } }, want: null },
      { name: "Docker's health_status: healthy", raw: { Type: 'container', Action: 'health_status: healthy', Actor: { ID } }, want: { type: 'health', id: ID, health: 'healthy', time: 42 } },
      { name: "Docker's health_status: starting", raw: { Type: 'container', Action: 'health_status: starting', Actor: { ID }, time: 2 }, want: { type: 'health', id: ID, health: 'starting', time: 2000 } },
      {
        name: "Podman's health_status with a top-level HealthStatus",
        raw: { Type: 'container', Action: 'health_status', Actor: { ID, Attributes: { health_status: 'healthy' } }, HealthStatus: 'unhealthy', time: 2 },
        want: { type: 'health', id: ID, health: 'unhealthy', time: 2000 },
      },
      { name: 'a health_status of an unknown state', raw: { Type: 'container', Action: 'health_status: sleepy', Actor: { ID } }, want: null },
      { name: 'a health_status without a state', raw: { Type: 'container', Action: 'health_status', Actor: { ID } }, want: null },
      { name: 'another action with a colon', raw: { Type: 'container', Action: 'start: now', Actor: { ID } }, want: null },
      { name: 'oom (a mark for the stream, not an exit)', raw: { Type: 'container', Action: 'oom', Actor: { ID } }, want: { type: 'oom', id: ID, time: 42 } },
      { name: 'kill (a mark for the stream, not an exit)', raw: { Type: 'container', Action: 'kill', Actor: { ID, Attributes: { signal: '9' } }, time: 1 }, want: { type: 'kill', id: ID, time: 1000 } },
      { name: 'Podman exec_died', raw: { Type: 'container', Action: 'exec_died', Actor: { ID } }, want: null },
      { name: 'Docker exec_die', raw: { Type: 'container', Action: 'exec_die', Actor: { ID, Attributes: { exitCode: '0' } } }, want: null },
      { name: 'no Action', raw: { Type: 'container', Actor: { ID } }, want: null },
    ];
    for (const { name, raw, want } of cases) {
      it(name, () => {
        expect(normalizeDockerEvent(deepFreeze(raw), 42)).to.deep.equal(want);
      });
    }

    const bad: { name: string; raw: unknown }[] = [
      { name: 'not an object', raw: 'die' },
      { name: 'an array', raw: [1, 2] },
      { name: 'null', raw: null },
      { name: 'a die without Actor.ID', raw: { Type: 'container', Action: 'die', Actor: {} } },
      { name: 'a start without Actor', raw: { Type: 'container', Action: 'start' } },
      { name: 'a rename without a new name', raw: { Type: 'container', Action: 'rename', Actor: { ID: 'x', Attributes: {} } } },
    ];
    for (const { name, raw } of bad) {
      it(`throws a decode EngineError for ${name}`, () => {
        let caught: unknown;
        try {
          normalizeDockerEvent(raw);
        } catch (e) {
          caught = e;
        }
        expect(caught).to.be.instanceOf(EngineError);
        expect((caught as EngineError).code).to.equal('decode');
        expect((caught as EngineError).engine).to.equal('docker');
      });
    }

    it('subscribes to died as well as die (Podman 4 filters before renaming died)', () => {
      expect(DOCKER_EVENT_ACTIONS).to.include.members(['start', 'die', 'died', 'pause', 'unpause', 'rename', 'oom', 'kill', 'health_status']);
    });
  });

  describe('dockerEventTime', () => {
    it('prefers timeNano, then time, then the fallback', () => {
      expect(dockerEventTime({ timeNano: 2e18, time: 1 }, 7)).to.equal(2e12);
      expect(dockerEventTime({ time: 3 }, 7)).to.equal(3000);
      expect(dockerEventTime({}, 7)).to.equal(7);
      expect(dockerEventTime({ timeNano: 'soon' }, 7)).to.equal(7);
    });
  });

  describe('normalizeDockerInspect', () => {
    const d20 = JSON.parse(INSPECT_DOCKER20_RUNNING) as { Id: string; State: { Pid: number } };
    const d26 = JSON.parse(INSPECT_DOCKER26_PAUSED_PRIVILEGED) as { Id: string; State: { Pid: number } };
    const pp = JSON.parse(INSPECT_PODMAN_PRIVILEGED) as { Id: string; State: { Pid: number } };
    const pz = JSON.parse(INSPECT_PODMAN_PAUSED) as { Id: string; State: { Pid: number } };

    const table: { name: string; raw: string; want: unknown }[] = [
      {
        name: 'Docker 20 running, compose project',
        raw: INSPECT_DOCKER20_RUNNING,
        want: { id: d20.Id, name: 'fx-run', labels: { [PROJECT_LABEL]: 'shop', 'com.docker.compose.service': 'web' }, pid: d20.State.Pid, project: 'shop', paused: false, image: 'busybox:lab', createdAt: new Date('2026-11-23T12:04:08.848Z'), startedAt: new Date('2026-11-23T12:04:09.160Z') },
      },
      {
        name: 'Docker 26 paused and privileged',
        raw: INSPECT_DOCKER26_PAUSED_PRIVILEGED,
        want: { id: d26.Id, name: 'fx-priv', labels: { [PRIVILEGED_LABEL]: '' }, pid: d26.State.Pid, project: '', paused: true, image: 'busybox:lab', createdAt: new Date('2026-11-23T12:04:10.055Z'), startedAt: new Date('2026-11-23T12:04:10.338Z') },
      },
      {
        name: 'Podman running and privileged',
        raw: INSPECT_PODMAN_PRIVILEGED,
        want: { id: pp.Id, name: 'fx-pod', labels: { [PROJECT_LABEL]: 'shop', [PRIVILEGED_LABEL]: '' }, pid: pp.State.Pid, project: 'shop', paused: false, image: 'localhost/busybox:lab', createdAt: new Date('2026-11-23T12:04:10.691Z'), startedAt: new Date('2026-11-23T12:04:10.778Z') },
      },
      {
        name: 'Podman paused',
        raw: INSPECT_PODMAN_PAUSED,
        want: { id: pz.Id, name: 'fx-pod', labels: { [PROJECT_LABEL]: 'shop', [PRIVILEGED_LABEL]: '' }, pid: pz.State.Pid, project: 'shop', paused: true, image: 'localhost/busybox:lab', createdAt: new Date('2026-11-23T12:04:10.691Z'), startedAt: new Date('2026-11-23T12:04:10.778Z') },
      },
      { name: 'Docker 20 exited (Pid 0)', raw: INSPECT_DOCKER20_EXITED, want: null },
    ];
    for (const { name, raw, want } of table) {
      it(name, () => {
        const c = normalizeDockerInspect(parse(raw));
        if (want === null) {
          expect(c).to.equal(null);
          return;
        }
        expect({ ...c, labels: { ...c!.labels } }).to.deep.equal(want);
        expect(Object.isFrozen(c)).to.equal(true);
        expect(Object.isFrozen(c!.labels)).to.equal(true);
        expect('rucksack' in c!).to.equal(false);
      });
    }

    const base = JSON.parse(INSPECT_DOCKER20_RUNNING) as Record<string, unknown>;
    const variant = (patch: (j: Record<string, any>) => void): unknown => {
      const j = structuredClone(base) as Record<string, any>;
      patch(j);
      return deepFreeze(j);
    };

    it('takes null Config.Labels as no labels', () => {
      const c = normalizeDockerInspect(variant((j) => (j.Config.Labels = null)));
      expect(c).to.not.equal(null);
      expect(Object.keys(c!.labels)).to.deep.equal([]);
      expect(c!.project).to.equal('');
    });

    it('survives a missing Config and HostConfig', () => {
      const c = normalizeDockerInspect(
        variant((j) => {
          delete j.Config;
          delete j.HostConfig;
        }),
      );
      expect(c!.labels).to.deep.equal({});
    });

    it('keeps label keys like __proto__ as plain data', () => {
      const c = normalizeDockerInspect(variant((j) => (j.Config.Labels = JSON.parse('{"__proto__":"x","constructor":"y"}'))));
      expect(c!.labels['__proto__']).to.equal('x');
      expect(c!.labels['constructor']).to.equal('y');
    });

    it('is not alive when not running even with a PID', () => {
      expect(normalizeDockerInspect(variant((j) => (j.State.Running = false)))).to.equal(null);
    });

    it('is alive when paused (Running false but Paused true)', () => {
      const c = normalizeDockerInspect(
        variant((j) => {
          j.State.Running = false;
          j.State.Paused = true;
        }),
      );
      expect(c!.paused).to.equal(true);
    });

    it('uses the name as is when it has no leading slash', () => {
      expect(normalizeDockerInspect(variant((j) => (j.Name = 'plain')))!.name).to.equal('plain');
    });

    it('packs the rucksack from the raw inspection', () => {
      const raw = variant(() => undefined);
      let seen: unknown;
      const c = normalizeDockerInspect(raw, {
        packer: (i) => {
          seen = i;
          return { image: (i as { Image: string }).Image };
        },
      });
      expect(seen).to.equal(raw);
      expect(c!.rucksack).to.deep.equal({ image: base['Image'] });
    });

    it('keeps the container without rucksack when the packer throws, and reports it', () => {
      const boom = new Error('packer bug');
      const reported: [unknown, string][] = [];
      const c = normalizeDockerInspect(variant(() => undefined), {
        packer: () => {
          throw boom;
        },
        onPackerError: (e, id) => reported.push([e, id]),
      });
      expect(c).to.not.equal(null);
      expect('rucksack' in c!).to.equal(false);
      expect(reported).to.deep.equal([[boom, base['Id']]]);
    });

    it('survives a packer and an error handler that both throw', () => {
      const c = normalizeDockerInspect(variant(() => undefined), {
        packer: () => {
          throw new Error('a');
        },
        onPackerError: () => {
          throw new Error('b');
        },
      });
      expect(c!.id).to.equal(base['Id']);
    });

    for (const [name, raw] of [
      ['a string', 'oops'],
      ['an HTML page as bytes', new Uint8Array([60, 104, 116, 109, 108, 62])],
    ] as const) {
      it(`throws a protocol EngineError for ${name}`, () => {
        expect(() => normalizeDockerInspect(raw)).to.throw(EngineError).with.property('code', 'protocol');
      });
    }
    for (const [name, raw] of [
      ['an object without Id', { State: { Pid: 1, Running: true } }],
      ['an object without State', { Id: 'abc' }],
      ['a State that is null', { Id: 'abc', State: null }],
      ['a State without Pid', { Id: 'abc', State: { Running: true } }],
      ['a Pid that is a string', { Id: 'abc', State: { Pid: '42', Running: true } }],
      ['a Running that is a string', { Id: 'abc', State: { Pid: 42, Running: 'yes' } }],
    ] as const) {
      it(`throws a decode EngineError (this container's trouble, not the endpoint's) for ${name}`, () => {
        expect(() => normalizeDockerInspect(raw)).to.throw(EngineError).with.property('code', 'decode');
      });
    }
  });
});
