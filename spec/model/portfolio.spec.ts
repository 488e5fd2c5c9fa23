import { expect } from 'chai';
import { newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

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
