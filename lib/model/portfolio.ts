import type { Container } from './container.js';
import { LookupMemo } from './lookup-memo.js';
import { PersistentMap } from './persistent-map.js';

/**
 * A composer project: the alive containers sharing one
 * `com.docker.compose.project` label value. The unnamed project `''` holds all
 * containers without a project. Immutable; reading it never touches an engine.
 */
export class ComposerProject {
  /** @internal */
  constructor(
    /** Project name, `''` for the unnamed project. */
    readonly name: string,
    /** @internal containers by id */
    readonly byId: PersistentMap<Container>,
    /** @internal containers by name */
    readonly byName: PersistentMap<Container>,
  ) {
    Object.freeze(this);
  }

  /** The project's containers (a fresh frozen array, computed on each call). */
  get containers(): readonly Container[] {
    return Object.freeze([...this.byId.values()]);
  }

  /** Number of containers in the project. */
  get total(): number {
    return this.byId.size;
  }

  /** The container with this id, else the one with this name. */
  container(nameOrId: string): Container | undefined {
    return this.byId.get(nameOrId) ?? this.byName.get(nameOrId);
  }

  /** @internal */
  with(c: Container, previous: Container | undefined): ComposerProject {
    return new ComposerProject(this.name, this.byId.set(c.id, c), renamed(this.byName, c, previous));
  }

  /** @internal */
  without(c: Container): ComposerProject {
    return new ComposerProject(this.name, this.byId.delete(c.id), unnamed(this.byName, c));
  }
}

const EMPTY_UNNAMED = new ComposerProject('', PersistentMap.empty(), PersistentMap.empty());

/**
 * The alive containers of one engine, grouped into composer projects.
 * Immutable and structurally shared: one change costs O(log n), never a copy of
 * the whole portfolio. All reads are served from memory.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * await ww.ready;
 * const p = ww.portfolio;
 * console.log(p.total, p.projectNames, p.container('my-nginx')?.pid);
 * await ww.close();
 * ```
 */
export class Portfolio {
  /** The empty portfolio: only the unnamed project, with no containers. */
  static readonly EMPTY: Portfolio = new Portfolio(
    PersistentMap.empty<ComposerProject>().set('', EMPTY_UNNAMED),
    PersistentMap.empty(),
    PersistentMap.empty(),
  );

  #containers: readonly Container[] | undefined;
  #projectNames: readonly string[] | undefined;
  /** Speeds up {@link container} for a portfolio asked very often (lookup-memo.ts); made on the first lookup. */
  #memo: LookupMemo<Container> | undefined;

  private constructor(
    /** @internal projects by name; '' always present */
    private readonly projectsByName: PersistentMap<ComposerProject>,
    /** @internal all containers by id */
    private readonly byId: PersistentMap<Container>,
    /**
     * @internal containers by id and by name in one map, so that a lookup by
     * either costs one probe; an id always wins over an equal name
     */
    private readonly byKey: PersistentMap<Container>,
  ) {
    Object.freeze(this); // private #memo fields stay writable; nothing else does
  }

  /** Builds a portfolio from a list of containers (later duplicates of an id win). */
  static of(containers: Iterable<Container>): Portfolio {
    let p = Portfolio.EMPTY;
    for (const c of containers) p = p.withContainer(c);
    return p;
  }

  /** Names of the named projects (without `''`), sorted. */
  get projectNames(): readonly string[] {
    if (this.#projectNames === undefined) {
      const names: string[] = [];
      for (const name of this.projectsByName.keys()) if (name !== '') names.push(name);
      this.#projectNames = Object.freeze(names.sort());
    }
    return this.#projectNames;
  }

  /** All projects, the unnamed one first, then by name. */
  get projects(): readonly ComposerProject[] {
    return Object.freeze(['', ...this.projectNames].map((n) => this.projectsByName.get(n) as ComposerProject));
  }

  /** The project of that name; `''` is the unnamed project and always exists. */
  project(name: string): ComposerProject | undefined {
    return this.projectsByName.get(name);
  }

  /** The container with this id, else the one with this name. */
  container(nameOrId: string): Container | undefined {
    return (this.#memo ??= new LookupMemo(this.byKey)).get(nameOrId);
  }

  /** All alive containers (frozen array, computed once per portfolio). */
  get containers(): readonly Container[] {
    if (this.#containers === undefined) this.#containers = Object.freeze([...this.byId.values()]);
    return this.#containers;
  }

  /** Number of alive containers. */
  get total(): number {
    return this.byId.size;
  }

  /** @internal The container by id only (no name fallback). */
  byIdOnly(id: string): Container | undefined {
    return this.byId.get(id);
  }

  /** @internal Ids of all containers. */
  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  /**
   * A portfolio with `c` added or replacing the container of the same id
   * (moving it between projects if its project changed). Returns `this` when
   * `c` is already there, identical.
   */
  withContainer(c: Container): Portfolio {
    const previous = this.byId.get(c.id);
    if (previous === c) return this;
    let projects = this.projectsByName;
    if (previous !== undefined && previous.project !== c.project) {
      projects = dropFrom(projects, previous);
    }
    const target = projects.get(c.project) ?? new ComposerProject(c.project, PersistentMap.empty(), PersistentMap.empty());
    projects = projects.set(c.project, target.with(c, previous !== undefined && previous.project === c.project ? previous : undefined));
    return new Portfolio(projects, this.byId.set(c.id, c), keyed(this.byKey, c, previous));
  }

  /** A portfolio without the container of this id; `this` when absent. */
  withoutContainer(id: string): Portfolio {
    const previous = this.byId.get(id);
    if (previous === undefined) return this;
    return new Portfolio(dropFrom(this.projectsByName, previous), this.byId.delete(id), unkeyed(this.byKey, previous));
  }
}

function dropFrom(projects: PersistentMap<ComposerProject>, c: Container): PersistentMap<ComposerProject> {
  const project = projects.get(c.project);
  if (project === undefined) return projects;
  const next = project.without(c);
  // the unnamed project always exists; a named one only while it has containers
  return next.total === 0 && c.project !== '' ? projects.delete(c.project) : projects.set(c.project, next);
}

/** The name index with `c` under its (new) name, its old name dropped if it still pointed at it. */
function renamed(byName: PersistentMap<Container>, c: Container, previous: Container | undefined): PersistentMap<Container> {
  let next = byName;
  if (previous !== undefined && previous.name !== c.name && next.get(previous.name)?.id === c.id) next = next.delete(previous.name);
  return next.set(c.name, c);
}

/** The name index without `c`, unless its name now belongs to another container. */
function unnamed(byName: PersistentMap<Container>, c: Container): PersistentMap<Container> {
  return byName.get(c.name)?.id === c.id ? byName.delete(c.name) : byName;
}

/** The id-and-name index with `c` (and without its old name, if renamed). */
function keyed(byKey: PersistentMap<Container>, c: Container, previous: Container | undefined): PersistentMap<Container> {
  let next = byKey.set(c.id, c);
  if (previous !== undefined && previous.name !== c.name && previous.name !== c.id && next.get(previous.name)?.id === c.id) {
    next = next.delete(previous.name);
  }
  if (c.name !== c.id) {
    const holder = next.get(c.name);
    if (holder === undefined || holder.id !== c.name) next = next.set(c.name, c); // never shadow another container's id
  }
  return next;
}

/** The id-and-name index without `c`. */
function unkeyed(byKey: PersistentMap<Container>, c: Container): PersistentMap<Container> {
  let next = byKey.delete(c.id);
  if (c.name !== c.id && next.get(c.name)?.id === c.id) next = next.delete(c.name);
  return next;
}
