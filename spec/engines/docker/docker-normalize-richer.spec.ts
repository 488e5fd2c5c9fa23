import { expect } from 'chai';
import type { EngineEvent } from '../../../lib/core/engine.js';
import { DOCKER_OOM_NOTES, type DockerStartHint, eventLabelFilter, normalizeDockerEvent, normalizeDockerInspect } from '../../../lib/engines/docker/docker-normalize.js';
import { OomNotes } from '../../../lib/engines/common/oom-notes.js';
import { parseLabelSelectors } from '../../../lib/engines/common/label-selector.js';
import {
  type CapturedStream,
  INSPECT_RICH_DOCKER20_HEALTHY,
  INSPECT_RICH_DOCKER20_OOM_EXITED,
  INSPECT_RICH_DOCKER20_PLAIN,
  INSPECT_RICH_DOCKER20_STARTING,
  INSPECT_RICH_DOCKER20_UNHEALTHY,
  INSPECT_RICH_DOCKER26_HEALTHY,
  INSPECT_RICH_DOCKER26_OOM_EXITED,
  INSPECT_RICH_DOCKER26_PLAIN,
  INSPECT_RICH_DOCKER26_STARTING,
  INSPECT_RICH_DOCKER26_UNHEALTHY,
  INSPECT_RICH_PODMAN_HEALTHY,
  INSPECT_RICH_PODMAN_OOM_EXITED,
  INSPECT_RICH_PODMAN_PLAIN,
  INSPECT_RICH_PODMAN_STARTING,
  INSPECT_RICH_PODMAN_UNHEALTHY,
  RICH_DOCKER20_EVENTS,
  RICH_DOCKER26_EVENTS,
  RICH_PODMAN_EVENTS,
  RICH_PODMAN_HEALTH_EVENTS,
} from './docker-richer-fixtures.js';

/** A captured stream through the normaliser and one stream's OOM memory, compactly: `role:type[:detail]`. */
function through(captured: CapturedStream): string[] {
  const role = new Map(Object.entries(captured.ids).map(([k, v]) => [v, k]));
  const ooms = new OomNotes(DOCKER_OOM_NOTES);
  const out: string[] = [];
  for (const line of captured.lines) {
    const r = ooms.apply(normalizeDockerEvent(JSON.parse(line), 0));
    if (r === null) continue;
    const who = role.get(r.type === 'started' ? r.container.id : r.id) ?? '?';
    out.push(`${who}:${describe1(r)}`);
  }
  return out;
}

function describe1(r: EngineEvent | DockerStartHint): string {
  switch (r.type) {
    case 'exited':
      return `exited:${r.exit?.code}${r.exit?.oomKilled === true ? ':oom' : ''}`;
    case 'health':
      return `health:${r.health}`;
    case 'renamed':
      return `renamed:${r.name.replace(/^ww-[0-9a-f]+-/, '')}`;
    default:
      return r.type;
  }
}

const DOCKER_WANT = [
  'c42:inspect',
  'c42:exited:42',
  'kill:inspect',
  'kill:paused',
  'kill:unpaused',
  'kill:exited:137',
  'other:inspect',
  'other:exited:3',
  'health:inspect',
  'health:health:healthy',
  'sick:inspect',
  'sick:health:unhealthy',
  'health:exited:137',
  'sick:exited:137',
  'oom:inspect',
  'oom:exited:137:oom',
  'oomexec:inspect',
  'oomexec:exited:137', // its exec was OOM-killed; the kill ended it
  'ren:inspect',
  'ren:renamed:renamed-9',
  'ren:exited:137',
];

describe('docker-normalize: the richer picture, on captured payloads', () => {
  describe('event streams through normalizeDockerEvent and OomNotes', () => {
    const table: { engine: string; captured: CapturedStream; want: string[] }[] = [
      { engine: 'Docker 20.10', captured: RICH_DOCKER20_EVENTS, want: DOCKER_WANT },
      { engine: 'Docker 26.1', captured: RICH_DOCKER26_EVENTS, want: DOCKER_WANT },
      {
        engine: 'Podman 4.3 (no oom events, health checks not run without systemd)',
        captured: RICH_PODMAN_EVENTS,
        want: DOCKER_WANT.filter((w) => !w.includes(':health:')).map((w) => (w === 'oom:exited:137:oom' ? 'oom:exited:137' : w)),
      },
      {
        engine: 'Podman 4.3 health checks run by hand twice (its status lags one run)',
        captured: RICH_PODMAN_HEALTH_EVENTS,
        want: [
          'health:inspect',
          'sick:inspect',
          'nopick:inspect',
          'health:health:starting',
          'sick:health:starting',
          'health:health:healthy',
          'sick:health:unhealthy',
          'health:exited:137',
          'sick:exited:137',
          'nopick:exited:137',
        ],
      },
    ];
    for (const { engine, captured, want } of table) {
      it(`maps ${engine}`, () => {
        expect(through(captured)).to.deep.equal(want);
      });
    }

    it('puts the engine time of die on exit.time', () => {
      for (const captured of [RICH_DOCKER20_EVENTS, RICH_DOCKER26_EVENTS, RICH_PODMAN_EVENTS]) {
        const line = captured.lines.find((l) => l.includes('"Action":"die"') && l.includes(captured.ids['c42']!))!;
        const raw = JSON.parse(line) as { timeNano: number };
        const r = normalizeDockerEvent(JSON.parse(line));
        expect(r).to.deep.equal({ type: 'exited', id: captured.ids['c42'], time: raw.timeNano / 1e6, exit: { code: 42, time: new Date(raw.timeNano / 1e6) } });
        expect(Object.isFrozen((r as { exit: object }).exit)).to.equal(true);
      }
    });
  });

  describe('OomNotes', () => {
    const exited = (id: string, time: number, code = 137) => normalizeDockerEvent({ Type: 'container', Action: 'die', Actor: { ID: id, Attributes: { exitCode: String(code) } }, timeNano: time * 1e6 });
    const mark = (action: string, id: string, time: number) => normalizeDockerEvent({ Type: 'container', Action: action, Actor: { ID: id }, timeNano: time * 1e6 });

    it('marks the die right after an oom, once', () => {
      const m = new OomNotes(DOCKER_OOM_NOTES);
      expect(m.apply(mark('oom', 'a', 1000))).to.equal(null);
      expect(m.apply(exited('a', 1100))).to.deep.include({ exit: { code: 137, time: new Date(1100), oomKilled: true } });
      expect(m.apply(exited('a', 1200))).to.deep.include({ exit: { code: 137, time: new Date(1200) } });
      expect(m.size).to.equal(0);
    });

    it('does not mark a die of another container, after a kill, after a restart or long after the oom', () => {
      const m = new OomNotes({ ...DOCKER_OOM_NOTES, window: 2_000 });
      m.apply(mark('oom', 'a', 1000));
      expect((m.apply(exited('b', 1100)) as { exit: object }).exit).to.not.have.property('oomKilled');
      m.apply(mark('kill', 'a', 1200));
      expect((m.apply(exited('a', 1300)) as { exit: object }).exit).to.not.have.property('oomKilled');
      m.apply(mark('oom', 'a', 2000));
      expect(m.apply(mark('start', 'a', 2100))).to.deep.equal({ type: 'inspect', id: 'a', time: 2100 });
      expect((m.apply(exited('a', 2200)) as { exit: object }).exit).to.not.have.property('oomKilled');
      m.apply(mark('oom', 'a', 3000));
      expect((m.apply(exited('a', 5001)) as { exit: object }).exit).to.not.have.property('oomKilled');
      expect(m.size).to.equal(0);
    });

    it('remembers at most its bound, forgetting the oldest', () => {
      const m = new OomNotes({ window: 2_000, max: 3 });
      for (const id of ['a', 'b', 'c', 'd']) m.apply(mark('oom', id, 1000));
      expect(m.size).to.equal(3);
      expect((m.apply(exited('a', 1001)) as { exit: object }).exit).to.not.have.property('oomKilled');
      expect(m.apply(exited('d', 1001))).to.deep.include({ exit: { code: 137, time: new Date(1001), oomKilled: true } });
      const big = new OomNotes(DOCKER_OOM_NOTES);
      for (let i = 0; i < DOCKER_OOM_NOTES.max * 2; i++) big.apply(mark('oom', `c${i}`, 1000));
      expect(big.size).to.equal(DOCKER_OOM_NOTES.max);
    });

    it('passes everything else through as is', () => {
      const m = new OomNotes(DOCKER_OOM_NOTES);
      const paused = mark('pause', 'a', 1);
      expect(m.apply(paused)).to.equal(paused);
      expect(m.apply(null)).to.equal(null);
    });
  });

  describe('normalizeDockerInspect: image, times, health', () => {
    const table: { name: string; raw: string; health: string | undefined; image: string }[] = [
      { name: 'Docker 20.10 without health check', raw: INSPECT_RICH_DOCKER20_PLAIN, health: undefined, image: 'busybox:lab' },
      { name: 'Docker 20.10 starting', raw: INSPECT_RICH_DOCKER20_STARTING, health: 'starting', image: 'busybox:lab' },
      { name: 'Docker 20.10 healthy', raw: INSPECT_RICH_DOCKER20_HEALTHY, health: 'healthy', image: 'busybox:lab' },
      { name: 'Docker 20.10 unhealthy', raw: INSPECT_RICH_DOCKER20_UNHEALTHY, health: 'unhealthy', image: 'busybox:lab' },
      { name: 'Docker 26.1 without health check', raw: INSPECT_RICH_DOCKER26_PLAIN, health: undefined, image: 'busybox:lab' },
      { name: 'Docker 26.1 starting', raw: INSPECT_RICH_DOCKER26_STARTING, health: 'starting', image: 'busybox:lab' },
      { name: 'Docker 26.1 healthy', raw: INSPECT_RICH_DOCKER26_HEALTHY, health: 'healthy', image: 'busybox:lab' },
      { name: 'Docker 26.1 unhealthy', raw: INSPECT_RICH_DOCKER26_UNHEALTHY, health: 'unhealthy', image: 'busybox:lab' },
      { name: 'Podman 4.3 without health check (Status "")', raw: INSPECT_RICH_PODMAN_PLAIN, health: undefined, image: 'localhost/busybox:lab' },
      { name: 'Podman 4.3 starting', raw: INSPECT_RICH_PODMAN_STARTING, health: 'starting', image: 'localhost/busybox:lab' },
      { name: 'Podman 4.3 healthy', raw: INSPECT_RICH_PODMAN_HEALTHY, health: 'healthy', image: 'localhost/busybox:lab' },
      { name: 'Podman 4.3 unhealthy', raw: INSPECT_RICH_PODMAN_UNHEALTHY, health: 'unhealthy', image: 'localhost/busybox:lab' },
    ];
    for (const { name, raw, health, image } of table) {
      it(name, () => {
        const j = JSON.parse(raw) as { Created: string; State: { StartedAt: string } };
        const c = normalizeDockerInspect(JSON.parse(raw))!;
        expect(c.image).to.equal(image);
        expect(c.health).to.equal(health);
        expect('health' in c).to.equal(health !== undefined);
        expect(c.createdAt?.toISOString()).to.equal(`${j.Created.slice(0, 23)}Z`);
        expect(c.startedAt?.toISOString()).to.equal(`${j.State.StartedAt.slice(0, 23)}Z`);
      });
    }

    it('is not alive after an OOM kill', () => {
      for (const raw of [INSPECT_RICH_DOCKER20_OOM_EXITED, INSPECT_RICH_DOCKER26_OOM_EXITED, INSPECT_RICH_PODMAN_OOM_EXITED]) expect(normalizeDockerInspect(JSON.parse(raw))).to.equal(null);
    });

    it("takes Go's zero time, garbage and absence as unknown times, and none or an empty image as no image", () => {
      const j = JSON.parse(INSPECT_RICH_DOCKER26_PLAIN) as Record<string, any>;
      j['State']['StartedAt'] = '0001-01-01T00:00:00Z';
      j['Created'] = 'yesterday';
      j['Config']['Image'] = '';
      j['State']['Health'] = { Status: 'none' };
      const c = normalizeDockerInspect(j)!;
      expect(['image', 'createdAt', 'startedAt', 'health'].filter((k) => k in c)).to.deep.equal([]);
      delete j['Created'];
      delete j['State']['StartedAt'];
      delete j['Config'];
      expect(['image', 'createdAt', 'startedAt'].filter((k) => k in normalizeDockerInspect(j)!)).to.deep.equal([]);
    });
  });

  describe('eventLabelFilter', () => {
    it('takes the first key=value entry, or none', () => {
      expect(eventLabelFilter(parseLabelSelectors(['a', 'b=1', 'c=2'], 'docker'))).to.equal('b=1');
      expect(eventLabelFilter(parseLabelSelectors(['a=x=y'], 'docker'))).to.equal('a=x=y');
      expect(eventLabelFilter(parseLabelSelectors(['a', 'b'], 'docker'))).to.equal(undefined);
      expect(eventLabelFilter(parseLabelSelectors([], 'docker'))).to.equal(undefined);
    });
  });
});
