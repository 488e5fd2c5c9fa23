import { expect } from 'chai';
import type { EngineEvent } from '../../../lib/core/engine.js';
import { OomNotes } from '../../../lib/engines/common/oom-notes.js';

const exited = (id: string, time: number): EngineEvent => Object.freeze({ type: 'exited', id, time, exit: Object.freeze({ code: 137 }) });

describe('OomNotes (the per-stream OOM memory of every engine)', () => {
  it('without a window (containerd): the next exit after an oom is an OOM kill, however late', () => {
    const notes = new OomNotes();
    expect(notes.apply({ type: 'oom', id: 'a', time: 1 })).to.equal(null);
    expect(notes.apply(exited('a', 1e12))).to.deep.include({ exit: { code: 137, oomKilled: true } });
  });

  it('a start hint forgets the note (a new run), a hint that resolves to a rename does not (as a rename event)', () => {
    const notes = new OomNotes();
    notes.apply({ type: 'oom', id: 'a', time: 1 });
    notes.apply({ type: 'oom', id: 'b', time: 1 });
    notes.apply({ type: 'inspect', id: 'a', time: 2, resolvesTo: 'renamed' });
    notes.apply({ type: 'inspect', id: 'b', time: 2 });
    expect(notes.apply(exited('a', 3))).to.deep.include({ exit: { code: 137, oomKilled: true } });
    expect(notes.apply(exited('b', 3))).to.deep.include({ exit: { code: 137 } });
  });

  it('100,000 containers OOMing on one stream: it keeps exactly its bound, the newest, and marks their exits', () => {
    const notes = new OomNotes({ max: 1_024 });
    const n = 100_000;
    for (let i = 0; i < n; i++) notes.apply({ type: 'oom', id: `c${i}`, time: i });
    expect(notes.size).to.equal(1_024);
    let marked = 0;
    for (let i = 0; i < n; i++) {
      const out = notes.apply(exited(`c${i}`, n)) as { exit?: { oomKilled?: boolean } };
      if (out.exit?.oomKilled === true) marked += 1;
      else expect(i, `c${i} should have been forgotten`).to.be.below(n - 1_024);
    }
    expect(marked).to.equal(1_024);
    expect(notes.size).to.equal(0);
  });
});
