// I/O: the /proc scan. Finds engine processes by name, the unix stream
// sockets each one listens on (its /proc/PID/net/unix rows in the listening
// state whose inodes it holds as /proc/PID/fd links), and resolves each path
// inside the process's own root (/proc/PID/root), so that an engine in a mount
// namespace of its own is reachable from here. Parsing is in proc-parse.ts.

import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { type DiscoveryApi, engineProcessApis, isApiSocketPath, listeningPaths, parseStatParent, parseUnixSockets, socketInode } from './proc-parse.js';

/** What discovery could not read, and why (e.g. another user's `/proc/PID/fd` without root). */
export interface DiscoveryUnreadable {
  /** The file or folder, e.g. `/proc/812/fd`, `/run/user/1000/podman/podman.sock`. */
  readonly path: string;
  /** Why, e.g. `EACCES: permission denied`. */
  readonly reason: string;
}

/** A listening socket of an engine process. @internal */
export interface ProcSocket {
  readonly pid: number;
  /** The process name (`/proc/PID/comm`): `dockerd`, `containerd`, `crio`, `podman`. */
  readonly process: string;
  /** The bound path as the process sees it. */
  readonly path: string;
  /** The same socket reachable from here: `path` itself when it is the same file, else under `/proc/PID/root`. */
  readonly reachable: string;
  readonly apis: readonly DiscoveryApi[];
}

/** The outcome of {@link scanProc}. @internal */
export interface ProcScan {
  readonly sockets: readonly ProcSocket[];
  readonly unreadable: readonly DiscoveryUnreadable[];
}

/** Processes read at once by the scan. */
const SCAN_WORKERS = 16;
/** Symlinks followed at most while resolving one path (Linux's own limit). */
const MAX_SYMLINKS = 40;

/** `code: message` of a file-system error. @internal */
export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code !== undefined ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : String((err as Error)?.message ?? err);
}

/** True for the errors of a process that ended while it was being read. */
function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * Resolves `path` (absolute, as a process sees it) inside `root` (e.g.
 * `/proc/PID/root`), following symlinks within that root: an absolute link
 * target starts again at `root`, `..` never climbs above it. Returns the path
 * below `root`; rejects with the file system's error (`ENOENT` for a path
 * that is gone, `EACCES`, `ELOOP`).
 *
 * @internal
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const todo = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = `${root}/${[...done, part].join('/')}`;
    const st = await lstat(here);
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw Object.assign(new Error(`too many symbolic links resolving ${path} in ${root}`), { code: 'ELOOP' });
    const target = await readlink(here);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return `${root}/${done.join('/')}`;
}

/** True when both paths name the same file. */
async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Scans `procRoot` (default `/proc`) for engine processes and their listening
 * API sockets. Never rejects: what it cannot read (another user's processes
 * without root) is listed in `unreadable`; processes that end meanwhile are
 * left out.
 *
 * @internal
 */
export async function scanProc(procRoot = '/proc'): Promise<ProcScan> {
  const unreadable: DiscoveryUnreadable[] = [];
  let names: string[];
  try {
    names = await readdir(procRoot);
  } catch (err) {
    return { sockets: [], unreadable: [{ path: procRoot, reason: fsReason(err) }] };
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number);
  // a few workers take the next process in a loop: a host with thousands of processes must not open thousands of files at once
  const perProcess: ProcSocket[][] = new Array(pids.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pids.length) {
      const i = next++;
      perProcess[i] = await scanProcess(procRoot, pids[i] as number, unreadable);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_WORKERS, pids.length) }, worker));
  return { sockets: perProcess.flat(), unreadable };
}

/** One process: nothing unless it is an engine; else its listening API sockets. */
async function scanProcess(procRoot: string, pid: number, unreadable: DiscoveryUnreadable[]): Promise<ProcSocket[]> {
  const dir = `${procRoot}/${pid}`;
  let comm: string;
  try {
    comm = (await readFile(`${dir}/comm`, 'utf8')).trim();
  } catch (err) {
    if (!gone(err)) unreadable.push({ path: `${dir}/comm`, reason: fsReason(err) });
    return [];
  }
  const apis = engineProcessApis(comm);
  if (apis === undefined) return [];

  let inodes: Set<number>;
  let table: string;
  try {
    const fds = await readdir(`${dir}/fd`);
    const links = await Promise.all(fds.map((fd) => readlink(`${dir}/fd/${fd}`).catch(() => '')));
    inodes = new Set(links.map(socketInode).filter((i): i is number => i !== undefined));
  } catch (err) {
    if (!gone(err)) unreadable.push({ path: `${dir}/fd`, reason: fsReason(err) });
    return [];
  }
  try {
    table = await readFile(`${dir}/net/unix`, 'utf8');
  } catch (err) {
    if (!gone(err)) unreadable.push({ path: `${dir}/net/unix`, reason: fsReason(err) });
    return [];
  }
  const paths = listeningPaths(parseUnixSockets(table), inodes).filter(isApiSocketPath);
  const sockets: ProcSocket[] = [];
  for (const path of paths) {
    let inRoot: string;
    try {
      inRoot = await resolveInRoot(`${dir}/root`, path);
    } catch (err) {
      // a deleted socket file (ENOENT) is reported too: the engine listens, but cannot be reached
      unreadable.push({ path: `${dir}/root${path}`, reason: fsReason(err) });
      continue;
    }
    const reachable = (await sameFile(path, inRoot)) ? path : inRoot;
    sockets.push({ pid, process: comm, path, reachable, apis });
  }
  return sockets;
}

/** Most ancestors followed (a PID chain is short; a loop in a fixture must not hang). */
const MAX_ANCESTORS = 4_096;

/**
 * `pid` and its ancestors, nearest first, up to (not including) PID 0, read
 * from `/proc/PID/stat`; shorter when a process ended or could not be read
 * while the chain was followed (never rejects).
 *
 * @internal
 */
export async function processAncestry(pid: number, procRoot = '/proc'): Promise<number[]> {
  const chain: number[] = [];
  for (let p = pid; p > 0 && chain.length < MAX_ANCESTORS && !chain.includes(p); ) {
    chain.push(p);
    let text: string;
    try {
      text = await readFile(`${procRoot}/${p}/stat`, 'utf8');
    } catch {
      break;
    }
    const parent = parseStatParent(text);
    if (parent === undefined) break;
    p = parent;
  }
  return chain;
}
