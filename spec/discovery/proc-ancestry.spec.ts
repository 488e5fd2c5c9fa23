/**
 * A process's ancestry for nested engines: the parent PID in /proc/PID/stat
 * (process names with spaces and parentheses, as the kernel writes them), and
 * the chain followed on a fixture /proc tree (a gone process, a loop, garbage).
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStatParent } from '../../lib/discovery/proc-parse.js';
import { processAncestry } from '../../lib/discovery/proc-scan.js';

/** Shaped like the kernel's /proc/PID/stat (6.1): pid (comm) state ppid pgrp session …, comm verbatim up to 15 bytes. */
const stat = (pid: number, comm: string, ppid: number): string => `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1234 0 0 0 12 3 0 0 20 0 1 0 4242 12345678 900 18446744073709551615\n`;

describe('discovery: a process’s ancestry (nested engines)', () => {
  describe('parseStatParent', () => {
    const cases: [string, string, number | undefined][] = [
      ['a plain name', stat(812, 'containerd', 1), 1],
      ['spaces in the name', stat(900, 'my engine', 812), 812],
      ['parentheses in the name, a closing one last', stat(901, 'x) S 7 (y)', 900), 900],
      ['an empty name', stat(902, '', 901), 901],
      ['the swapper’s child (ppid 0)', stat(1, 'init', 0), 0],
      ['no closing parenthesis', '903 (broken S 1 2 3', undefined],
      ['nothing after the name', '904 (short)', undefined],
      ['a state without a ppid', '905 (x) S', undefined],
      ['garbage', 'garbage', undefined],
    ];
    for (const [what, text, expected] of cases) it(`${what}: ${expected ?? 'undefined'}`, () => expect(parseStatParent(text)).to.equal(expected));
  });

  describe('processAncestry (fixture /proc)', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ww-ancestry-'));
      const procs: [number, string, number][] = [
        [1, 'init', 0],
        [40, 'dockerd', 1],
        [400, 'sleep (outer)', 40],
        [500, 'containerd', 400],
        [600, 'orphan', 999], // 999 is gone
        [700, 'loop a', 701],
        [701, 'loop b', 700],
      ];
      for (const [pid, comm, ppid] of procs) {
        await mkdir(join(dir, String(pid)));
        await writeFile(join(dir, String(pid), 'stat'), stat(pid, comm, ppid));
      }
      await mkdir(join(dir, '800'));
      await writeFile(join(dir, '800', 'stat'), 'not a stat line');
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('follows the parents, nearest first, up to PID 1', async () => expect(await processAncestry(500, dir)).to.deep.equal([500, 400, 40, 1]));
    it('stops at a process that is gone', async () => expect(await processAncestry(600, dir)).to.deep.equal([600, 999]));
    it('stops at a loop', async () => expect(await processAncestry(700, dir)).to.deep.equal([700, 701]));
    it('stops at a stat that does not parse', async () => expect(await processAncestry(800, dir)).to.deep.equal([800]));
    it('the real /proc: this process descends from PID 1', async () => {
      const chain = await processAncestry(process.pid);
      expect(chain[0]).to.equal(process.pid);
      expect(chain[1]).to.equal(process.ppid);
      expect(chain.at(-1)).to.equal(1);
    });
  });
});
