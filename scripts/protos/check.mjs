#!/usr/bin/env node
// Checks that the .proto subset in protos/ is wire-compatible with the upstream containerd
// and CRI definitions: for every message, field, enum, enum value, service and method we
// define, the upstream one must exist with the same number, type, label, type name,
// streaming flags and file syntax. Extra upstream fields/messages are fine (we keep a subset).
//
//   node scripts/protos/check.mjs [--protos DIR] [--quiet]
//
// Exit 0 when compatible, 1 on any mismatch (all are reported), 2 when it cannot run.
// protoc is installed when missing (scripts/protos/ensure-protoc.sh); the upstream protos are
// located or fetched by scripts/protos/upstream.sh (see there for the WW_* overrides).
// Both sides are compiled with `protoc --descriptor_set_out` and decoded with @bufbuild/protobuf.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, isFieldSet } from '@bufbuild/protobuf';
import {
  FieldDescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldOptionsSchema,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

function parseArgs(argv) {
  const args = { protos: join(root, 'protos'), quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--protos') args.protos = resolve(argv[++i] ?? '');
    else if (a.startsWith('--protos=')) args.protos = resolve(a.slice('--protos='.length));
    else if (a === '--quiet') args.quiet = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/protos/check.mjs [--protos DIR] [--quiet]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function listProtos(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listProtos(p, base));
    else if (e.name.endsWith('.proto')) out.push(relative(base, p));
  }
  return out.sort();
}

function sh(script, env = process.env) {
  return execFileSync('sh', [join(here, script)], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function protocDescriptors(protoc, includes, files, out) {
  execFileSync(protoc, [...includes.map((i) => `-I${i}`), '--include_imports', `--descriptor_set_out=${out}`, ...files], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return fromBinary(FileDescriptorSetSchema, readFileSync(out));
}

/** Index every message, enum and service of a descriptor set by fully-qualified name. */
export function indexDescriptors(set) {
  const messages = new Map();
  const enums = new Map();
  const services = new Map();
  for (const file of set.file) {
    const syntax = file.syntax || 'proto2';
    const pkg = file.package ? `.${file.package}` : '';
    const addEnum = (e, prefix) => enums.set(`${prefix}.${e.name}`, { desc: e, file: file.name, syntax });
    const addMessage = (m, prefix) => {
      const name = `${prefix}.${m.name}`;
      messages.set(name, { desc: m, file: file.name, syntax });
      for (const n of m.nestedType) addMessage(n, name);
      for (const e of m.enumType) addEnum(e, name);
    };
    for (const m of file.messageType) addMessage(m, pkg);
    for (const e of file.enumType) addEnum(e, pkg);
    for (const s of file.service) services.set(`${pkg}.${s.name}`, { desc: s, file: file.name, syntax });
  }
  return { messages, enums, services, files: set.file };
}

const typeName = (t) => FieldDescriptorProto_Type[t] ?? String(t);
const labelName = (l) => FieldDescriptorProto_Label[l] ?? String(l);
const isWellKnown = (name) => name.startsWith('.google.protobuf.');

function fieldShape(m, f) {
  return {
    number: f.number,
    type: typeName(f.type),
    label: labelName(f.label),
    typeName: f.typeName,
    oneof: isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) ? m.oneofDecl[f.oneofIndex]?.name : undefined,
    proto3Optional: Boolean(f.proto3Optional),
    packed: f.options && isFieldSet(f.options, FieldOptionsSchema.field.packed) ? f.options.packed : undefined,
    defaultValue: isFieldSet(f, FieldDescriptorProtoSchema.field.defaultValue) ? f.defaultValue : undefined,
  };
}

/**
 * Compares our descriptors with upstream's; returns one human-readable line per mismatch.
 * Only the definitions in `ourFiles` (our own .proto files, not the google ones they import)
 * are checked.
 */
export function compareDescriptors(ours, upstream, ourFiles) {
  const problems = [];
  for (const [name, { desc: m, file, syntax }] of ours.messages) {
    if (!ourFiles.has(file) || isWellKnown(name)) continue;
    // map<K, V> fields are messages `XxxEntry` (key = 1, value = 2): compared like any other message
    const kind = m.options?.mapEntry ? 'map entry' : 'message';
    const up = upstream.messages.get(name);
    if (!up) { problems.push(`${file}: ${kind} ${name.slice(1)} does not exist upstream`); continue; }
    if (up.syntax !== syntax) problems.push(`${file}: ${kind} ${name.slice(1)} is ${syntax}, upstream ${up.syntax} (${up.file})`);
    if (Boolean(up.desc.options?.mapEntry) !== Boolean(m.options?.mapEntry)) problems.push(`${file}: ${name.slice(1)} is a ${kind}, upstream is not`);
    compareFields(name, m, up.desc, file, problems);
  }
  for (const [name, { desc: e, file }] of ours.enums) {
    if (!ourFiles.has(file) || isWellKnown(name)) continue;
    const up = upstream.enums.get(name);
    if (!up) { problems.push(`${file}: enum ${name.slice(1)} does not exist upstream`); continue; }
    for (const v of e.value) {
      const uv = up.desc.value.find((x) => x.name === v.name);
      if (!uv) problems.push(`${file}: enum value ${name.slice(1)}.${v.name} does not exist upstream`);
      else if (uv.number !== v.number) problems.push(`${file}: enum value ${name.slice(1)}.${v.name} = ${v.number}, upstream = ${uv.number}`);
    }
  }
  for (const [name, { desc: s, file }] of ours.services) {
    if (!ourFiles.has(file)) continue;
    const up = upstream.services.get(name);
    if (!up) { problems.push(`${file}: service ${name.slice(1)} does not exist upstream`); continue; }
    for (const meth of s.method) {
      const um = up.desc.method.find((x) => x.name === meth.name);
      const id = `${name.slice(1)}/${meth.name}`;
      if (!um) { problems.push(`${file}: method ${id} does not exist upstream`); continue; }
      if (um.inputType !== meth.inputType) problems.push(`${file}: method ${id} takes ${meth.inputType.slice(1)}, upstream ${um.inputType.slice(1)}`);
      if (um.outputType !== meth.outputType) problems.push(`${file}: method ${id} returns ${meth.outputType.slice(1)}, upstream ${um.outputType.slice(1)}`);
      if (Boolean(um.clientStreaming) !== Boolean(meth.clientStreaming)) problems.push(`${file}: method ${id} client streaming ${Boolean(meth.clientStreaming)}, upstream ${Boolean(um.clientStreaming)}`);
      if (Boolean(um.serverStreaming) !== Boolean(meth.serverStreaming)) problems.push(`${file}: method ${id} server streaming ${Boolean(meth.serverStreaming)}, upstream ${Boolean(um.serverStreaming)}`);
    }
  }
  return problems;
}

function compareFields(name, m, um, file, problems) {
  for (const f of m.field) {
    const id = `${name.slice(1)}.${f.name}`;
    const uf = um.field.find((x) => x.name === f.name);
    const byNumber = um.field.find((x) => x.number === f.number);
    if (!uf) {
      problems.push(`${file}: field ${id} = ${f.number} does not exist upstream${byNumber ? ` (upstream field ${f.number} is ${byNumber.name})` : ''}`);
      continue;
    }
    const a = fieldShape(m, f);
    const b = fieldShape(um, uf);
    for (const k of Object.keys(a)) {
      if (a[k] !== b[k]) problems.push(`${file}: field ${id}: ${k} ${fmt(a[k])}, upstream ${fmt(b[k])}`);
    }
  }
}

const fmt = (v) => (v === undefined ? '(none)' : typeof v === 'string' && v.startsWith('.') ? v.slice(1) : String(v));

function main() {
  const args = parseArgs(process.argv.slice(2));
  const log = args.quiet ? () => {} : (...a) => console.log(...a);
  const protoc = sh('ensure-protoc.sh');
  const located = Object.fromEntries(
    sh('upstream.sh').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const ctdRoot = located.CONTAINERD_ROOT;
  const criProto = located.CRI_API_PROTO;
  if (!ctdRoot || !criProto) throw new Error('upstream.sh did not locate the upstream protos');

  const tmp = mkdtempSync(join(tmpdir(), 'ww-protos-check-'));
  try {
    // ours
    const ourFileList = listProtos(args.protos);
    if (ourFileList.length === 0) throw new Error(`no .proto files under ${args.protos}`);
    const ours = indexDescriptors(protocDescriptors(protoc, [args.protos], ourFileList, join(tmp, 'ours.pb')));

    // upstream: every containerd API file, plus CRI's api.proto without its gogoproto import/options
    const criRel = 'k8s.io/cri-api/pkg/apis/runtime/v1/api.proto';
    const criDir = join(tmp, 'cri');
    mkdirSync(dirname(join(criDir, criRel)), { recursive: true });
    const criText = readFileSync(criProto, 'utf8')
      .split('\n')
      .filter((l) => !/^import "github.com\/gogo\/protobuf\/gogoproto\/gogo.proto";/.test(l) && !/^option \(gogoproto\./.test(l))
      .join('\n');
    writeFileSync(join(criDir, criRel), criText);
    const includes = [ctdRoot, criDir];
    // introspection.proto imports google/rpc/status.proto (googleapis), not shipped by either package
    const protocInclude = join(dirname(dirname(protoc)), 'include');
    if (![ctdRoot, protocInclude].some((d) => existsSync(join(d, 'google/rpc/status.proto')))) {
      const stub = join(tmp, 'stubs');
      mkdirSync(join(stub, 'google/rpc'), { recursive: true });
      writeFileSync(
        join(stub, 'google/rpc/status.proto'),
        'syntax = "proto3";\npackage google.rpc;\nimport "google/protobuf/any.proto";\n' +
          'message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }\n',
      );
      includes.push(stub);
    }
    const ctdApi = join(ctdRoot, 'github.com/containerd/containerd/api');
    const upFiles = [...listProtos(ctdApi).map((f) => `github.com/containerd/containerd/api/${f}`), criRel];
    const upstream = indexDescriptors(protocDescriptors(protoc, includes, upFiles, join(tmp, 'upstream.pb')));

    const problems = compareDescriptors(ours, upstream, new Set(ourFileList));
    const counted = { messages: 0, fields: 0, enums: 0, services: 0, methods: 0 };
    for (const [n, { desc, file }] of ours.messages) if (ourFileList.includes(file) && !isWellKnown(n)) { counted.messages++; counted.fields += desc.field.length; }
    for (const [, { file }] of ours.enums) if (ourFileList.includes(file)) counted.enums++;
    for (const [, { desc, file }] of ours.services) if (ourFileList.includes(file)) { counted.services++; counted.methods += desc.method.length; }
    if (problems.length > 0) {
      for (const p of problems) console.error(`MISMATCH ${p}`);
      console.error(`protos check: ${problems.length} mismatch(es) in ${args.protos} against upstream`);
      return 1;
    }
    log(
      `protos check: OK, ${ourFileList.length} files, ${counted.messages} messages, ${counted.fields} fields, ` +
        `${counted.enums} enums, ${counted.services} services, ${counted.methods} methods match upstream`,
    );
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (e) {
    console.error(`protos check: cannot run: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 2;
  }
}
