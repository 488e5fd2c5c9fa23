/**
 * The pure half of the /proc scan: rows of /proc/PID/net/unix (listening or
 * not, abstract, unbound, odd characters in paths), fd links, process names,
 * and which socket paths are skipped before any probe.
 */
import { expect } from 'chai';
import {
  apisByName,
  engineProcessApis,
  isApiSocketPath,
  listeningPaths,
  parseUnixSockets,
  socketInode,
} from '../../lib/discovery/proc-parse.js';

/** Shaped like a real /proc/PID/net/unix (kernel 6.1): header, then one row per socket. */
const TABLE = [
  'Num       RefCount Protocol Flags    Type St Inode Path',
  '0000000000000000: 00000002 00000000 00010000 0001 01 27475 /run/docker.sock',
  '0000000000000000: 00000002 00000000 00010000 0001 01 27476 /run/containerd/containerd.sock.ttrpc',
  '0000000000000000: 00000003 00000000 00000000 0001 03 27480 /run/docker.sock',
  '0000000000000000: 00000002 00000000 00010000 0001 01 31001 @/containerd-shim/abc.sock@',
  '0000000000000000: 00000002 00000000 00010000 0005 01 31002 /run/seqpacket.sock',
  '0000000000000000: 00000002 00000000 00000000 0002 01 31003 /run/systemd/notify',
  '0000000000000000: 00000003 00000000 00000000 0001 03 31004',
  '0000000000000000: 00000002 00000000 00010000 0001 01 31005 /tmp/ww lab/odd name [x].sock',
  'garbage line',
  '',
].join('\n');

describe('discovery: /proc parsing', () => {
  describe('parseUnixSockets', () => {
    const rows = parseUnixSockets(TABLE);
    const cases: readonly [string, number, string, boolean][] = [
      ['a listening stream socket', 27475, '/run/docker.sock', true],
      ['a .ttrpc socket (parsed; skipped later by name)', 27476, '/run/containerd/containerd.sock.ttrpc', true],
      ['an accepted connection on the same path', 27480, '/run/docker.sock', false],
      ['an abstract socket', 31001, '@/containerd-shim/abc.sock@', true],
      ['a listening seqpacket socket is no stream', 31002, '/run/seqpacket.sock', false],
      ['a datagram socket', 31003, '/run/systemd/notify', false],
      ['an unbound socket', 31004, '', false],
      ['spaces and brackets in the path', 31005, '/tmp/ww lab/odd name [x].sock', true],
    ];
    for (const [what, inode, path, listening] of cases) {
      it(what, () => {
        expect(rows.find((r) => r.inode === inode)).to.deep.equal({ inode, path, listening });
      });
    }
    it('skips the header and lines that do not parse', () => {
      expect(rows).to.have.length(cases.length);
    });
  });

  describe('socketInode', () => {
    const cases: readonly [string, number | undefined][] = [
      ['socket:[27475]', 27475],
      ['socket:[1]\n', 1],
      ['pipe:[27475]', undefined],
      ['anon_inode:[eventpoll]', undefined],
      ['/dev/null', undefined],
      ['socket:[]', undefined],
    ];
    for (const [link, inode] of cases) {
      it(`${JSON.stringify(link)} → ${inode}`, () => expect(socketInode(link)).to.equal(inode));
    }
  });

  describe('listeningPaths', () => {
    it('keeps the listening path-named sockets the process holds, each path once', () => {
      const rows = parseUnixSockets(TABLE);
      expect(listeningPaths(rows, new Set([27475, 27476, 27480, 31001, 31005]))).to.deep.equal([
        '/run/docker.sock',
        '/run/containerd/containerd.sock.ttrpc',
        '/tmp/ww lab/odd name [x].sock',
      ]);
    });
    it('leaves out listening sockets of other processes in the same network namespace', () => {
      expect(listeningPaths(parseUnixSockets(TABLE), new Set([27480]))).to.deep.equal([]);
    });
  });

  describe('isApiSocketPath', () => {
    const cases: readonly [string, boolean][] = [
      ['/run/docker.sock', true],
      ['/run/containerd/containerd.sock', true],
      ['/tmp/ww-lab.x/containerd17/containerd.sock', true],
      ['/run/containerd/containerd.sock.ttrpc', false],
      ['/run/containerd/debug.sock', false],
      ['/var/run/docker/metrics.sock', false],
      ['/run/docker/plugins/abc/x.sock', false],
      ['/run/docker/libnetwork/1234.sock', false],
      ['/run/containerd/s/0123abcd', false],
      ['@/containerd-shim/x.sock', false],
      ['/home/s/docker.sock', true],
      ['relative.sock', false],
    ];
    for (const [path, api] of cases) {
      it(`${path} → ${api}`, () => expect(isApiSocketPath(path)).to.equal(api));
    }
  });

  describe('engineProcessApis and apisByName', () => {
    const processes: readonly [string, readonly string[] | undefined][] = [
      ['dockerd\n', ['docker']],
      ['podman', ['docker']],
      ['containerd', ['containerd', 'cri']],
      ['crio', ['cri']],
      ['containerd-shim', undefined],
      ['conmon', undefined],
      ['toString', undefined],
    ];
    for (const [comm, apis] of processes) {
      it(`process ${JSON.stringify(comm)} → ${apis?.join('+') ?? 'no engine'}`, () => expect(engineProcessApis(comm)).to.deep.equal(apis));
    }
    const names: readonly [string, readonly string[]][] = [
      ['/run/docker.sock', ['docker']],
      ['/run/user/1000/podman/podman.sock', ['docker']],
      ['/run/containerd/containerd.sock', ['containerd', 'cri']],
      ['/run/crio/crio.sock', ['cri']],
      ['/var/run/cri-dockerd.sock', ['cri']],
      ['/tmp/engine.sock', ['docker', 'containerd', 'cri']],
    ];
    for (const [path, apis] of names) {
      it(`socket ${path} → ${apis.join('+')}`, () => expect(apisByName(path)).to.deep.equal(apis));
    }
  });
});
