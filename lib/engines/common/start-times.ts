/**
 * What an adapter remembers of each container's process start when the
 * engine's list carries no start time (containerd's task list; CRI's native
 * view): by container id, the PID it was seen with and when it started, in
 * the engine's own unit. A time counts only for the same PID (another PID
 * under the id is another process). Bounded by the containers alive: an exit
 * forgets one, a list forgets those it no longer has.
 *
 * @internal
 */
export class StartTimes<T> {
  readonly #byId = new Map<string, { readonly pid: number; readonly time: T }>();

  /** Remembers that `id`'s process `pid` started at `time`. */
  seen(id: string, pid: number, time: T): void {
    this.#byId.set(id, { pid, time });
  }

  /** When `id`'s process started, if it is still `pid`. */
  of(id: string, pid: number | undefined): T | undefined {
    const started = this.#byId.get(id);
    return started !== undefined && started.pid === pid ? started.time : undefined;
  }

  /** Forgets an exited container. */
  exited(id: string): void {
    this.#byId.delete(id);
  }

  /** Forgets every container a list no longer has (their exits were missed). */
  keepOnly(alive: ReadonlySet<string>): void {
    for (const id of this.#byId.keys()) if (!alive.has(id)) this.#byId.delete(id);
  }
}
