// Pure: the per-stream memory of recent Docker `oom` events, which turns the
// `die` that follows one into an exit with `oomKilled`.

import type { EngineEvent } from '../../core/engine.js';
import type { DockerEventResult, DockerStartHint } from './docker-normalize.js';

/** How long (engine time, ms) after an `oom` a `die` of the same container counts as an OOM kill. @internal */
export const DOCKER_OOM_WINDOW = 2_000;
/** How many recent OOM kills an event stream remembers at most (the oldest go first). @internal */
export const DOCKER_OOM_MEMORY = 256;

/**
 * The per-stream memory of recent `oom` events: turns the normaliser's results
 * into what the event stream emits. An {@link DockerOomMark} is remembered (not
 * emitted); the next `exited` of that container within {@link DOCKER_OOM_WINDOW}
 * of it gets `exit.oomKilled`; a start forgets it; an OOM the container lives
 * on (an exec's process killed) no longer counts once the window passed. At most
 * `memory` marks are kept. A `kill` of the container forgets its mark (the
 * exit that follows is the kill's). Pure (no clock: engine times only).
 *
 * @internal
 */
export class DockerOomMemory {
  // Container id → engine time (ms) of its last oom not yet followed by its exit, start or kill; oldest first.
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly window = DOCKER_OOM_WINDOW,
    private readonly memory = DOCKER_OOM_MEMORY,
  ) {}

  /** Marks remembered now (for specs). */
  get size(): number {
    return this.recent.size;
  }

  /** One normalised result in, what to emit out (`null` for nothing). */
  apply(result: DockerEventResult): EngineEvent | DockerStartHint | null {
    if (result === null) return null;
    switch (result.type) {
      case 'oom':
        this.recent.delete(result.id);
        this.recent.set(result.id, result.time);
        if (this.recent.size > this.memory) this.recent.delete(this.recent.keys().next().value as string);
        return null;
      case 'kill':
        this.recent.delete(result.id);
        return null;
      case 'exited': {
        const at = this.recent.get(result.id);
        if (at === undefined) return result;
        this.recent.delete(result.id);
        if (!(result.time >= at && result.time - at <= this.window)) return result;
        return Object.freeze({ ...result, exit: Object.freeze({ ...result.exit, oomKilled: true }) });
      }
      case 'inspect':
        this.recent.delete(result.id);
        return result;
      default:
        return result;
    }
  }
}
