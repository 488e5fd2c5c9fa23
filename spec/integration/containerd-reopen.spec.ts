/**
 * containerd (native API) across reopened event streams and with keepalive pings, against the real
 * containerd 1.7 and 1.6 of the lab. Measured facts the adapter relies on: `Events.Subscribe` takes only
 * filters (no `since`) and containerd keeps no event history, so a reopened stream gets nothing of the gap
 * (the watcher's relist is the only net there); and containerd (grpc-go's default policy) closes a
 * connection pinged more often than every 5 minutes ("excess pings"), so the dead-peer check of an idle
 * stream is a heartbeat probe on the stream itself, not gRPC keepalive.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineError } from '../../lib/errors.js';
import { socketProxy } from '../fakes/socket-proxy.js';
import type { EngineAdapter } from '../../lib/core/engine.js';
import { containerdAdapter } from '../../lib/engines/containerd/containerd-source.js';
import { ContainerdLab, type Recording, eventually, record } from '../engines/containerd/containerd-lab.js';
import { type EngineName, useEngine } from '../helpers/engines.js';
import { feedsAbout as about } from '../helpers/picture.js';

const ENGINES: readonly EngineName[] = ['containerd17', 'containerd16'];
const NS = 'wwreopen';

for (const engine of ENGINES) {
  describe(`containerd adapter on ${engine} across reopened streams`, function () {
    this.timeout(120_000);
    let address: string;
    let lab: ContainerdLab;
    const adapters: EngineAdapter[] = [];
    const recordings: Recording<unknown>[] = [];

    before(function () {
      address = useEngine(this, engine);
    });
    beforeEach(function () {
      lab = new ContainerdLab(engine);
    });
    afterEach(async () => {
      for (const r of recordings.splice(0)) r.subscription.unsubscribe();
      for (const a of adapters.splice(0)) a.dispose();
      await lab?.cleanup();
    });

    function adapterWith(deadPeerTimeout?: number): EngineAdapter {
      const a = containerdAdapter({ address, namespaces: [NS], ...(deadPeerTimeout === undefined ? {} : { deadPeerTimeout }) });
      adapters.push(a);
      return a;
    }
    async function listening(a: EngineAdapter) {
      const rec = record(a.events());
      recordings.push(rec as Recording<unknown>);
      await eventually(() => rec.values.length > 0 || rec.error !== undefined, 'listening');
      expect(rec.error).to.equal(undefined);
      return rec;
    }

    it('keeps no event history: a reopened stream gets nothing of the gap (the relist is the net)', async () => {
      const adapter = adapterWith();
      const first = await listening(adapter);
      first.subscription.unsubscribe();
      // the gap: a task starts and is killed while nobody listens
      const gapId = lab.id('gap');
      const gap = await lab.run(NS, gapId);
      await lab.kill(NS, gapId);
      const second = await listening(adapter);
      // a marker after the reopen: once its start is in, everything before it would have been too
      const marker = await lab.run(NS, lab.id('marker'));
      await eventually(() => about(second, marker).length > 0, 'the marker\'s start');
      expect(about(second, gap)).to.deep.equal([]);
    });

    it('deadPeerTimeout 600: heartbeat probes keep an idle stream open (no GOAWAY for excess pings); a stalled connection fails it as unreachable', async () => {
      const proxy = await socketProxy(`unix://${address.replace(/^unix:\/\//, '')}`);
      try {
        const adapter = containerdAdapter({ address: proxy.url, namespaces: [NS], deadPeerTimeout: 600 });
        adapters.push(adapter);
        const rec = await listening(adapter);
        // several heartbeats; grpc-go would GOAWAY after three pings closer than 5 minutes
        await sleep(3_000);
        expect(rec.error, String(rec.error)).to.equal(undefined);
        const id = await lab.run(NS, lab.id('alive'));
        await eventually(() => about(rec, id).length > 0 || rec.error !== undefined, 'the start on the same stream');
        expect(rec.error, String(rec.error)).to.equal(undefined);
        proxy.mode('stall');
        await rec.finished;
        const err = rec.error as EngineError;
        expect(err.code, err.message).to.equal('unreachable');
        expect(err.message).to.match(/went dead while checking that the silent event stream is still connected \(no answer to a liveness check within 600 ms\)/);
        adapter.dispose();
        proxy.cut();
      } finally {
        await proxy.close();
      }
    });
  });
}
