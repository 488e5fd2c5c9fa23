import { expect } from 'chai';
import fc from 'fast-check';
import { type Container, newContainer } from '../../lib/model/container.js';
import { Portfolio, listStats } from '../../lib/model/portfolio.js';

const c = (id: string, name: string, project = '') => newContainer({ id, name, pid: 1, project });

describe('Portfolio lookups', () => {
  it('finds a container by id and by name with one index, and forgets the old name after a rename', () => {
    const a = c('aaaa', 'web');
    let p = Portfolio.of([a, c('bbbb', 'db')]);
    expect(p.container('aaaa')).to.equal(a);
    expect(p.container('web')).to.equal(a);
    const renamed = c('aaaa', 'front');
    p = p.withContainer(renamed);
    expect(p.container('front')).to.equal(renamed);
    expect(p.container('web')).to.equal(undefined);
    expect(p.container('aaaa')).to.equal(renamed);
  });

  it('never lets a name shadow another container\'s id', () => {
    const victim = c('x1', 'victim');
    const impostor = c('y2', 'x1');
    const p = Portfolio.of([victim, impostor]);
    expect(p.container('x1')).to.equal(victim);
    expect(p.container('y2')).to.equal(impostor);
    expect(p.withoutContainer('y2').container('x1')).to.equal(victim);
  });

  it('answers the same once it is asked often enough to build its Map index, and a changed portfolio starts afresh', () => {
    const all = Array.from({ length: 300 }, (_, i) => c(`id${i}`, i === 7 ? 'id3' : `name${i}`)); // name7 is id3: the id wins
    const p = Portfolio.of(all);
    const keys = [...all.flatMap((x) => [x.id, x.name]), 'missing', '__proto__', 'constructor', ''];
    const expected = (k: string) => all.find((x) => x.id === k) ?? all.find((x) => x.name === k);
    for (let round = 0; round < 5; round++) {
      // the first rounds run on the trie, the later ones on the index
      for (const k of keys) expect(p.container(k), `${k} in round ${round}`).to.equal(expected(k));
    }
    const moved = c('id3', 'renamed');
    const q = p.withContainer(moved).withoutContainer('id4');
    expect(q.container('id3')).to.equal(moved);
    expect(q.container('name3')).to.equal(undefined);
    expect(q.container('id4')).to.equal(undefined);
    expect(p.container('name3')).to.equal(all[3]);
    expect(p.container('id4')).to.equal(all[4]);
  });

  it('handles containers whose name is their id (containerd without a nerdctl name)', () => {
    const same = c('ns2/task', 'ns2/task');
    let p = Portfolio.of([same]);
    expect(p.container('ns2/task')).to.equal(same);
    p = p.withContainer(c('ns2/task', 'nice'));
    expect(p.container('ns2/task')?.name).to.equal('nice');
    expect(p.container('nice')?.id).to.equal('ns2/task');
    p = p.withoutContainer('ns2/task');
    expect(p.container('nice')).to.equal(undefined);
    expect(p.container('ns2/task')).to.equal(undefined);
    expect(p.total).to.equal(0);
  });

  it('removes a container from both indexes and its emptied named project', () => {
    const p = Portfolio.of([c('a', 'one', 'shop'), c('b', 'two')]).withoutContainer('a');
    expect(p.container('a')).to.equal(undefined);
    expect(p.container('one')).to.equal(undefined);
    expect(p.projectNames).to.deep.equal([]);
    expect(p.project('')?.container('two')?.id).to.equal('b');
  });

  it('moves a container between projects when its project changes', () => {
    let p = Portfolio.of([c('a', 'one', 'p1')]);
    p = p.withContainer(c('a', 'one', 'p2'));
    expect(p.projectNames).to.deep.equal(['p2']);
    expect(p.project('p2')?.container('one')?.id).to.equal('a');
  });
});

describe('Portfolio arrays: made once per version, lazily', () => {
  const ids = (cs: readonly Container[]) => cs.map((x) => x.id).sort();

  it('returns the same frozen array on repeated reads of one version', () => {
    const p = Portfolio.of([c('a', 'one', 'p'), c('b', 'two'), c('d', 'three', 'q')]);
    for (const read of [(x: Portfolio) => x.containers, (x: Portfolio) => x.projects, (x: Portfolio) => x.projectNames, (x: Portfolio) => x.project('p')!.containers, (x: Portfolio) => x.project('')!.containers]) {
      const first = read(p);
      expect(read(p)).to.equal(first);
      expect(Object.isFrozen(first)).to.equal(true);
    }
  });

  it('gives a new version a new array with its content, and leaves the old one as it was', () => {
    const p1 = Portfolio.of([c('a', 'one', 'p'), c('b', 'two')]);
    const before = p1.containers;
    const projectBefore = p1.project('p')!.containers;
    const table: [string, (p: Portfolio) => Portfolio, string[], string[]][] = [
      ['add', (p) => p.withContainer(c('x', 'new', 'p')), ['a', 'b', 'x'], ['a', 'x']],
      ['replace', (p) => p.withContainer(newContainer({ id: 'a', name: 'one', pid: 9, project: 'p' })), ['a', 'b'], ['a']],
      ['remove', (p) => p.withoutContainer('a'), ['b'], []],
      ['move between projects', (p) => p.withContainer(c('b', 'two', 'p')), ['a', 'b'], ['a', 'b']],
    ];
    for (const [name, op, all, inP] of table) {
      const p2 = op(p1);
      expect(p2.containers, name).to.not.equal(before);
      expect(ids(p2.containers), name).to.deep.equal(all);
      expect(ids(p2.project('p')?.containers ?? []), name).to.deep.equal(inP);
      for (const x of p2.containers) expect(p2.byIdOnly(x.id), name).to.equal(x);
    }
    expect(p1.containers).to.equal(before);
    expect(ids(before)).to.deep.equal(['a', 'b']);
    expect(p1.project('p')!.containers).to.equal(projectBefore);
  });

  it('gives every version the array of its own content, whichever versions are read and in which order, also forks and bursts (fast-check)', () => {
    type Op =
      | { type: 'set'; id: number; pid: number; project: number }
      | { type: 'delete'; id: number }
      | { type: 'read' }
      | { type: 'late' }
      | { type: 'fork'; at: number }
      | { type: 'burst'; ids: number[] };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ type: fc.constant('set' as const), id: fc.nat(150), pid: fc.nat(3), project: fc.nat(2) }),
      fc.record({ type: fc.constant('delete' as const), id: fc.nat(150) }),
      fc.record({ type: fc.constant('read' as const) }),
      fc.record({ type: fc.constant('late' as const) }),
      // go on from an earlier version: a second line of versions from one that already has a follower
      fc.record({ type: fc.constant('fork' as const), at: fc.nat() }),
      // many edits in a row with nothing read (past the eighth of the size, the array is walked instead)
      fc.record({ type: fc.constant('burst' as const), ids: fc.array(fc.nat(150), { minLength: 5, maxLength: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        let p = Portfolio.EMPTY;
        let model = new Map<string, Container>();
        const versions: [Portfolio, string[], Map<string, Container>][] = [];
        const set = (id: number, pid: number, project: number) => {
          const x = newContainer({ id: `c${id}`, name: `n${id}`, pid, project: project === 0 ? '' : `p${project}` });
          p = p.withContainer(x);
          model.set(x.id, x);
        };
        for (const o of ops) {
          if (o.type === 'set') set(o.id, o.pid, o.project);
          else if (o.type === 'delete') {
            p = p.withoutContainer(`c${o.id}`);
            model.delete(`c${o.id}`);
          } else if (o.type === 'burst') {
            for (const id of o.ids) if (model.has(`c${id}`) && id % 3 === 0) {
              p = p.withoutContainer(`c${id}`);
              model.delete(`c${id}`);
            } else set(id, id % 4, id % 3);
          } else if (o.type === 'fork' && versions.length > 0) {
            const [old, , oldModel] = versions[o.at % versions.length]!;
            p = old;
            model = new Map(oldModel);
          } else if (o.type === 'late' && versions.length > 0) {
            // read an older version late: its array must still be its own
            const [old, oldIds] = versions[Math.floor(versions.length / 2)]!;
            expect(ids(old.containers)).to.deep.equal(oldIds);
          }
          if (o.type === 'read') {
            const cs = p.containers;
            expect(ids(cs)).to.deep.equal([...model.keys()].sort());
            for (const x of cs) expect(model.get(x.id)).to.equal(x);
            for (const project of p.projects) for (const x of project.containers) expect(x.project).to.equal(project.name);
            expect(p.projects.reduce((n, project) => n + project.containers.length, 0)).to.equal(model.size);
          }
          versions.push([p, [...model.keys()].sort(), new Map(model)]);
        }
        for (const [version, expected, m] of versions) {
          expect(ids(version.containers)).to.deep.equal(expected);
          for (const x of version.containers) expect(m.get(x.id)).to.equal(x);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a burst of edits read only at its end is one copy of the last array read, not a walk, up to an eighth of the size', () => {
    let p = Portfolio.of(Array.from({ length: 4000 }, (_, i) => c(`c${i}`, `n${i}`, '')));
    p.containers;
    const made = listStats.made;
    const walked = listStats.walked;
    for (let k = 0; k < 500; k++) p = p.withContainer(newContainer({ id: `c${k * 7}`, name: `n${k * 7}`, pid: 99 }));
    expect(p.containers.filter((x) => x.pid === 99)).to.have.length(500);
    expect(listStats.walked - walked, 'derived').to.equal(0);
    for (let k = 0; k < 501; k++) p = p.withContainer(newContainer({ id: `c${k * 7}`, name: `n${k * 7}`, pid: 98 }));
    expect(p.containers.filter((x) => x.pid === 98)).to.have.length(501);
    expect(listStats.walked - walked, 'past 4000/8 edits: walked').to.equal(1);
    expect(listStats.made - made).to.equal(2);
  });

  it('a reader of every version of 2,000 changes to 1,000 containers makes one array per version and walks the index once', () => {
    let p = Portfolio.of(Array.from({ length: 1000 }, (_, i) => c(`c${i}`, `n${i}`, `p${i % 7}`)));
    p.containers;
    const made = listStats.made;
    const walked = listStats.walked;
    for (let k = 0; k < 2000; k++) {
      const i = (k * 389) % 1000;
      p = k % 3 === 2 ? p.withoutContainer(`c${i}`) : p.withContainer(newContainer({ id: `c${i}`, name: `n${i}`, pid: k, project: `p${i % 7}` }));
      expect(p.containers.length).to.equal(p.total);
    }
    expect(listStats.made - made).to.equal(2000);
    expect(listStats.walked - walked).to.equal(0);
  });
});
