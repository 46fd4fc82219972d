// deploy/ proven on this machine. The gateway, haproxy, postgres and redis roles run for real against the
// ci-local inventory (every host is this machine over ansible_connection: local, every file under a scratch
// prefix, services started without systemd, the machine's own PostgreSQL and Redis), twice: the second run
// must change nothing. Then the two gateway replicas Ansible started are driven through the HAProxy it
// configured, over TLS, with the openai SDK: one rate limit shared through Redis, a revocation seen by both
// within a second, usage from both in the one Postgres, and a replica killed with SIGKILL mid-load while
// HAProxy moves new requests to the other. The GPU roles, whose servers need GPUs, run in --check --diff
// mode against the Groningen inventory, and the ci-local vLLM backend's files and every host's default-deny
// egress rules are rendered (never loaded: they would cut this machine off) and read back; ansible-lint
// (production profile) and --syntax-check cover all.
// Runs once (Jest project `deploy`), not per database project: it deploys against PostgreSQL only. One file,
// longer than most, because every test shares one deployment that takes half a minute to make.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import OpenAI from 'openai';
import { Client } from 'pg';
import { FakeVllm } from '../fakes/fake-vllm';
import { lateMisses, pollUntilRefused } from '../helpers/admin-api';
import { PROCESS_TEST_MS, REPO_ROOT, runCli } from '../helpers/cli';
import { trackLeftover } from '../helpers/leftovers';
import { waitFor } from '../helpers/test-app';
import {
  ansibleEnv,
  expectPlaybookSucceeded,
  parseRecap,
  runCommand,
  stopRunningCommands,
  type CommandResult,
} from './ansible';
import { backendServers } from './haproxy-runtime';
import { chat, freePorts, PublicEndpoint, selfSignedCertificate } from './public-endpoint';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const PG_ADMIN_URL = process.env.HUNZE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GRONINGEN_UPSTREAMS = [
  'gro-a40-1',
  'gro-a40-2',
  'gro-l40s-1',
  'gro-tei-1',
  'gro-flux-1-schnell',
  'gro-flux-1-dev',
  'gro-whisperx-1',
];
const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const upstreamKeyEnv = (id: string) => `HUNZE_UPSTREAM_KEY_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

const ADMIN_KEY = secret('admin');
const DATABASE_PASSWORD = secret('db');
const UPSTREAM_KEY = secret('upstream');
const CHECK_MODE_KEY = secret('check-mode');
const REDIS_URL = 'redis://127.0.0.1:6379';
/** One ansible-playbook run; a loaded machine has needed minutes. Tests that run one get it on top of Jest's. */
const PLAYBOOK_MS = 300_000;
// Tests without a playbook of their own still run the CLI or drive both replicas (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

let tmp: string;
let prefix: string;
let database: string;
let databaseUrl: string;
/** The test's own view of the deployed database (the server's admin role). */
let superuserUrl: string;
let upstream: FakeVllm;
let gatewayPorts: [number, number];
let endpoint: PublicEndpoint;
let ansible: NodeJS.ProcessEnv;
let firstRun: CommandResult;
/** Started in beforeAll next to the first playbook run, awaited by their tests. */
let lint: Promise<[CommandResult, CommandResult, CommandResult]>;
let productionCheck: Promise<CommandResult>;
let groningenConfig: Promise<CommandResult>;
/** Ends what Ansible is doing and what it started; on record before the first run starts. */
let cleanUpDeployment: () => Promise<void> = async () => undefined;

const runDir = () => join(prefix, 'run', 'hunze');
const haproxySocket = () => join(prefix, 'run', 'haproxy', 'admin.sock');
const gatewayUrl = (port: number) => `http://127.0.0.1:${port}`;
const pidOf = (name: string) => Number(readFileSync(join(runDir(), `${name}.pid`), 'utf8').trim());

function playbook(args: string[], timeoutMs = PLAYBOOK_MS): Promise<CommandResult> {
  return runCommand('ansible-playbook', args, { env: ansible, timeoutMs });
}

const deployLocal = () =>
  playbook([
    '-i',
    'inventories/ci-local',
    'playbooks/site.yml',
    '--limit',
    'all:!gpu',
    '-e',
    `@${tmp}/ci-vars.json`,
  ]);

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await endpoint.admin('POST', '/keys', body);
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

async function statusOnReplica(port: number, key: string): Promise<number> {
  const res = await fetch(`${gatewayUrl(port)}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res.status;
}

/**
 * The rate limiter's exchanges of one key's request counter with Redis, as Redis's MONITOR shows them: which
 * connection (one per replica) sent how many new counts. A replica decides from its own counters and learns
 * the others' only from these exchanges (redis.rateLimitSyncMs), so a test of the shared limit waits for them.
 */
class LimitExchanges {
  private readonly calls: { source: string; requests: number }[] = [];

  private constructor(
    private readonly connection: Redis,
    private readonly monitor: Redis,
  ) {}

  static async watch(keyId: string): Promise<LimitExchanges> {
    const connection = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const monitor = await connection.monitor();
    const watch = new LimitExchanges(connection, monitor);
    const counter = `hunze:rl:k:${keyId}:rpm`;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // EVALSHA|EVAL script numkeys keys... now window expiry, then per subject rpm tpm requests tokens.
      const keyCount = Number(args[2]);
      const at = args.indexOf(counter, 3);
      if (at < 0 || at >= 3 + keyCount) return;
      const subject = (at - 3) / 3;
      watch.calls.push({ source, requests: Number(args[3 + keyCount + 3 + 4 * subject + 2]) });
    });
    return watch;
  }

  /**
   * Resolves once `counted` requests have reached Redis and, after that, every replica that exchanges this
   * counter has sent two more exchanges: its second began after the first had been taken in.
   */
  async settled(counted: number): Promise<void> {
    await waitFor(
      async () => {
        let sum = 0;
        const reached = this.calls.findIndex((c) => (sum += c.requests) >= counted);
        if (reached < 0) return false;
        const later = this.calls.slice(reached + 1);
        const sources = new Set(this.calls.map((c) => c.source));
        return [...sources].every((source) => later.filter((c) => c.source === source).length >= 2);
      },
      120_000,
      5,
    );
  }

  async close(): Promise<void> {
    this.monitor.disconnect();
    this.connection.disconnect();
  }
}

async function usageRequestIds(): Promise<Set<string>> {
  const db = new Client({ connectionString: superuserUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ request_id: string }>('SELECT request_id FROM usage_records');
    return new Set(rows.map((r) => r.request_id));
  } finally {
    await db.end();
  }
}

function logsOf(port: number): string {
  try {
    return readFileSync(join(prefix, 'var', 'log', 'hunze', `hunze-${port}.log`), 'utf8').slice(-4_000);
  } catch {
    return '(no log)';
  }
}

/**
 * Every process Ansible started here (HAProxy, the replicas) left a pidfile in the scratch run directory;
 * each is stopped by its pid, and only if that pid still runs haproxy or this checkout's cli.js.
 */
async function stopDeployedProcesses(): Promise<void> {
  let files: string[] = [];
  try {
    files = readdirSync(runDir()).filter((name) => name.endsWith('.pid'));
  } catch {
    return; // the first run never got that far
  }
  const ours = files
    .map((name) => Number(readFileSync(join(runDir(), name), 'utf8').trim()))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes('haproxy') || cmdline.includes(join(REPO_ROOT, 'dist', 'cli.js'));
      } catch {
        return false; // gone already (the killed replica)
      }
    });
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of ours) process.kill(pid, 'SIGTERM');
  await waitFor(async () => Promise.resolve(!ours.some(alive)), 5_000, 50).catch(() => undefined);
  for (const pid of ours.filter(alive)) process.kill(pid, 'SIGKILL');
}

beforeAll(async () => {
  cleanUpDeployment = trackLeftover('the deployment', async () => {
    await stopRunningCommands();
    await stopDeployedProcesses();
  });
  for (const tool of ['ansible-playbook', 'ansible-lint', 'haproxy', 'openssl']) {
    expect(
      execFileSync('sh', ['-c', `command -v ${tool} || true`])
        .toString()
        .trim(),
    ).not.toBe('');
  }
  tmp = mkdtempSync(join(tmpdir(), 'hunze-deploy-'));
  prefix = join(tmp, 'root');
  mkdirSync(prefix);
  const certificate = selfSignedCertificate(tmp);

  upstream = await FakeVllm.start({ modelName: MODEL, apiKey: UPSTREAM_KEY });
  const [gw1, gw2, https] = await freePorts(3);
  gatewayPorts = [gw1!, gw2!];
  endpoint = new PublicEndpoint(https!, certificate.ca, ADMIN_KEY);
  database = `hunze_deploy_${process.pid}_${Date.now()}`;
  const pg = new URL(PG_ADMIN_URL);
  databaseUrl = `postgres://${database}:${DATABASE_PASSWORD}@${pg.host}/${database}`;
  pg.pathname = `/${database}`;
  superuserUrl = pg.toString();
  writeFileSync(
    join(tmp, 'ci-vars.json'),
    JSON.stringify({
      ci_prefix: prefix,
      ci_database: database,
      ci_https_port: endpoint.port,
      ci_tls_pem: certificate.pem,
      ci_gateway_ports: gatewayPorts,
      ci_node_binary: process.execPath,
      ci_app_dir: REPO_ROOT,
      ci_fake_vllm_port: upstream.port,
    }),
  );
  // Secrets reach Ansible through the environment (the vault's alternative), never through files or -e.
  ansible = ansibleEnv(tmp, {
    HUNZE_ADMIN_KEY: ADMIN_KEY,
    HUNZE_DATABASE_PASSWORD: DATABASE_PASSWORD,
    [upstreamKeyEnv('ci-vllm')]: UPSTREAM_KEY,
  });

  // Independent of the local deployment: started now, awaited by their tests.
  lint = Promise.all([
    runCommand('ansible-lint', ['--offline', '--nocolor'], { env: ansible, timeoutMs: PLAYBOOK_MS }),
    playbook(['-i', 'inventories/groningen', 'playbooks/site.yml', '--syntax-check']),
    playbook(['-i', 'inventories/ci-local', 'playbooks/site.yml', '--syntax-check']),
  ]);
  const checkModeEnv = {
    ...ansible,
    ...Object.fromEntries(GRONINGEN_UPSTREAMS.map((id) => [upstreamKeyEnv(id), CHECK_MODE_KEY])),
  };
  writeFileSync(
    join(tmp, 'check-vars.json'),
    JSON.stringify({
      ansible_connection: 'local',
      ansible_python_interpreter: '/usr/bin/python3',
      hunze_become: false,
      hunze_prefix: join(tmp, 'check'),
      // No systemd, apt, internet or release tarball here: units, configs and files are diffed; service,
      // package, Node.js download, release and certificate steps are skipped.
      hunze_service_manager: 'none',
      hunze_manage_packages: false,
      hunze_node_install: 'none',
      hunze_release_archive: '',
      haproxy_tls_pem_src: '',
    }),
  );
  productionCheck = runCommand(
    'ansible-playbook',
    [
      '-i',
      'inventories/groningen',
      'playbooks/site.yml',
      '--limit',
      // Every role and host kind; gro-a40-2 and gro-gw-2 are twins of gro-a40-1 and gro-gw-1.
      'gpu:haproxy:gateway:!gro-a40-2:!gro-gw-2',
      '--check',
      '--diff',
    ].concat(['-e', `@${tmp}/check-vars.json`]),
    // Seven hosts, every role: the longest run here (egress rules on each host, the GPU roles' checks).
    { env: checkModeEnv, timeoutMs: 2 * PLAYBOOK_MS },
  );
  // This machine's PostgreSQL and Redis stand in for gro-db-1 and gro-redis-1 when the rendered config is
  // checked and reported from: their loopback range is declared next to the service network.
  groningenConfig = playbook([
    '-i',
    'inventories/groningen',
    'playbooks/render-config.yml',
    '-e',
    `hunze_render_to=${tmp}/groningen.yaml`,
    '-e',
    JSON.stringify({
      hunze_database_networks: ['10.20.1.0/24', '127.0.0.0/8'],
      hunze_redis_networks: ['10.20.1.0/24', '127.0.0.0/8'],
    }),
  ]);

  firstRun = await deployLocal();
  expectPlaybookSucceeded(firstRun);
}, PLAYBOOK_MS + 120_000);

afterAll(async () => {
  await cleanUpDeployment();
  await Promise.allSettled([lint, productionCheck, groningenConfig]);
  await upstream?.close();
  await endpoint?.close();
  if (database) {
    const db = new Client({ connectionString: PG_ADMIN_URL });
    await db.connect();
    await db.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await db.query(`DROP ROLE IF EXISTS ${database}`);
    await db.end();
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('deploy/ (Ansible) on this machine', () => {
  it(
    'converges: the first run deploys, a second run changes nothing',
    async () => {
      const first = parseRecap(firstRun.output);
      expect([...first.keys()].sort()).toEqual(['ci-db', 'ci-gw', 'ci-lb', 'ci-redis']);
      expect(first.get('ci-gw')!.changed).toBeGreaterThan(0);

      const second = expectPlaybookSucceeded(await deployLocal());
      expect(Object.fromEntries([...second].map(([host, r]) => [host, r.changed]))).toEqual({
        'ci-db': 0,
        'ci-gw': 0,
        'ci-lb': 0,
        'ci-redis': 0,
      });
    },
    PLAYBOOK_MS + 60_000,
  );

  it('is clean under ansible-lint (production profile) and --syntax-check', async () => {
    const [lintRun, groningen, local] = await lint;
    expect({ code: lintRun.code, output: lintRun.output }).toEqual({
      code: 0,
      output: expect.stringMatching(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/),
    });
    expect([groningen.code, local.code]).toEqual([0, 0]);
  });

  it(
    'checks the Groningen inventory in --check --diff mode: GPU backends, HAProxy and gateways with production settings',
    async () => {
      const run = await productionCheck;
      const recap = expectPlaybookSucceeded(run);
      expect([...recap.keys()].sort()).toEqual(
        [
          'gro-a40-1',
          'gro-flux-1',
          'gro-gw-1',
          'gro-l40s-1',
          'gro-lb-1',
          'gro-tei-1',
          'gro-whisperx-1',
        ].sort(),
      );
      // The GPU units serve exactly the model ids the gateway's config names, from local weights, offline, and
      // every host drops outbound traffic it has no allowance for; HAProxy runs chrooted as its
      // own user and balances the inventory's gateway hosts; the gateways run as their own user.
      const weights = join(tmp, 'check', 'srv', 'hunze', 'models');
      for (const line of [
        `vllm serve ${weights}/Qwen/Qwen3.6-35B-A3B-FP8 `,
        '--served-model-name Qwen/Qwen3.6-35B-A3B-FP8',
        '--served-model-name google/gemma-4-31B-it',
        '--max-model-len 131072',
        '--tensor-parallel-size 2',
        `--volume ${weights}/BAAI/bge-m3:/model:ro`,
        '--model-id /model',
        '--served-model-name BAAI/bge-m3',
        '--max-client-batch-size 32',
        `vllm serve ${weights}/black-forest-labs/FLUX.1-schnell --omni`,
        '--allowed-media-domains media.invalid',
        'Environment=HF_HUB_OFFLINE=1',
        '--env TRANSFORMERS_OFFLINE=1',
        '--pull never',
        `--volume ${weights}/huggingface:/data/huggingface:ro`,
        'type filter hook output priority filter; policy drop;',
        '--served-model-name black-forest-labs/FLUX.1-dev',
        'whisperx-api-server',
        'ProtectSystem=strict',
        'chroot ',
        'user haproxy',
        'ssl-min-ver TLSv1.2',
        'server gro-gw-1-8080 10.20.1.21:8080',
        'server gro-gw-2-8080 10.20.1.22:8080',
        'User=hunze',
        'apiKey: env:HUNZE_UPSTREAM_KEY_GRO_TEI_1',
      ]) {
        expect(run.output).toContain(line);
      }
      // Secret files are written with no_log: no key appears in Ansible's output.
      for (const value of [CHECK_MODE_KEY, ADMIN_KEY, DATABASE_PASSWORD])
        expect(run.output).not.toContain(value);
    },
    2 * PLAYBOOK_MS,
  );

  it(
    'renders from the Groningen inventory a config that passes `hunze config check`, whose reports name its hosts, sites and operators',
    async () => {
      expectPlaybookSucceeded(await groningenConfig);
      const config = join(tmp, 'groningen.yaml');
      const env = {
        HUNZE_CONFIG: config,
        HUNZE_ADMIN_KEY: ADMIN_KEY,
        REDIS_URL: 'redis://127.0.0.1:6379',
        DATABASE_URL: databaseUrl,
        ...Object.fromEntries(GRONINGEN_UPSTREAMS.map((id) => [upstreamKeyEnv(id), CHECK_MODE_KEY])),
      };
      const check = await runCli(['config', 'check'], env);
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
      expect(check.stdout).toContain('valid (7 upstreams, 6 models');
      const rendered = readFileSync(config, 'utf8');
      expect(rendered).toContain('hardware: "NVIDIA A40 48 GB"');
      expect(rendered).toContain('egress: { defaultDeny: true, allowed: ["10.20.0.0/24"] }');
      expect(rendered).toContain('database: {"networks": ["10.20.1.0/24", "127.0.0.0/8"]}');
      expect(rendered).toContain('media: {"remoteUrls": "refuse"}');
      expect(rendered).not.toContain(CHECK_MODE_KEY);

      const out = join(tmp, 'reports');
      const reports = await runCli(['report', 'all', '--format', 'md', '--out', out], env);
      expect({ code: reports.code, stderr: reports.stderr }).toEqual({ code: 0, stderr: '' });
      const text = readdirSync(out)
        .map((f) => readFileSync(join(out, f), 'utf8'))
        .join('\n');
      expect(text).toContain(
        'gro-a40-1: default-deny egress declared by the deployment; allowed: 10.20.0.0/24',
      );
      expect(text).toContain('Remote media URLs are refused');
      for (const name of [
        ...GRONINGEN_UPSTREAMS,
        'Groningen DC1',
        'Groningen DC2',
        'Example Hosting B.V.',
        'Noordelijk Rekencentrum B.V.',
      ]) {
        expect(text).toContain(name);
      }
      // The rendering playbook, then two CLI runs.
    },
    PLAYBOOK_MS + PROCESS_TEST_MS,
  );

  it('deploys secrets root-only and env: references in the config, and hardened units', () => {
    const envFile = join(prefix, 'etc', 'hunze', 'hunze.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(`HUNZE_ADMIN_KEY='${ADMIN_KEY}'`);
    const config = readFileSync(join(prefix, 'etc', 'hunze', 'hunze.yaml'), 'utf8');
    for (const value of [ADMIN_KEY, DATABASE_PASSWORD, UPSTREAM_KEY]) expect(config).not.toContain(value);
    expect(config).toContain('apiKey: env:HUNZE_UPSTREAM_KEY_CI_VLLM');
    const unit = readFileSync(join(prefix, 'etc', 'systemd', 'system', 'hunze@.service'), 'utf8');
    for (const line of [
      'User=hunze',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=\n',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      `ReadWritePaths=${prefix}/var/lib/hunze/%i`,
      `EnvironmentFile=${envFile}`,
    ]) {
      expect(unit).toContain(line);
    }
  });

  it(
    'renders default-deny egress rules for every host from the inventory, and loads none of them here',
    async () => {
      const rules = (host: string) =>
        readFileSync(join(prefix, 'etc', 'nftables.d', `hunze-egress-${host}.nft`), 'utf8');
      const allowances = (text: string) =>
        text
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => / daddr /.test(line));
      // The operator's lists (ci-local: documentation addresses) on every host.
      const operator = [
        'ip daddr { 192.0.2.53/32 } meta l4proto { tcp, udp } th dport { 53 } accept',
        'ip daddr { 192.0.2.123/32 } udp dport { 123 } accept',
        'ip daddr { 192.0.2.80/32 } tcp dport { 443 } accept',
      ];
      for (const host of ['ci-db', 'ci-redis', 'ci-lb', 'ci-gw']) {
        const text = rules(host);
        for (const line of [
          'table inet hunze_egress {',
          'type filter hook output priority filter; policy drop;',
          'oif "lo" accept',
          'ct state established,related accept',
        ])
          expect({ host, text }).toEqual({ host, text: expect.stringContaining(line) });
      }
      // The database and Redis reach nothing but the operator's lists; HAProxy the two replicas; the gateway
      // its upstream's port, PostgreSQL and Redis on their declared networks.
      expect(allowances(rules('ci-db'))).toEqual(operator);
      expect(allowances(rules('ci-redis'))).toEqual(operator);
      const [low, high] = [...gatewayPorts].sort((a, b) => a - b);
      expect(allowances(rules('ci-lb'))).toEqual([
        `ip daddr { 127.0.0.1/32 } tcp dport { ${low}, ${high} } accept`,
        ...operator,
      ]);
      expect(allowances(rules('ci-gw'))).toEqual([
        `ip daddr { 127.0.0.0/8 } tcp dport { ${upstream.port} } accept`,
        'ip daddr { 127.0.0.0/8 } tcp dport { 5432 } accept',
        'ip daddr { 127.0.0.0/8 } tcp dport { 6379 } accept',
        ...operator,
      ]);
      // hunze_egress_apply: false in ci-local: rendered, never loaded, no boot unit.
      expect(() => statSync(join(prefix, 'etc', 'systemd', 'system', 'hunze-egress.service'))).toThrow();
      expect(firstRun.output).not.toMatch(/Load the egress rules[^\n]*\n(changed|ok): /);

      // The GPU host: its rules, and its vLLM backend's unit and environment, rendered by the play that
      // installs and starts nothing.
      const gpu = expectPlaybookSucceeded(
        await playbook([
          '-i',
          'inventories/ci-local',
          'playbooks/render-gpu.yml',
          '-e',
          `@${tmp}/ci-vars.json`,
        ]),
      );
      expect([...gpu.keys()]).toEqual(['ci-vllm']);
      expect(allowances(rules('ci-vllm'))).toEqual(['ip daddr { 127.0.0.0/8 } accept', ...operator]);
      expect(rules('ci-vllm')).toContain('policy drop;');
      const unit = readFileSync(join(prefix, 'etc', 'systemd', 'system', 'vllm-ci-vllm.service'), 'utf8');
      for (const line of [
        'Environment=VLLM_NO_USAGE_STATS=1\n',
        'Environment=DO_NOT_TRACK=1\n',
        'Environment=HF_HUB_OFFLINE=1\n',
        'Environment=TRANSFORMERS_OFFLINE=1\n',
        'Environment=VLLM_MEDIA_URL_ALLOW_REDIRECTS=0\n',
        `vllm serve ${prefix}/srv/hunze/models/${MODEL} \\\n`,
        `--served-model-name ${MODEL} `,
        `--port ${upstream.port} `,
        '--allowed-media-domains media.invalid ',
      ])
        expect(unit).toContain(line);
      expect(unit).not.toContain('--allowed-local-media-path');
      const envFile = join(prefix, 'etc', 'vllm', 'ci-vllm.env');
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(envFile, 'utf8')).toContain(`VLLM_API_KEY='${UPSTREAM_KEY}'`);

      // The gateway's config declares what the reports state: media policy, store networks, the GPU
      // host's egress as this inventory renders it (not loaded here: not default-deny).
      const config = readFileSync(join(prefix, 'etc', 'hunze', 'hunze.yaml'), 'utf8');
      for (const line of [
        'media: {"remoteUrls": "refuse"}',
        'database: {"networks": ["127.0.0.0/8"]}',
        'redis: {"url": "env:REDIS_URL", "networks": ["127.0.0.0/8"]}',
        'egress: { defaultDeny: false, allowed: ["127.0.0.0/8", "192.0.2.123/32", "192.0.2.53/32", "192.0.2.80/32"] }',
      ])
        expect(config).toContain(line);
    },
    PLAYBOOK_MS + 30_000,
  );

  it('deploys a config the installed `hunze config check` accepts with the deployed secrets', async () => {
    const result = await runCommand(join(prefix, 'usr', 'local', 'bin', 'hunze'), ['config', 'check'], {
      env: { PATH: process.env.PATH },
      cwd: REPO_ROOT,
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(0);
    expect(result.output).toContain('valid (1 upstreams, 1 models');
  });

  it('puts HAProxy in front: accepted by haproxy -c, TLS 1.2+ with AEAD ciphers only, x-request-id, unbuffered SSE', async () => {
    const cfg = join(prefix, 'etc', 'haproxy', 'haproxy.cfg');
    expect(
      (await runCommand('haproxy', ['-c', '-q', '-f', cfg], { env: ansible, timeoutMs: 10_000 })).code,
    ).toBe(0);

    expect(await endpoint.handshake({ minVersion: 'TLSv1.3' })).toMatch(/^ok TLSv1\.3 TLS_/);
    expect(
      await endpoint.handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }),
    ).toBe('ok TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    // A CBC cipher and TLS 1.1 are refused.
    expect(await endpoint.handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' })).toBe(
      'refused',
    );
    expect(
      await endpoint.handshake({
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    ).toBe('refused');

    const key = await createKey({ name: 'haproxy-checks' });
    const get = (headers: Record<string, string>) =>
      endpoint.get('/v1/models', { authorization: `Bearer ${key.key}`, ...headers });
    const generated = (await get({})).headers['x-request-id'];
    expect(generated).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await get({ 'x-request-id': 'client-chosen.42' })).headers['x-request-id']).toBe(
      'client-chosen.42',
    );
    expect((await get({ 'x-request-id': 'not valid!' })).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await endpoint.get('/metrics')).status).toBe(404);

    // Chunks pass as they come: the first arrives long before the stream ends.
    upstream.chunkDelayMs = 150;
    try {
      const started = Date.now();
      let firstAt = 0;
      const stream = await endpoint.openai(key.key).chat.completions.create({
        model: 'qwen',
        messages: [{ role: 'user', content: 'one two three four five six' }],
        stream: true,
      });
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content && !firstAt) firstAt = Date.now();
      const endedAt = Date.now();
      expect(firstAt).toBeGreaterThan(0);
      expect(endedAt - firstAt).toBeGreaterThan(600);
      expect(firstAt - started).toBeLessThan(endedAt - started - 600);
    } finally {
      upstream.chunkDelayMs = 0;
    }
  });

  it('writes the usage of both replicas into the one Postgres', async () => {
    const key = await createKey({ name: 'usage-both' });
    const ids: string[] = [];
    for (const port of gatewayPorts) {
      const direct = new OpenAI({ apiKey: key.key, baseURL: `${gatewayUrl(port)}/v1`, maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        const { response } = await direct.chat.completions
          .create({ model: 'qwen', messages: [{ role: 'user', content: 'Hallo' }] })
          .withResponse();
        ids.push(response.headers.get('x-request-id')!);
      }
    }
    await waitFor(
      async () => {
        const rows = await usageRequestIds();
        return ids.every((id) => rows.has(id));
      },
      60_000,
      100,
    );
  });

  it('enforces one rate limit across both replicas through Redis', async () => {
    // 5 a minute admits a burst of 5; a sixth only 6 s (half an interval) after the first. The exact answer
    // below holds for a run that ends within that; a slower one (a loaded machine) is run again, new key.
    const SLACK_MS = 6_000;
    let statuses: number[] = [];
    let elapsedMs = 0;
    let perReplica: Record<string, number> = {};
    for (let attempt = 1; attempt <= 3; attempt++) {
      const key = await createKey({ name: `shared-rpm-${attempt}`, rpm: 5 });
      const exchanges = await LimitExchanges.watch(key.id);
      try {
        const before = await backendServers(haproxySocket(), 'hunze');
        const openai = endpoint.openai(key.key);
        statuses = [];
        const started = Date.now();
        for (let i = 0; i < 8; i++) {
          statuses.push((await chat(openai)).status);
          // Each replica decides from its own counters: the next request waits until every count so far has
          // reached Redis and every replica has taken it in.
          await exchanges.settled(statuses.filter((s) => s === 200).length);
        }
        elapsedMs = Date.now() - started;
        const after = await backendServers(haproxySocket(), 'hunze');
        perReplica = Object.fromEntries(
          gatewayPorts.map((port) => {
            const name = `ci-gw-${port}`;
            return [name, after.get(name)!.total - before.get(name)!.total];
          }),
        );
      } finally {
        await exchanges.close();
      }
      if (elapsedMs < SLACK_MS) break;
    }
    expect(elapsedMs).toBeLessThan(SLACK_MS);
    // Both replicas took part (leastconn alternates between idle servers)...
    for (const count of Object.values(perReplica)) expect(count).toBeGreaterThanOrEqual(2);
    // ...and together they admitted 5, not 5 each.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  });

  it('revokes a key on both replicas within a second', async () => {
    const key = await createKey({ name: 'revoked-everywhere' });
    for (const port of gatewayPorts) expect(await statusOnReplica(port, key.key)).toBe(200);
    const revoked = await endpoint.admin('DELETE', `/keys/${key.id}`);
    const revokedAt = Date.now();
    expect(revoked.status).toBe(200);
    const polls = await Promise.all(
      gatewayPorts.map((port) => pollUntilRefused(() => statusOnReplica(port, key.key), revokedAt, 25)),
    );
    expect(polls.map((p) => lateMisses(p, 1_000))).toEqual([[], []]);
  });

  it(
    'survives a replica killed with SIGKILL mid-load: HAProxy moves new requests, Ansible restarts it, every answered request is metered',
    async () => {
      const key = await createKey({ name: 'load' });
      const openai = endpoint.openai(key.key, { maxRetries: 2 });
      upstream.firstByteDelayMs = 40;
      const [victim, survivor] = gatewayPorts;
      const results: { startedAt: number; status: number; requestId: string | null }[] = [];
      // Counted, not timed: the kill comes after 40 answers, the load ends once 40 requests started after it
      // (bounded in count and time, however fast this machine runs).
      const EACH_SIDE = 40;
      const giveUpAt = Date.now() + 60_000;
      let killedAt = 0;
      let startedAfterKill = 0;
      const worker = async () => {
        while (
          (!killedAt || startedAfterKill < EACH_SIDE) &&
          results.length < 1_500 &&
          Date.now() < giveUpAt
        ) {
          const startedAt = Date.now();
          if (killedAt) startedAfterKill++;
          results.push({ startedAt, ...(await chat(openai)) });
        }
      };
      const killer = (async () => {
        await waitFor(async () => Promise.resolve(results.length >= EACH_SIDE), 60_000, 5);
        process.kill(pidOf(`hunze-${victim}`), 'SIGKILL');
        killedAt = Date.now();
      })();
      try {
        await Promise.all([killer, ...Array.from({ length: 8 }, worker)]);
      } finally {
        upstream.firstByteDelayMs = 0;
      }

      // HAProxy's health checks (every 2 s, down after 2 failures) take the victim out.
      await waitFor(
        async () =>
          /^DOWN/.test((await backendServers(haproxySocket(), 'hunze')).get(`ci-gw-${victim}`)!.status),
        60_000,
        100,
      );
      const servers = await backendServers(haproxySocket(), 'hunze');
      expect(servers.get(`ci-gw-${survivor}`)!.status).toMatch(/^UP/);
      const failed = results.filter((r) => r.status !== 200);
      expect(results.filter((r) => r.startedAt < killedAt).length).toBeGreaterThanOrEqual(EACH_SIDE);
      expect(results.filter((r) => r.startedAt >= killedAt).length).toBeGreaterThanOrEqual(EACH_SIDE);
      expect({ failed: failed.length, survivorLog: failed.length ? logsOf(survivor) : '' }).toEqual({
        failed: 0,
        survivorLog: '',
      });

      // What systemd's Restart=on-failure does in production, Ansible does here: the next run starts the
      // killed replica again (and only that), which replays whatever it had not written yet.
      const healed = expectPlaybookSucceeded(await deployLocal());
      expect(healed.get('ci-gw')!.changed).toBe(1);
      await waitFor(
        async () => {
          const state = await backendServers(haproxySocket(), 'hunze');
          return /^UP/.test(state.get(`ci-gw-${victim}`)!.status);
        },
        60_000,
        100,
      );

      // Every request a client got an answer for must have its row, including those the killed replica
      // answered just before it died: a writer that only queues rows in memory for its next batch loses them.
      const answered = results.map((r) => r.requestId!);
      let missing: string[] = [];
      await waitFor(
        async () => {
          const rows = await usageRequestIds();
          missing = answered.filter((id) => !rows.has(id));
          return missing.length === 0;
        },
        60_000,
        200,
      ).catch(() => undefined);
      const lostBeforeKill = results
        .filter((r) => missing.includes(r.requestId!))
        .map((r) => killedAt - r.startedAt);
      expect({ missing: missing.length, of: answered.length, msBeforeKill: lostBeforeKill }).toEqual({
        missing: 0,
        of: answered.length,
        msBeforeKill: [],
      });
    },
    PLAYBOOK_MS + 120_000,
  );
});
