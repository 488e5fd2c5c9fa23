import type { Container } from './container.js';
import { LookupMemo, MEMO_AFTER_SIZES } from './lookup-memo.js';
import { PersistentMap } from './persistent-map.js';

/** @internal How many container arrays were made, and how many of them by walking a whole index; for specs and benchmarks. */
export const listStats = { made: 0, walked: 0 };

/**
 * Edits after which a version stops deriving its array from an earlier one
 * (it walks its index instead): at least this many, else an eighth of the
 * index's size (a copy plus k edits is cheaper than a walk well past that; a
 * burst of events folded before anyone reads stays one copy).
 */
const MIN_EDITS = 8;

/** One container replaced (both set), added (`removed` undefined) or removed (`added` undefined). */
interface Edit {
  readonly removed: Container | undefined;
  readonly added: Container | undefined;
}

/**
 * The containers array of one immutable index version, made once and only
 * when read. A version made by edits from one whose array was read keeps
 * that earlier `ListOnce` and the edits, and derives its own array from them
 * (one copy, O(n) at memory speed, plus O(1) per edit with the positions
 * below) instead of walking the trie. Refers to a `ListOnce` whose array
 * exists, never to an earlier portfolio, so no chain of versions stays reachable.
 */
class ListOnce {
  /** The published (frozen) array, once read. */
  #array: readonly Container[] | undefined;
  /**
   * Where each container of `#array` sits in it. Made once per line of
   * versions and handed on to the next version derived from this one (the
   * first to take it owns it; a second branch from the same version builds
   * its own), so keeping it costs O(1) per edit.
   */
  #positions: Map<Container, number> | undefined;
  /** Until read: the version (with its array) this one derives from, and the edits since: the first `#count` of `#edits`. */
  #from: ListOnce | undefined;
  /**
   * Shared along a line of versions: a version that follows the last one
   * appends to it in place (O(1) per edit, so a burst of k events costs O(k),
   * not O(k²)); each version reads only its first `#count`, so an append
   * never changes what an earlier version derives. A second branch copies.
   */
  #edits: Edit[] = [];
  #count = 0;

  /** Records that this version is `from`'s with one edit, on an index of `size` containers. */
  follow(from: ListOnce, removed: Container | undefined, added: Container | undefined, size: number): void {
    const edit: Edit = { removed, added };
    if (from.#array !== undefined) {
      this.#from = from;
      this.#edits = [edit];
      this.#count = 1;
    } else if (from.#from !== undefined && from.#count < Math.max(MIN_EDITS, size >> 3)) {
      this.#from = from.#from;
      const edits = from.#edits;
      if (edits.length === from.#count) {
        edits.push(edit);
        this.#edits = edits;
      } else {
        this.#edits = [...edits.slice(0, from.#count), edit];
      }
      this.#count = from.#count + 1;
    }
  }

  /** The array of a version of `size` containers; `walk` lists them when it cannot be derived. */
  get(size: number, walk: () => Iterable<Container>): readonly Container[] {
    if (this.#array !== undefined) return this.#array;
    const from = this.#from;
    let out: Container[] | undefined;
    if (from !== undefined) {
      const positions = from.#positions ?? positionsOf(from.#array as readonly Container[]);
      from.#positions = undefined;
      out = derive(from.#array as readonly Container[], this.#edits, this.#count, positions);
      if (out !== undefined && out.length === size) this.#positions = positions;
      else out = undefined;
    }
    if (out === undefined) {
      out = [...walk()];
      listStats.walked++;
    }
    listStats.made++;
    this.#from = undefined;
    this.#edits = [];
    this.#count = 0;
    return (this.#array = Object.freeze(out));
  }
}

function positionsOf(array: readonly Container[]): Map<Container, number> {
  const positions = new Map<Container, number>();
  for (let i = 0; i < array.length; i++) positions.set(array[i] as Container, i);
  return positions;
}

/**
 * `base` with the first `count` edits applied, as a new array, `positions` updated to match
 * it; `undefined` if an edit does not fit (then walk the index).
 */
function derive(base: readonly Container[], edits: readonly Edit[], count: number, positions: Map<Container, number>): Container[] | undefined {
  const out = [...base]; // spread, not slice(): V8 copies a frozen array fast only this way
  for (let e = 0; e < count; e++) {
    const { removed, added } = edits[e] as Edit;
    if (removed === undefined) {
      if (added === undefined) continue;
      positions.set(added, out.length);
      out.push(added);
      continue;
    }
    const i = positions.get(removed);
    if (i === undefined || out[i] !== removed) return undefined;
    positions.delete(removed);
    if (added !== undefined) {
      out[i] = added;
      positions.set(added, i);
    } else {
      const last = out.pop() as Container;
      if (i < out.length) {
        out[i] = last;
        positions.set(last, i);
      }
    }
  }
  return out;
}

/**
 * A composer project: the alive containers sharing one
 * `com.docker.compose.project` label value. The unnamed project `''` holds all
 * containers without a project. Immutable; reading it never touches an engine.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker();
 * await ww.ready;
 * const shop = ww.portfolio.project('shop');
 * console.log(shop?.total, shop?.containers.map((c) => c.name), shop?.container('shop-db-1')?.pid);
 * await ww.close();
 * ```
 */
export class ComposerProject {
  /** @internal */
  constructor(
    /** Project name, `''` for the unnamed project. */
    readonly name: string,
    /** @internal containers by id */
    readonly byId: PersistentMap<Container>,
    /** @internal the id of each container's name (a change that keeps the name leaves it as it is) */
    readonly names: PersistentMap<string>,
  ) {
    Object.freeze(this);
  }

  /** This version's containers array, once read; then how to derive it from an earlier one (see {@link ListOnce}). */
  readonly #list = new ListOnce();

  /**
   * The project's containers, in no particular order (a frozen array, the
   * same one on every read of this project version). Costs O(n) on the first
   * read of a version, O(1) after that: a copy of the previous version's array
   * with the changes applied, when that one had been read. A change to another
   * project leaves this project's version, and its array, as they were.
   */
  get containers(): readonly Container[] {
    return this.#list.get(this.byId.size, () => this.byId.values());
  }

  /** Number of containers in the project. */
  get total(): number {
    return this.byId.size;
  }

  /** The container with this id, else the one with this name. */
  container(nameOrId: string): Container | undefined {
    return byIdOrName(this.byId, this.names, nameOrId);
  }

  /** @internal */
  with(c: Container, previous: Container | undefined): ComposerProject {
    const next = new ComposerProject(this.name, this.byId.set(c.id, c), named(this.names, c, previous));
    next.#list.follow(this.#list, previous, c, next.byId.size);
    return next;
  }

  /** @internal */
  without(c: Container): ComposerProject {
    const next = new ComposerProject(this.name, this.byId.delete(c.id), unnamed(this.names, c));
    next.#list.follow(this.#list, c, undefined, next.byId.size);
    return next;
  }
}

const EMPTY_UNNAMED = new ComposerProject('', PersistentMap.empty(), PersistentMap.empty());

/**
 * The alive containers of one engine, grouped into composer projects.
 * Immutable and structurally shared: one change costs O(log n), never a copy of
 * the whole portfolio. All reads are served from memory: a lookup costs a few
 * trie probes (by id: its project, then the container; by name one more), and
 * a version asked more than about twice per container gets a `Map` of its own.
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

  /** This version's containers array, once read; until then how to derive it (see {@link ListOnce}). */
  readonly #list = new ListOnce();
  #projects: readonly ComposerProject[] | undefined;
  #projectNames: readonly string[] | undefined;
  /** Speeds up {@link container} for a portfolio asked very often (lookup-memo.ts); made on the first lookup. */
  #memo: LookupMemo<Container> | undefined;

  private constructor(
    /** @internal projects by name; '' always present */
    private readonly projectsByName: PersistentMap<ComposerProject>,
    /**
     * @internal the project of each container, by id; the containers
     * themselves are in their project's `byId` only. A change that keeps a
     * container's name and project (state, PID, health, labels: most events)
     * writes one index of n containers (its project's) instead of one per
     * index: at 10,000 containers the trie writes and the young garbage they
     * make are most of an event's cost. A lookup by id costs three probes
     * (the project, its index), by name one more.
     */
    private readonly where: PersistentMap<string>,
    /** @internal the id of each container's name, for names other than the id (an id always wins over an equal name) */
    private readonly names: PersistentMap<string>,
  ) {
    Object.freeze(this); // private #memo fields stay writable; nothing else does
  }

  /** Builds a portfolio from a list of containers (later duplicates of an id win). */
  static of(containers: Iterable<Container>): Portfolio {
    let p = Portfolio.EMPTY;
    for (const c of containers) p = p.withContainer(c);
    return p;
  }

  /** Names of the named projects (without `''`), sorted (frozen; O(p log p) on the first read of a version, then O(1)). */
  get projectNames(): readonly string[] {
    if (this.#projectNames === undefined) {
      const names: string[] = [];
      for (const name of this.projectsByName.keys()) if (name !== '') names.push(name);
      this.#projectNames = Object.freeze(names.sort());
    }
    return this.#projectNames;
  }

  /** All projects, the unnamed one first, then by name (frozen, the same array on every read of this version; O(p log p) on the first). */
  get projects(): readonly ComposerProject[] {
    return (this.#projects ??= Object.freeze(['', ...this.projectNames].map((n) => this.projectsByName.get(n) as ComposerProject)));
  }

  /** The project of that name; `''` is the unnamed project and always exists. */
  project(name: string): ComposerProject | undefined {
    return this.projectsByName.get(name);
  }

  /** The container with this id, else the one with this name. */
  container(nameOrId: string): Container | undefined {
    return (this.#memo ??= this.#newMemo()).get(nameOrId);
  }

  /** The memo of {@link container}: the same answers, from one Map once the portfolio has been asked often enough. */
  #newMemo(): LookupMemo<Container> {
    const names = this.names;
    return new LookupMemo(
      (key) => this.byIdOnly(key) ?? this.#byName(key),
      () => {
        const all = new Map<string, Container>();
        for (const project of this.projectsByName.values()) for (const [id, c] of project.byId.entries()) all.set(id, c);
        for (const [name, id] of names.entries()) if (!all.has(name)) all.set(name, all.get(id) as Container);
        return all;
      },
      MEMO_AFTER_SIZES * (this.where.size + names.size),
    );
  }

  #byName(name: string): Container | undefined {
    const id = this.names.get(name);
    return id === undefined ? undefined : this.byIdOnly(id);
  }

  /**
   * All alive containers, in no particular order (a frozen array, the same
   * one on every read of this portfolio version). Made on the first read of a
   * version: O(n), a plain copy of the last array read on its line of versions
   * with the changes since applied (up to n/8 of them), else a walk of the
   * whole index; O(1) after that. Past 16,384 containers V8 allocates an
   * array that long as a large object: a millisecond or more each (Node 20).
   */
  get containers(): readonly Container[] {
    return this.#list.get(this.where.size, () => this.#walk());
  }

  /** Every container, project by project. */
  *#walk(): IterableIterator<Container> {
    for (const project of this.projectsByName.values()) yield* project.byId.values();
  }

  /** Number of alive containers. */
  get total(): number {
    return this.where.size;
  }

  /** @internal The container by id only (no name fallback). */
  byIdOnly(id: string): Container | undefined {
    const project = this.where.get(id);
    return project === undefined ? undefined : this.projectsByName.get(project)?.byId.get(id);
  }

  /** @internal Ids of all containers. */
  ids(): IterableIterator<string> {
    return this.where.keys();
  }

  /**
   * A portfolio with `c` added or replacing the container of the same id
   * (moving it between projects if its project changed). Returns `this` when
   * `c` is already there, identical.
   */
  withContainer(c: Container): Portfolio {
    const previous = this.byIdOnly(c.id);
    if (previous === c) return this;
    let projects = this.projectsByName;
    if (previous !== undefined && previous.project !== c.project) {
      projects = dropFrom(projects, previous);
    }
    const target = projects.get(c.project) ?? new ComposerProject(c.project, PersistentMap.empty(), PersistentMap.empty());
    projects = projects.set(c.project, target.with(c, previous !== undefined && previous.project === c.project ? previous : undefined));
    const where = previous !== undefined && previous.project === c.project ? this.where : this.where.set(c.id, c.project);
    const next = new Portfolio(projects, where, named(this.names, c, previous));
    next.#list.follow(this.#list, previous, c, next.total);
    return next;
  }

  /** A portfolio without the container of this id; `this` when absent. */
  withoutContainer(id: string): Portfolio {
    const previous = this.byIdOnly(id);
    if (previous === undefined) return this;
    const next = new Portfolio(dropFrom(this.projectsByName, previous), this.where.delete(id), unnamed(this.names, previous));
    next.#list.follow(this.#list, previous, undefined, next.total);
    return next;
  }
}

function dropFrom(projects: PersistentMap<ComposerProject>, c: Container): PersistentMap<ComposerProject> {
  const project = projects.get(c.project);
  if (project === undefined) return projects;
  const next = project.without(c);
  // the unnamed project always exists; a named one only while it has containers
  return next.total === 0 && c.project !== '' ? projects.delete(c.project) : projects.set(c.project, next);
}

/** The container with this id, else the one whose name it is. */
function byIdOrName(byId: PersistentMap<Container>, names: PersistentMap<string>, key: string): Container | undefined {
  const c = byId.get(key);
  if (c !== undefined) return c;
  const id = names.get(key);
  return id === undefined ? undefined : byId.get(id);
}

/**
 * The name index with `c`'s name (its old one dropped if it still pointed at
 * it); `names` itself when the name is unchanged: the common case (a change of
 * state, PID, health or labels) costs nothing here. A name equal to the id
 * needs no entry (the id finds it).
 */
function named(names: PersistentMap<string>, c: Container, previous: Container | undefined): PersistentMap<string> {
  if (previous !== undefined && previous.name === c.name) return names;
  let next = names;
  if (previous !== undefined && previous.name !== previous.id && next.get(previous.name) === c.id) next = next.delete(previous.name);
  return c.name === c.id ? next : next.set(c.name, c.id);
}

/** The name index without `c`'s name, unless the name now belongs to another container. */
function unnamed(names: PersistentMap<string>, c: Container): PersistentMap<string> {
  return c.name !== c.id && names.get(c.name) === c.id ? names.delete(c.name) : names;
}
