/**
 * The fault cases the containerd and CRI parts of the fault corpus share: their event stream gets bad
 * gRPC frames (through a real HTTP/2 proxy that corrupts its DATA on cue, spec/fakes/grpc-proxy.ts), or
 * its connection stalls (a socket proxy that forwards nothing and closes nothing). Each engine's spec
 * says how to make a watcher live through an address, what changes behind its back and what recovery
 * looks like; the cases are the same.
 */
import { expect } from 'chai';
import type { EngineErrorCode } from '../../lib/errors.js';
import { type AfterCorruption, GARBAGE_FRAME, TRUNCATED_FRAME, UNPARSABLE_FRAME, grpcProxy } from '../fakes/grpc-proxy.js';
import { socketProxy } from '../fakes/socket-proxy.js';
import { type FaultHarness, type Watched, sawError } from './faults.js';
import { eventually } from './observe.js';

/** A bad frame case: what the proxy sends on the event stream, what follows, and what `status$` must say. */
export interface BadFrame {
  readonly name: string;
  readonly bytes: Buffer;
  readonly after: AfterCorruption;
  readonly code: EngineErrorCode;
  readonly message: RegExp;
}

/** What the shared cases need of one engine's spec. */
export interface GrpcFaultEngine {
  /** The `:path` of the event stream's method. */
  readonly events: string;
  /** What the adapter says it was doing when its stream ended (`the event stream`, `container events`). */
  readonly watching: string;
  /** The fake's address (read in a case). */
  address(): string;
  /** A watcher live on the fake through `address` with a `deadPeerTimeout` of 600 ms, its event stream open. */
  live(address: string): Promise<Watched>;
  /** Changes the fake's containers while the watcher cannot see it. */
  changeBehindItsBack(): void;
  /** Waits for the picture to equal the truth and checks the differences of {@link changeBehindItsBack}. */
  recovered(watched: Watched, what: string): Promise<void>;
  /** Liveness probes the fake answered so far (containerd: heartbeats published; CRI: `Version` calls). */
  probes(): number;
  /** Event streams the fake was asked for so far. */
  streamsOpened(): number;
  /** The case's harness (the proxies are closed after its watchers). */
  readonly harness: Pick<FaultHarness<unknown>, 'closeAfter'>;
}

/** The bad frames every gRPC engine gets, and `more` of its own. */
export function badFrames(engine: Pick<GrpcFaultEngine, 'watching'>, more: readonly BadFrame[] = []): BadFrame[] {
  return [
    // grpc-js drops an incomplete message at the end of a stream: all the adapter sees is the end
    { name: 'a truncated frame, then the end (OK trailers)', bytes: TRUNCATED_FRAME, after: 'end', code: 'engine', message: new RegExp(`ended the stream while watching ${engine.watching}`) },
    { name: 'a truncated frame, then a reset stream', bytes: TRUNCATED_FRAME, after: 'reset', code: 'protocol', message: /RST_STREAM/ },
    // its first bytes read as a length far over the receive limit
    { name: 'garbage where a frame should be', bytes: GARBAGE_FRAME, after: 'stay', code: 'engine', message: /RESOURCE_EXHAUSTED: Received message larger than max/ },
    { name: 'a whole frame whose message is not protobuf', bytes: UNPARSABLE_FRAME, after: 'stay', code: 'decode', message: /gRPC INTERNAL: Response message parsing error/ },
    ...more,
  ];
}

/**
 * Registers, in the calling `describe`, one case per bad frame and the stalled connection: each ends
 * degraded with a typed error, reconnected (a new event stream, or a new connection), equal to the truth
 * with exact differences; and a silent stream whose peer is there, which stays live.
 */
export function grpcStreamFaults(engine: GrpcFaultEngine, frames: readonly BadFrame[]): void {
  describe('the event stream gets bad gRPC frames (a real HTTP/2 proxy corrupts its DATA)', () => {
    for (const c of frames) {
      it(`${c.name}: degraded with a typed error, reconnects, and the differences missed meanwhile are exact`, async () => {
        const proxy = await grpcProxy(engine.address());
        engine.harness.closeAfter(() => proxy.close());
        const watched = await engine.live(proxy.address);
        expect(proxy.open(engine.events)).to.equal(1);
        engine.changeBehindItsBack();
        expect(proxy.corrupt(engine.events, c.bytes, c.after)).to.equal(1);
        await engine.recovered(watched, 'after the reconnect');
        sawError(watched.statuses, c.code, c.message);
        expect(proxy.paths.filter((p) => p === engine.events).length, 'a new event stream').to.be.greaterThan(1);
      });
    }
  });

  describe('the event stream goes silent', () => {
    it('nothing happens, the peer is there: the probes are answered, the watcher stays live on its one stream', async () => {
      const { ww, statuses } = await engine.live(engine.address());
      const before = engine.probes();
      await eventually(() => engine.probes() >= before + 3, 'three probes of the silent stream');
      expect(ww.status).to.deep.equal({ state: 'live' });
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
      expect(engine.streamsOpened()).to.equal(1);
    });

    it('a stalled connection (the peer answers nothing, closes nothing): the dead-peer check tells within deadPeerTimeout, degraded, a new connection, exact differences', async () => {
      const proxy = await socketProxy(engine.address());
      engine.harness.closeAfter(() => proxy.close());
      const watched = await engine.live(proxy.url);
      engine.changeBehindItsBack();
      // the connection now swallows everything both ways; new connections are forwarded again
      proxy.mode('stall');
      proxy.mode('forward');
      await engine.recovered(watched, 'after the reconnect');
      sawError(watched.statuses, 'unreachable', /went dead while checking that the silent event stream is still connected \(no answer to a liveness check within 600 ms\)/);
      expect(proxy.connections, 'a new connection').to.be.greaterThan(1);
    });
  });
}
