// Maps what grpc-js reports for calls to containerd into EngineErrors in the
// kit's words. Pure: inspects error objects only.

import type { EngineError } from '../../errors.js';
import type { EngineTerms } from '../common/engine-error.js';
import { grpcEngineError } from '../common/grpc-engine-error.js';
import { CONTAINERD_ENGINE } from './containerd-normalize.js';

/** How the containerd adapter's errors name the engine and what to do. @internal */
export const CONTAINERD_TERMS: EngineTerms = Object.freeze({
  engine: CONTAINERD_ENGINE,
  name: 'containerd',
  nobody: 'no containerd',
  api: "containerd's gRPC API",
  socket: 'a containerd socket',
  setting: 'set CONTAINERD_ADDRESS or the address option',
  access: 'run as root or with access to the containerd socket',
  upgrade: 'upgrade containerd',
});

/**
 * Turns whatever a call to containerd at `endpoint` failed with into an
 * {@link EngineError} (EngineErrors pass unchanged). `what` says what we were
 * doing ("listing tasks in namespace ns2", …). With `core` set (the default)
 * the call is one every containerd implements (events, namespaces,
 * containers, tasks, version): an UNIMPLEMENTED answer then means the
 * endpoint is some other gRPC server, a `protocol` error.
 *
 * @internal
 */
export function toContainerdError(err: unknown, endpoint: string, what: string, core = true): EngineError {
  return grpcEngineError(CONTAINERD_TERMS, endpoint, err, what, core);
}
