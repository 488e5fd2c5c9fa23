import { expect } from 'chai';
import { resolve } from 'node:path';
import { EngineError } from '../../lib/errors.js';
import { DEFAULT_GRPC_CHANNEL_OPTIONS, GRPC_MAX_RECEIVE_MESSAGE_LENGTH, GRPC_MIN_KEEPALIVE_TIME, grpcChannelConfig, grpcKeepAliveOptions } from '../../lib/grpc/channel.js';

describe('grpc/channel: grpcChannelConfig', () => {
  const table: ReadonlyArray<readonly [string, string, string]> = [
    // input, target, canonical endpoint
    ['unix:///run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock'],
    ['unix:/run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock'],
    ['/run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock', 'unix:///run/containerd/containerd.sock'],
    ['  /tmp/x y/c.sock ', 'unix:///tmp/x y/c.sock', 'unix:///tmp/x y/c.sock'],
    ['unix:relative/c.sock', `unix://${resolve('relative/c.sock')}`, `unix://${resolve('relative/c.sock')}`],
    ['./c.sock', `unix://${resolve('c.sock')}`, `unix://${resolve('c.sock')}`],
    ['tcp://127.0.0.1:10010', 'dns:127.0.0.1:10010', 'tcp://127.0.0.1:10010'],
    ['tcp://localhost:10010/', 'dns:localhost:10010', 'tcp://localhost:10010'],
    ['http://node1.example:1234', 'dns:node1.example:1234', 'tcp://node1.example:1234'],
    ['localhost:10010', 'dns:localhost:10010', 'tcp://localhost:10010'],
    ['tcp://[::1]:10010', 'dns:[::1]:10010', 'tcp://[::1]:10010'],
    ['[::1]:10010', 'dns:[::1]:10010', 'tcp://[::1]:10010'],
  ];
  for (const [input, target, endpoint] of table) {
    it(`${JSON.stringify(input)} → ${target}`, () => {
      const c = grpcChannelConfig(input);
      expect(c.target).to.equal(target);
      expect(c.endpoint).to.equal(endpoint);
      expect(c.credentials._isSecure()).to.equal(false);
    });
  }

  const bad = ['', '   ', 'unix://', 'tcp://host', 'host', 'tcp://host:0', 'tcp://host:70000', 'https://host:443', 'npipe:////./pipe/containerd', 'tcp://a:b'];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)} with a config EngineError`, () => {
      let thrown: unknown;
      try {
        grpcChannelConfig(input, { engine: 'cri' });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.instanceOf(EngineError);
      expect(thrown).to.include({ engine: 'cri', code: 'config', endpoint: input });
    });
  }

  it('uses the default channel options: no keepalive, a generous receive limit, quick reconnects', () => {
    const { options } = grpcChannelConfig('/x.sock');
    expect(options).to.deep.equal(DEFAULT_GRPC_CHANNEL_OPTIONS);
    expect(options['grpc.max_receive_message_length']).to.equal(GRPC_MAX_RECEIVE_MESSAGE_LENGTH);
    expect(GRPC_MAX_RECEIVE_MESSAGE_LENGTH).to.be.greaterThan(4 * 1024 * 1024);
    expect(options).to.not.have.property('grpc.keepalive_time_ms');
    expect(Object.isFrozen(DEFAULT_GRPC_CHANNEL_OPTIONS)).to.equal(true);
  });

  it('merges channel option overrides over the defaults', () => {
    const { options } = grpcChannelConfig('/x.sock', { channelOptions: { 'grpc.keepalive_time_ms': 30_000, 'grpc.max_reconnect_backoff_ms': 5000 } });
    expect(options['grpc.keepalive_time_ms']).to.equal(30_000);
    expect(options['grpc.max_reconnect_backoff_ms']).to.equal(5000);
    expect(options['grpc.max_receive_message_length']).to.equal(GRPC_MAX_RECEIVE_MESSAGE_LENGTH);
  });

  it('deadPeerTimeout: keepalive pings after half of it without traffic (at most every 5 min: grpc-go\'s policy), answered within the other half, only during calls; 0 sends none', () => {
    expect(grpcChannelConfig('/x.sock', { deadPeerTimeout: 1_200_000 }).options['grpc.keepalive_time_ms']).to.equal(600_000);
    const { options } = grpcChannelConfig('/run/containerd/containerd.sock', { deadPeerTimeout: 60_000 });
    expect(options['grpc.keepalive_time_ms']).to.equal(GRPC_MIN_KEEPALIVE_TIME);
    expect(options['grpc.keepalive_timeout_ms']).to.equal(30_000);
    expect(options['grpc.keepalive_permit_without_calls']).to.equal(0);
    expect(options['grpc.max_receive_message_length']).to.equal(GRPC_MAX_RECEIVE_MESSAGE_LENGTH);
    expect(grpcKeepAliveOptions(0)).to.deep.equal({});
    expect(grpcChannelConfig('/x.sock', { deadPeerTimeout: 0 }).options).to.deep.equal(DEFAULT_GRPC_CHANNEL_OPTIONS);
    expect(grpcChannelConfig('/x.sock').options).to.deep.equal(DEFAULT_GRPC_CHANNEL_OPTIONS);
  });
});
