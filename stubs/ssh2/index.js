'use strict';
// docker-modem requires ssh2 at load time but uses it only for ssh:// Docker
// hosts, which whalewatcher does not support (it rejects them with a typed
// `config` error before dockerode is asked to connect).
class Client {
  constructor() {
    throw new Error('ssh:// Docker hosts are not supported by whalewatcher');
  }
}
module.exports = { Client };
