// The engine of the scale benchmark (scale.mjs), in a process of its own so that serving 30,000 inspections
// is not billed to the watcher measured: the specs' fake Docker 26 (spec/fakes/docker-fakes.ts, built into
// build/) filled with N containers whose inspections are the size of a real Docker 26's (labels, env,
// mounts, graph driver, networks: ~3-4 KB), compose-style and Kubernetes-style names mixed. Driven over
// IPC by scale.mjs:
//   { op: 'fill', n }     → { op: 'filled', url, bytes }   N containers (deterministic), the average inspection size
//   { op: 'fillExtra', n } → { op: 'filledExtra', url, bytes }  another engine of its own with N containers
//                                                         (the same N containers a fill gives), kept till close
//   { op: 'churn', k }    → { op: 'churned' }              k pause/unpause events of random alive containers,
//                                                         the engine's state changed to match, written at once
//   { op: 'requests' }    → { op: 'requests', requests }   requests seen so far, by kind
//   { op: 'cpu' }         → { op: 'cpu', us }              the engine process's CPU time so far (user + system, µs)
//   { op: 'cut' }         → { op: 'cut' }                  cuts the event streams (the watcher reconnects and relists)
//   { op: 'close' }       → exits once the fake is closed
import { dockerEvent, fakeDocker, inspectText } from '../../build/spec/fakes/docker-fakes.js';
import { hexId, rng } from './micro.mjs';

const fake = await fakeDocker();
/** More engines, each filled once (scale.mjs syncs against one per size, rounds rotating over the sizes). */
const extras = [];
const next = rng(42);
/** Ids of the containers, in fill order. */
let ids = [];
let time = 1_700_000_000_000_000_000;

/** A Docker 26 inspection of the i-th container (without Id, Name, State's flags, Config.Labels: the fake lays those over it). */
function inspectOf(i, id, name, labels, image) {
  const layer = (k) => `/var/lib/docker/overlay2/${hexId(rng(i * 7 + k))}`;
  return {
    Created: '2026-11-30T08:12:44.123456789Z',
    Path: '/docker-entrypoint.sh',
    Args: ['nginx', '-g', 'daemon off;'],
    State: { OOMKilled: false, Dead: false, Restarting: false, ExitCode: 0, Error: '', StartedAt: '2026-11-30T08:12:45.987654321Z', FinishedAt: '0001-01-01T00:00:00Z' },
    Image: `sha256:${hexId(rng(i % 40 + 1))}`,
    ResolvConfPath: `/var/lib/docker/containers/${id}/resolv.conf`,
    HostnamePath: `/var/lib/docker/containers/${id}/hostname`,
    HostsPath: `/var/lib/docker/containers/${id}/hosts`,
    LogPath: `/var/lib/docker/containers/${id}/${id}-json.log`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: 'docker-default',
    ExecIDs: null,
    HostConfig: {
      Binds: [`/srv/${name}/data:/data:rw`],
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      NetworkMode: 'bridge',
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: String(20000 + (i % 40000)) }] },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      AutoRemove: false,
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: 'private',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: [],
      IpcMode: 'private',
      Cgroup: '',
      OomScoreAdj: 0,
      PidMode: '',
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      ShmSize: 67108864,
      Runtime: 'runc',
      Isolation: '',
      CpuShares: 0,
      Memory: 536870912,
      NanoCpus: 500000000,
      CgroupParent: '',
      BlkioWeight: 0,
      CpusetCpus: '',
      MemorySwap: 1073741824,
      PidsLimit: null,
      MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
      ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
    GraphDriver: {
      Data: {
        LowerDir: `${layer(1)}-init/diff:${layer(2)}/diff:${layer(3)}/diff:${layer(4)}/diff`,
        MergedDir: `${layer(1)}/merged`,
        UpperDir: `${layer(1)}/diff`,
        WorkDir: `${layer(1)}/work`,
      },
      Name: 'overlay2',
    },
    Mounts: [
      { Type: 'bind', Source: `/srv/${name}/data`, Destination: '/data', Mode: 'rw', RW: true, Propagation: 'rprivate' },
      { Type: 'volume', Name: hexId(rng(i * 11 + 5)), Source: `/var/lib/docker/volumes/${hexId(rng(i * 11 + 5))}/_data`, Destination: '/var/cache/nginx', Driver: 'local', Mode: '', RW: true, Propagation: '' },
    ],
    Config: {
      Hostname: id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      ExposedPorts: { '80/tcp': {} },
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'NGINX_VERSION=1.27.3',
        'NJS_VERSION=0.8.7',
        'NJS_RELEASE=1~bookworm',
        'PKG_RELEASE=1~bookworm',
        'DYNPKG_RELEASE=1~bookworm',
        `SERVICE_NAME=${name}`,
        `INSTANCE=${i}`,
        'LOG_LEVEL=info',
      ],
      Cmd: ['nginx', '-g', 'daemon off;'],
      Image: image,
      Volumes: { '/var/cache/nginx': {} },
      WorkingDir: '',
      Entrypoint: ['/docker-entrypoint.sh'],
      OnBuild: null,
      StopSignal: 'SIGQUIT',
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: hexId(rng(i * 13 + 3)),
      SandboxKey: `/var/run/docker/netns/${hexId(rng(i * 13 + 3)).slice(0, 12)}`,
      Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(20000 + (i % 40000)) }] },
      Networks: {
        bridge: {
          IPAMConfig: null,
          Links: null,
          Aliases: null,
          MacAddress: '02:42:ac:11:00:02',
          NetworkID: hexId(rng(7)),
          EndpointID: hexId(rng(i * 17 + 9)),
          Gateway: '172.17.0.1',
          IPAddress: `172.17.${(i >> 8) & 255}.${i & 255}`,
          IPPrefixLen: 16,
          DNSNames: null,
        },
      },
    },
    _labels: labels,
  };
}

function fill(n, into = fake) {
  const r = rng(n);
  into.containers.clear();
  if (into === fake) ids = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const id = hexId(r);
    let name;
    let labels;
    let image;
    if (i % 2 === 0) {
      // compose: 50 projects
      const project = `shop${i % 50}`;
      const service = ['web', 'api', 'worker', 'cache', 'db'][i % 5];
      name = `${project}-${service}-${i}`;
      image = `registry.example.com/${project}/${service}:1.${i % 7}`;
      labels = {
        'com.docker.compose.project': project,
        'com.docker.compose.service': service,
        'com.docker.compose.container-number': String(i),
        'com.docker.compose.oneoff': 'False',
        'com.docker.compose.version': '2.29.7',
        'com.docker.compose.config-hash': hexId(rng(i + 1)),
        'com.docker.compose.project.working_dir': `/srv/${project}`,
        'com.docker.compose.project.config_files': `/srv/${project}/compose.yaml`,
        'com.docker.compose.depends_on': service === 'web' ? 'api:service_started:false' : '',
        'com.docker.compose.image': `sha256:${hexId(rng(i % 40 + 1))}`,
        'maintainer': 'NGINX Docker Maintainers <docker-maint@nginx.com>',
      };
    } else {
      // Kubernetes through cri-dockerd: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>
      const ns = `team-${i % 30}`;
      const pod = `api-${(i * 2654435761 >>> 0).toString(36).slice(0, 9)}-${(i % 100000).toString(36)}`;
      const uid = `${hexId(rng(i + 3)).slice(0, 8)}-${hexId(rng(i + 4)).slice(0, 4)}-4${hexId(rng(i + 5)).slice(0, 3)}-a${hexId(rng(i + 6)).slice(0, 3)}-${hexId(rng(i + 7)).slice(0, 12)}`;
      name = `k8s_app_${pod}_${ns}_${uid}_0`;
      image = `registry.example.com/${ns}/app@sha256:${hexId(rng(i % 40 + 1))}`;
      labels = {
        'io.kubernetes.container.name': 'app',
        'io.kubernetes.pod.name': pod,
        'io.kubernetes.pod.namespace': ns,
        'io.kubernetes.pod.uid': uid,
        'io.kubernetes.container.hash': (i * 40503 >>> 0).toString(16),
        'io.kubernetes.container.restartCount': '0',
        'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
        'io.kubernetes.container.terminationMessagePolicy': 'File',
        'io.kubernetes.pod.terminationGracePeriod': '30',
        'io.kubernetes.docker.type': 'container',
        'annotation.io.kubernetes.container.ports': '[{"name":"http","containerPort":8080,"protocol":"TCP"}]',
      };
    }
    const { _labels, ...inspect } = inspectOf(i, id, name, labels, image);
    const c = { id, name, pid: 10_000 + i, labels, inspect };
    into.containers.set(id, c);
    if (into === fake) ids.push(id);
    const text = inspectText(c); // made now, not during the first sync measured
    if (i < 100) bytes += text.length;
  }
  return Math.round(bytes / Math.min(n, 100));
}

function churn(k) {
  const lines = [];
  for (let j = 0; j < k; j++) {
    const id = ids[next() % ids.length];
    const c = fake.containers.get(id);
    const paused = !c.paused;
    fake.containers.set(id, { ...c, paused });
    time += 1_000;
    lines.push(JSON.stringify(dockerEvent(paused ? 'pause' : 'unpause', id, { name: c.name, image: c.inspect.Config.Image }, time)));
  }
  fake.write(`${lines.join('\n')}\n`);
}

process.on('message', async (msg) => {
  switch (msg.op) {
    case 'fill': {
      const bytes = fill(msg.n);
      // The fill's garbage collected now, not while serving a timed round.
      globalThis.gc?.();
      process.send({ op: 'filled', url: fake.url, bytes });
      break;
    }
    case 'fillExtra': {
      const extra = await fakeDocker();
      extras.push(extra);
      const bytes = fill(msg.n, extra);
      globalThis.gc?.();
      process.send({ op: 'filledExtra', url: extra.url, bytes });
      break;
    }
    case 'churn':
      churn(msg.k);
      process.send({ op: 'churned' });
      break;
    case 'cpu': {
      const c = process.cpuUsage();
      process.send({ op: 'cpu', us: c.user + c.system });
      break;
    }
    case 'requests':
      process.send({ op: 'requests', requests: { ...fake.requests } });
      break;
    case 'cut':
      fake.cutEvents();
      process.send({ op: 'cut' });
      break;
    case 'close':
      await Promise.all([fake, ...extras].map((f) => f.close()));
      process.disconnect();
      break;
  }
});
process.on('disconnect', () => void Promise.all([fake, ...extras].map((f) => f.close())));
process.send({ op: 'up' });
