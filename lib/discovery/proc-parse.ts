// Pure parsing for the /proc scan: /proc/PID/net/unix, the fd links
// (`socket:[inode]`), process names, and which socket paths are worth a probe.
// No I/O here: proc-scan.ts reads the files and hands their text over.

/** The engine APIs discovery knows how to probe. @internal */
export type DiscoveryApi = 'docker' | 'containerd' | 'cri';

/** One row of `/proc/PID/net/unix`. @internal */
export interface UnixSocketEntry {
  /** The socket's inode (what `/proc/PID/fd/N` links to as `socket:[inode]`). */
  readonly inode: number;
  /** The bound path as the owning process sees it; `@…` for an abstract socket; `''` when unbound. */
  readonly path: string;
  /** A stream socket in the listening state (`__SO_ACCEPTCON`). */
  readonly listening: boolean;
}

/** `__SO_ACCEPTCON` in the Flags column: the socket listens. */
const SO_ACCEPTCON = 0x10000;
/** `SOCK_STREAM` in the Type column. */
const SOCK_STREAM = 1;
/** `Num: RefCount Protocol Flags Type St Inode [Path]`; the path is the rest of the line, spaces included. */
const UNIX_LINE = /^\s*[0-9a-fA-F]+:\s+[0-9a-fA-F]+\s+[0-9a-fA-F]+\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+[0-9a-fA-F]+\s+(\d+)(?: (.*))?$/;

/**
 * Parses the text of `/proc/PID/net/unix` (the header line and lines that do
 * not parse are skipped). Paths are kept verbatim, spaces included; abstract
 * sockets start with `@`.
 *
 * @internal
 */
export function parseUnixSockets(text: string): UnixSocketEntry[] {
  const entries: UnixSocketEntry[] = [];
  for (const line of text.split('\n')) {
    const m = UNIX_LINE.exec(line);
    if (m === null) continue;
    const flags = Number.parseInt(m[1] as string, 16);
    const type = Number.parseInt(m[2] as string, 16);
    entries.push({
      inode: Number(m[3]),
      path: m[4] ?? '',
      listening: (flags & SO_ACCEPTCON) !== 0 && type === SOCK_STREAM,
    });
  }
  return entries;
}

/** The inode of an fd link target `socket:[12345]`, else undefined (files, pipes, `anon_inode:…`). @internal */
export function socketInode(linkTarget: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(linkTarget.trim());
  return m === null ? undefined : Number(m[1]);
}

/**
 * The listening, bound, path-named stream sockets among `entries` whose
 * inode the process holds (`fdInodes`), each path once, in table order.
 *
 * @internal
 */
export function listeningPaths(entries: readonly UnixSocketEntry[], fdInodes: ReadonlySet<number>): string[] {
  const paths = new Set<string>();
  for (const e of entries) {
    if (e.listening && fdInodes.has(e.inode) && e.path.startsWith('/')) paths.add(e.path);
  }
  return [...paths];
}

/** Process names (`/proc/PID/comm`) of engines, and the APIs their sockets may speak. @internal */
export const ENGINE_PROCESSES: Readonly<Record<string, readonly DiscoveryApi[]>> = Object.freeze({
  dockerd: ['docker'],
  podman: ['docker'],
  containerd: ['containerd', 'cri'],
  crio: ['cri'],
});

/** The APIs to probe for a process named `comm` (its `/proc/PID/comm`), or undefined when it is no engine. @internal */
export function engineProcessApis(comm: string): readonly DiscoveryApi[] | undefined {
  return Object.hasOwn(ENGINE_PROCESSES, comm.trim()) ? ENGINE_PROCESSES[comm.trim()] : undefined;
}

/**
 * False for sockets engines listen on that are not their API: containerd's
 * `.ttrpc` and debug sockets, dockerd's metrics, plugin and libnetwork
 * sockets, shim sockets, abstract and unbound sockets. Checked by name before
 * any probe.
 *
 * @internal
 */
export function isApiSocketPath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  if (path.endsWith('.ttrpc')) return false;
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === 'debug.sock' || base === 'metrics.sock' || base.endsWith('-debug.sock')) return false;
  if (/\/(plugins|libnetwork)\/|\/containerd\/s\//.test(path)) return false;
  return true;
}

/**
 * The APIs a socket may speak, guessed from its file name (well-known and
 * user-given paths): `docker.sock` and `podman.sock` the Docker API,
 * `containerd.sock` containerd's and CRI, `crio.sock` and `cri-dockerd.sock`
 * CRI; any other name all three.
 *
 * @internal
 */
export function apisByName(path: string): readonly DiscoveryApi[] {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/crio|cri-o|cri-dockerd/.test(base)) return ['cri'];
  if (/docker|podman/.test(base)) return ['docker'];
  if (/containerd/.test(base)) return ['containerd', 'cri'];
  return ['docker', 'containerd', 'cri'];
}

/**
 * The parent PID in the text of `/proc/PID/stat`, or undefined when it does
 * not parse. The process name (second field, in parentheses) may hold any
 * character, spaces and parentheses included: the fields after it start
 * after its last `)`.
 *
 * @internal
 */
export function parseStatParent(text: string): number | undefined {
  const end = text.lastIndexOf(')');
  if (end < 0) return undefined;
  const m = /^\s+\S+\s+(\d+)(?:\s|$)/.exec(text.slice(end + 1));
  return m === null ? undefined : Number(m[1]);
}
