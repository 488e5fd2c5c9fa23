// The public surface is lib/index.ts, and the build enforces it: this spec holds
// the list of every name a user can import, at run time (dist/index.js) and as a
// type (dist/index.d.ts), so that a new export is a conscious change made here
// too. Everything else exported by a module of lib/ is marked `@internal` and
// stripped from dist/*.d.ts (`stripInternal`); the spec checks that no .d.ts
// declares an internal name, and that the .d.ts files declare nothing beyond the
// public names and the few types public declarations are built from.

import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT, needDist } from './package-dist.js';

/** Names `import { … } from 'whalewatcher'` gives at run time. */
const VALUES = [
  // model
  'ComposerProject',
  'PRIVILEGED_LABEL',
  'PROJECT_LABEL',
  'Portfolio',
  'newContainer',
  // errors
  'EngineError',
  'isEngineError',
  // core
  'DEFAULT_RETRY',
  'watch',
  // Docker and Podman
  'DEFAULT_DOCKER_HOST',
  'dockerAdapter',
  'resolveDockerEndpoint',
  'watchDocker',
  // containerd
  'DEFAULT_CONTAINERD_ADDRESS',
  'DEFAULT_IGNORED_NAMESPACES',
  'NERDCTL_NAME_LABEL',
  'containerdAdapter',
  'parseContainerdDisplayId',
  'resolveContainerdAddress',
  'watchContainerd',
  // CRI
  'CRI_ANNOTATION_PREFIX',
  'CRI_CONTAINER_NAME_LABEL',
  'CRI_POD_NAMESPACE_LABEL',
  'CRI_POD_NAME_LABEL',
  'CRI_POD_UID_LABEL',
  'CRI_SANDBOX_ID_LABEL',
  'CRI_SANDBOX_LABEL',
  'DEFAULT_CRI_ENDPOINTS',
  'criAdapter',
  'resolveCriEndpoint',
  'watchCri',
  // discovery
  'discoverEngines',
  // host
  'PREFIX_LABEL',
  'watchHost',
];

/** Names that are types only. */
const TYPES = [
  'Container',
  'ContainerHealth',
  'ContainerInit',
  'EngineErrorCode',
  'RetryFunction',
  'RetryOption',
  'RetryPolicy',
  'EngineAdapter',
  'EngineEvent',
  'EngineFeed',
  'EngineInfo',
  'EngineType',
  'ExitDetails',
  'LifecycleEvent',
  'WatcherStatus',
  'WatchOptions',
  'Watcher',
  'AdapterOptions',
  'PackerOptions',
  'DockerEndpoint',
  'DockerEndpointOptions',
  'DockerTlsOptions',
  'DockerOptions',
  'ContainerdOptions',
  'CriOptions',
  'DiscoveredEngine',
  'Discovery',
  'DiscoveryOptions',
  'DiscoveryRoute',
  'DiscoveryUnanswered',
  'DiscoveryUnreadable',
  'HostEngine',
  'HostEngineParent',
  'HostWatcher',
  'HostWatchOptions',
];

/** Names `import { … } from 'whalewatcher/testing'` gives at run time (lib/testing/index.ts), and its types. */
const TESTING_VALUES = ['fakeEngine'];
const TESTING_TYPES = ['FakeEngine', 'FakeEngineOptions'];

/**
 * Declared in dist/*.d.ts without being exported by the index: the types that
 * public options are built from (an option type extends them, a packer gets
 * them). They cannot be `@internal`, or the public declarations would point at
 * nothing. Generated protobuf types (dist/gen) are left out of the comparison.
 */
const STRUCTURAL = [
  'DockerEnv', // DockerOptions.env, resolveDockerEndpoint's env
  'DockerInspectOptions', // DockerOptions extends it (packer, onPackerError)
  'ContainerdContainerOptions', // ContainerdOptions extends it
  'ContainerdRaw', // what the containerd packer gets
  'ContainerdContainerRecord',
  'ContainerdTask',
  'CriContainerOptions', // CriOptions extends it
  'CriRaw', // what the CRI packer gets
  'CriContainerRaw',
  'CriSandboxRaw',
];

const sorted = (names: Iterable<string>): string[] => [...names].sort();

function files(dir: string, suffix: string, skip: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === skip ? [] : files(path, suffix, skip);
    return e.name.endsWith(suffix) ? [path] : [];
  });
}

const isInternal = (node: ts.Node): boolean =>
  ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .some((doc) => doc.getText().includes('@internal'));

/** The top-level declarations of a file (exported or not), with their members: `Name` and `Name.member`. */
function declarations(sf: ts.SourceFile, onlyInternal: boolean): string[] {
  const out: string[] = [];
  for (const st of sf.statements) {
    const named: [string, ts.Node][] = ts.isVariableStatement(st)
      ? st.declarationList.declarations.map((d) => [d.name.getText(sf), st])
      : (ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isFunctionDeclaration(st) || ts.isEnumDeclaration(st)) && st.name
        ? [[st.name.text, st]]
        : [];
    for (const [name, node] of named) {
      if (!onlyInternal || isInternal(node)) out.push(name);
      if (ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) {
        for (const m of node.members) {
          const member = ts.isConstructorDeclaration(m) ? 'constructor' : m.name?.getText(sf);
          if (member !== undefined && (!onlyInternal || isInternal(m))) out.push(`${name}.${member}`);
          if (ts.isConstructorDeclaration(m)) {
            for (const p of m.parameters) if (ts.canHaveModifiers(p) && ts.getModifiers(p)?.length && (!onlyInternal || isInternal(p))) out.push(`${name}.${p.name.getText(sf)}`);
          }
        }
      }
    }
  }
  return out;
}

describe('package: the public surface (lib/index.ts) is all a user gets', function () {
  this.timeout(120_000);
  let program: ts.Program;
  let index: ts.SourceFile;
  let testing: ts.SourceFile;

  before(function () {
    needDist(this, 'public-surface.spec');
    program = ts.createProgram([join(ROOT, 'dist', 'index.d.ts'), join(ROOT, 'dist', 'testing', 'index.d.ts')], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      noEmit: true,
    });
    index = program.getSourceFile(join(ROOT, 'dist', 'index.d.ts')) as ts.SourceFile;
    testing = program.getSourceFile(join(ROOT, 'dist', 'testing', 'index.d.ts')) as ts.SourceFile;
  });

  it('the package exports exactly the listed values at run time', async () => {
    const name = 'whalewatcher'; // the package's self-reference: through package.json's exports, as a user imports it
    const pkg = (await import(name)) as Record<string, unknown>;
    expect(sorted(Object.keys(pkg))).to.deep.equal(sorted(VALUES));
  });

  it('and exactly the listed values and types in dist/index.d.ts', () => {
    const checker = program.getTypeChecker();
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(index) as ts.Symbol);
    expect(sorted(exports.map((s) => s.name))).to.deep.equal(sorted([...VALUES, ...TYPES]));
  });

  it("'whalewatcher/testing' exports exactly its listed values at run time, and its values and types in dist/testing/index.d.ts", async () => {
    const name = 'whalewatcher/testing';
    const pkg = (await import(name)) as Record<string, unknown>;
    expect(sorted(Object.keys(pkg))).to.deep.equal(sorted(TESTING_VALUES));
    const checker = program.getTypeChecker();
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(testing) as ts.Symbol);
    expect(sorted(exports.map((s) => s.name))).to.deep.equal(sorted([...TESTING_VALUES, ...TESTING_TYPES]));
  });

  it('no .d.ts reachable from dist/index.d.ts or dist/testing/index.d.ts declares a name that is @internal in lib/', () => {
    const reachable = program.getSourceFiles().filter((sf) => relative(ROOT, sf.fileName).startsWith(`dist/`));
    expect(reachable.length).to.be.greaterThan(1);
    const leaks: string[] = [];
    let internals = 0;
    for (const dts of reachable) {
      const rel = relative(join(ROOT, 'dist'), dts.fileName);
      if (rel.startsWith('gen/')) continue;
      const source = join(ROOT, 'lib', rel.replace(/\.d\.ts$/, '.ts'));
      const lib = ts.createSourceFile(source, readFileSync(source, 'utf8'), ts.ScriptTarget.Latest, true);
      const internal = new Set(declarations(lib, true));
      internals += internal.size;
      for (const name of declarations(dts, false)) if (internal.has(name)) leaks.push(`dist/${rel}: ${name}`);
    }
    expect(internals, '@internal declarations seen in the reachable modules').to.be.greaterThan(0);
    expect(leaks).to.deep.equal([]);
  });

  it('dist/**/*.d.ts (but dist/gen) declare only public names and the types public declarations are built from', () => {
    const allowed = new Set([...VALUES, ...TYPES, ...TESTING_VALUES, ...TESTING_TYPES, ...STRUCTURAL]);
    const extra: string[] = [];
    for (const file of files(join(ROOT, 'dist'), '.d.ts', join(ROOT, 'dist', 'gen'))) {
      const dts = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      for (const name of declarations(dts, false)) if (!name.includes('.') && !allowed.has(name)) extra.push(`${relative(ROOT, file)}: ${name}`);
    }
    expect(extra).to.deep.equal([]);
  });
});
