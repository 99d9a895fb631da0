import { Command, CommanderError, Option } from 'commander';
import { EXIT } from './exit-codes.ts';
import { endQuietlyOnClosedPipe } from './epipe.ts';
import { makeOut, reportError } from './output.ts';
import { defineAgentOptions } from './agent-options.ts';
import { cliVersion } from './version.ts';

// Each command's module is imported when that command runs: an agent on a fleet node must not
// load the control plane's database drivers or the simulator (see docs/benchmarks.md, agent RSS).
const agent = async (...a: Parameters<typeof import('./commands/agent.ts').agent>) => (await import('./commands/agent.ts')).agent(...a);
const auditDeps = async (...a: Parameters<typeof import('./commands/audit.ts').auditDeps>) => (await import('./commands/audit.ts')).auditDeps(...a);
const apply = async (...a: Parameters<typeof import('./commands/apply.ts').apply>) => (await import('./commands/apply.ts')).apply(...a);
const artifactList = async (...a: Parameters<typeof import('./commands/artifact.ts').artifactList>) => (await import('./commands/artifact.ts')).artifactList(...a);
const artifactPush = async (...a: Parameters<typeof import('./commands/artifact.ts').artifactPush>) => (await import('./commands/artifact.ts')).artifactPush(...a);
const artifactSign = async (...a: Parameters<typeof import('./commands/artifact.ts').artifactSign>) => (await import('./commands/artifact.ts')).artifactSign(...a);
const artifactSignDefault = async (...a: Parameters<typeof import('./commands/artifact.ts').artifactSignDefault>) => (await import('./commands/artifact.ts')).artifactSignDefault(...a);
const breakglassCommands = async () => import('./commands/breakglass.ts');
const demo = async (...a: Parameters<typeof import('./commands/demo.ts').demo>) => (await import('./commands/demo.ts')).demo(...a);
const nodes = async (...a: Parameters<typeof import('./commands/nodes.ts').nodes>) => (await import('./commands/nodes.ts')).nodes(...a);
const nodesRelease = async (...a: Parameters<typeof import('./commands/nodes.ts').nodesRelease>) => (await import('./commands/nodes.ts')).nodesRelease(...a);
const policyValidate = async (...a: Parameters<typeof import('./commands/policy.ts').policyValidate>) => (await import('./commands/policy.ts')).policyValidate(...a);
const rolloutCommands = async () => import('./commands/rollout.ts');
const runSimulateCommand = async (...a: Parameters<typeof import('@failsmall/sim/cli').runSimulateCommand>) => (await import('@failsmall/sim/cli')).runSimulateCommand(...a);
const keysInit = async (...a: Parameters<typeof import('./commands/keys.ts').keysInit>) => (await import('./commands/keys.ts')).keysInit(...a);
const serve = async (...a: Parameters<typeof import('./commands/serve.ts').serve>) => (await import('./commands/serve.ts')).serve(...a);
const tokenCreate = async (...a: Parameters<typeof import('./commands/token.ts').tokenCreate>) => (await import('./commands/token.ts')).tokenCreate(...a);
const tokenList = async (...a: Parameters<typeof import('./commands/token.ts').tokenList>) => (await import('./commands/token.ts')).tokenList(...a);
const tokenRevoke = async (...a: Parameters<typeof import('./commands/token.ts').tokenRevoke>) => (await import('./commands/token.ts')).tokenRevoke(...a);
const nodesApprove = async (...a: Parameters<typeof import('./commands/nodes.ts').nodesApprove>) => (await import('./commands/nodes.ts')).nodesApprove(...a);
const triageCommand = async (...a: Parameters<typeof import('./commands/triage.ts').triageCommand>) => (await import('./commands/triage.ts')).triageCommand(...a);


/**
 * The failsmall command. Every subcommand takes --json; exit codes are in exit-codes.ts
 * and docs/cli.md. Returns the exit code instead of calling process.exit, so tests can
 * run it in process.
 */
export async function main(argv: readonly string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  const result = { code: EXIT.OK as number };
  const program = buildProgram(result);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(err, argv.includes('--json'));
  }
  return result.code;
}

/** The command tree; each action stores its exit code in `result`. */
export function buildProgram(result: { code: number }): Command {
  const program = new Command('failsmall')
    .description('make every production change fail small: staged, health-gated rollouts with automatic rollback')
    .version(cliVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const json = () => new Option('--json', 'print JSON instead of lines');
  const server = () => new Option('--server <url>', 'control-plane URL (env FAILSMALL_SERVER, default http://127.0.0.1:7070)');
  const token = () => new Option('--token <token>', 'bearer token; visible in ps, so prefer env FAILSMALL_TOKEN or a 0600 file named by FAILSMALL_TOKEN_FILE');
  const run = (fn: (opts: Record<string, unknown>, ...args: string[]) => Promise<number>) =>
    async (...args: unknown[]) => {
      // commander passes the positional args, then the options object, then the command
      const cmd = args[args.length - 1] as Command;
      const opts = cmd.optsWithGlobals() as Record<string, unknown>;
      const positional = args.slice(0, -2).map((a) => a as string);
      try {
        result.code = await fn(opts, ...positional);
      } catch (err) {
        result.code = reportError(err, opts.json === true);
      }
    };

  program.command('serve').description('run the control plane (HTTP API, controller, store)')
    .option('--store <url>', 'sqlite:PATH, a file path, or postgres://… (env FAILSMALL_STORE)', undefined)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 picks one)', '7070')
    .option('--tick-ms <ms>', 'controller tick')
    .option('--lease-ms <ms>', 'how long this replica holds a rollout without renewing; a dead replica\'s rollouts move again within it', '10000')
    .option('--replica <name>', 'this replica\'s name among those sharing one store (default: host/pid/random)')
    // The levels of the server's LOG_LEVELS, written out so that --help needs no server code loaded.
    .addOption(new Option('--log <level>', 'log level of the JSON lines on stderr (pretty on a terminal); silent for none').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--admin-token-file <file>', 'on a fresh store, also write the first admin token here, mode 0600 (- for nowhere)', '.failsmall/admin.token')
    .option('--signing-key <file>', 'ed25519 private key that signs every pushed version (env FAILSMALL_SIGNING_KEY; default .failsmall/keys/artifact.key if present)')
    .option('--verify-key <file>', 'public key that signatures sent with a push must verify against (default: the signing key\'s); alone, without --signing-key, unsigned pushes are refused')
    .option('--validator <name=command>', 'a validator command run at push for artifact NAME (repeatable); declarations may name only these', (v: string, p: string[] = []) => [...p, v])
    .option('--breakglass-public-key <file>', 'the break-glass key\'s public half: break-glass commands nodes report are stored only if they verify (env FAILSMALL_BREAKGLASS_PUBLIC_KEY; default .failsmall/keys/breakglass.pub if present; never the private key)')
    .option('--prometheus-url <url>', 'Prometheus for gates with source: prometheus (env FAILSMALL_PROMETHEUS_URL)')
    .option('--prometheus-token <token>', 'bearer token for Prometheus (env FAILSMALL_PROMETHEUS_TOKEN)')
    .option('--prometheus-timeout <ms>', 'per-query timeout', '5000')
    .option('--notify-webhook <url>', 'POST signed JSON on incident open, triage, rollback, break-glass and resolve (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--notify-secret <secret>', 'secret signing --notify-webhook per Standard Webhooks: whsec_<base64>, or any 16+ characters (env FAILSMALL_NOTIFY_SECRET)')
    .option('--notify-slack <url>', 'a Slack incoming-webhook URL for the same notices (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--statuspage <name=url>', 'poll a vendor\'s Statuspage (/api/v2/summary.json) for triage (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--statuspage-interval <ms>', 'how often status pages are polled', '60000')
    .addOption(new Option('--enrol <mode>', 'approval: the fleet token registers nodes as pending (a join token or an admin admits them); open: admit every registration (labs only)').choices(['approval', 'open']).default('approval'))
    .addOption(json())
    .action(run((o) => serve(o as never, makeOut(o.json === true))));

  defineAgentOptions(program.command('agent'))
    .addOption(json())
    .action(run((o) => agent(o as never)));

  program.command('apply').argument('<file>').description('apply modules, artifacts and policies (idempotent, versioned)')
    .addOption(server()).addOption(token()).option('--dry-run', 'parse and lint on the server, change nothing').addOption(json())
    .action(run((o, file) => apply(file as string, o, makeOut(o.json === true))));

  const policy = program.command('policy').description('policies');
  policy.command('validate').argument('<file>').description('parse and lint a declarations or policy file, locally')
    .option('--with <file>', 'also load declarations from this file (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(json())
    .action(run((o, file) => policyValidate(file as string, (o.with as string[] | undefined) ?? [], makeOut(o.json === true))));

  const audit = program.command('audit').description('find what would turn one failure into an outage nobody can recover from, before an incident does');
  audit.command('deps').argument('<graph>').description('dependency cycles, break-glass tools that depend on or share fate with what they recover, fail-closed modules, soft edges without a fallback (exit 0 clean, 1 findings, 2 bad input)')
    .option('--with <file>', 'also review the modules of this declarations file (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--format <format>', 'a table, or a diagram with the findings highlighted').choices(['table', 'mermaid', 'dot']).default('table'))
    .addOption(json())
    .action(run((o, file) => auditDeps(file as string, { with: (o.with as string[] | undefined) ?? [], format: o.format === 'mermaid' || o.format === 'dot' ? o.format : 'table' }, makeOut(o.json === true))));
  const auditLog = async () => import('./commands/audit-log.ts');
  audit.command('verify').description('check the event log\'s hash chain, straight from the store or a copy of it, and name the first broken link (exit 0 intact, 1 broken, 2 bad input, 3 store unreadable)')
    .option('--store <url>', 'sqlite:PATH, a file path, or postgres://… (env FAILSMALL_STORE, default .failsmall/failsmall.db); opened read-only')
    .option('--checkpoint <file>', 'a signed checkpoint (audit checkpoint) the chain must still hold (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--pub <file>', 'the public key the checkpoints are signed with')
    .addOption(json())
    .action(run(async (o) => (await auditLog()).auditVerify(o as never, makeOut(o.json === true))));
  audit.command('checkpoint').description('verify the event log, then print its head signed with an ed25519 key: keep it away from the control plane, give it to audit verify --checkpoint')
    .requiredOption('--key <file>', 'the ed25519 private key that signs checkpoints (failsmall keys init --name audit)')
    .option('--store <url>', 'sqlite:PATH, a file path, or postgres://… (env FAILSMALL_STORE, default .failsmall/failsmall.db); opened read-only')
    .option('--out <file>', 'write the checkpoint to FILE instead of stdout')
    .addOption(json())
    .action(run(async (o) => (await auditLog()).auditCheckpoint(o as never, makeOut(o.json === true))));

  const artifact = program.command('artifact').description('artifact versions');
  artifact.command('push').argument('<name>').argument('<file>').description('push a version (content-addressed, checked against the artifact\'s limits)')
    .addOption(server()).addOption(token())
    .option('--version <label>', 'version label (default: the first 12 hex of its sha256)')
    .option('--force', 'accept a version that breaks the declared limits (tests and drills only)')
    .option('--sign <keyfile>', 'sign the version here with this ed25519 private key (else the server signs it with its own)')
    .option('--signature <sig>', 'a signature made elsewhere with failsmall artifact sign (needs --version)')
    .option('--manifest <file>', 'what this version depends on (YAML or JSON, depends_on: edges), checked by the dependency gate at rollout start')
    .addOption(json())
    .action(run((o, name, file) => artifactPush(name as string, file as string, o, makeOut(o.json === true))));
  artifact.command('sign').argument('<name>').argument('<file>').description('print the signature of a version, made here with the artifact private key (offline signing; no server needed)')
    .option('--version <label>', 'the version label the signature covers')
    .requiredOption('--key <keyfile>', 'the artifact private key (failsmall keys init)')
    .addOption(json())
    .action(run((o, name, file) => artifactSign(name as string, file as string, o as never, makeOut(o.json === true))));
  artifact.command('sign-default').argument('<module>').argument('<file>').description('print safe_default_signature for a module\'s safe default (FILE holds its exact text)')
    .requiredOption('--key <keyfile>', 'the artifact private key (failsmall keys init)')
    .addOption(json())
    .action(run((o, module, file) => artifactSignDefault(module as string, file as string, o as never, makeOut(o.json === true))));
  artifact.command('list').description('declared artifacts and their current versions').addOption(server()).addOption(token()).addOption(json())
    .action(run((o) => artifactList(o, makeOut(o.json === true))));
  artifact.command('versions').argument('<name>').description('every pushed version, newest first: size, sha256, signature, how many nodes serve it, which is current')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run(async (o, name) => (await import('./commands/artifact-versions.ts')).artifactVersions(name as string, o, makeOut(o.json === true))));

  const rollout = program.command('rollout').description('rollouts');
  rollout.command('start').argument('<artifact>').argument('<version>').description('start a rollout')
    .addOption(server()).addOption(token()).option('--policy <name>', 'policy (default: the artifact\'s)')
    .option('--override-dependency-gate', 'start although the version adds a hard dependency, using someone else\'s approval on record (rollout approve); recorded in the event log')
    .option('--touches-dependency <name>', 'a dependency this change touches beyond its module, e.g. a database (repeatable; added to the artifact\'s touches:)', (v: string, p: string[] = []) => [...p, v])
    .option('--touches-service <name>', 'a service this change touches (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--touches-region <name>', 'a region this change touches (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--reason <text>', 'why (kept in the event log)')
    .option('--watch', 'follow it until it ends').addOption(json())
    .action(run(async (o, a, v) => (await rolloutCommands()).rolloutStart(a as string, v as string, o, makeOut(o.json === true))));
  const again = async () => import('./commands/rollout-again.ts');
  rollout.command('retry').argument('<id>').description('start a rolled-back or aborted rollout again: same artifact, version and policy')
    .addOption(server()).addOption(token()).option('--reason <text>', 'why (kept in the event log, after "retry of ID")')
    .option('--watch', 'follow it until it ends').addOption(json())
    .action(run(async (o, id) => (await again()).rolloutRetry(id as string, o, makeOut(o.json === true))));
  rollout.command('undo').argument('<target>', 'an artifact (its last completed rollout) or a rollout id').description('start a rollout back to the version before the last completed one, under its policy: staged and gated like any other')
    .addOption(server()).addOption(token()).option('--reason <text>', 'why (kept in the event log, after "undo of ID")')
    .option('--watch', 'follow it until it ends').addOption(json())
    .action(run(async (o, target) => (await again()).rolloutUndo(target as string, o, makeOut(o.json === true))));
  rollout.command('list').description('active and recent rollouts, newest first: state, stage, age')
    .addOption(server()).addOption(token()).option('--artifact <name>', 'only this artifact')
    .addOption(new Option('--state <state>', 'only rollouts in this state (active: running, paused or rolling back)').choices(['active', 'running', 'paused', 'rolling_back', 'completed', 'rolled_back', 'aborted']))
    .option('--limit <n>', 'at most N rollouts (1 to 1000)', '20').addOption(json())
    .action(run(async (o) => (await import('./commands/rollout-list.ts')).rolloutList(o, makeOut(o.json === true))));
  rollout.command('approve').argument('<artifact>').argument('<version>').description('approve, as the owner of this token, one rollout of VERSION past the dependency gate\'s findings (four eyes: someone else starts it)')
    .addOption(server()).addOption(token()).requiredOption('--reason <text>', 'why the new dependency is acceptable (goes to the event log)')
    .option('--expires <duration>', 'how long the approval waits to be used (at most 7d)', '24h').addOption(json())
    .action(run(async (o, a, v) => (await rolloutCommands()).rolloutApprove(a as string, v as string, o, makeOut(o.json === true))));
  rollout.command('approvals').description('dependency-gate approvals on record, used or not')
    .addOption(server()).addOption(token()).option('--artifact <name>', 'only this artifact').addOption(json())
    .action(run(async (o) => (await rolloutCommands()).rolloutApprovals(o, makeOut(o.json === true))));
  rollout.command('status').argument('[id]').description('one rollout with its verdicts, or the recent ones')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run(async (o, id) => (await rolloutCommands()).rolloutStatus(id, o, makeOut(o.json === true))));
  rollout.command('watch').argument('<id>').description('follow a rollout live until it ends')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run(async (o, id) => (await rolloutCommands()).rolloutWatch(id as string, o, makeOut(o.json === true))));
  for (const type of ['pause', 'resume', 'promote', 'abort'] as const) {
    rollout.command(type).argument('<id>').description(`${type} a rollout`)
      .addOption(server()).addOption(token()).option('--reason <text>', 'why (kept in the event log)').addOption(json())
      .action(run(async (o, id) => (await rolloutCommands()).rolloutCommand(type, id as string, o, makeOut(o.json === true))));
  }

  program.command('events').description('the event log, newest last, one event a line (--json: one JSON event a line)')
    .addOption(server()).addOption(token())
    .option('--rollout <id>', 'only this rollout\'s events')
    .option('--type <prefix>', 'only types that start with this, e.g. rollout. or gates.evaluated')
    .option('--since <duration>', 'only the last DURATION, e.g. 30m, 2h')
    .option('--limit <n>', 'the newest N (1 to 5000)', '50')
    .option('--follow', 'keep printing new events as they are written, until interrupted')
    .addOption(json())
    .action(run(async (o) => (await import('./commands/events.ts')).events(o, makeOut(o.json === true))));

  const incident = program.command('incident').description('incidents: opened by failed gates, alerts or by hand');
  const incidentCommands = async () => import('./commands/incident.ts');
  incident.command('list').description('recent incidents').addOption(server()).addOption(token()).option('--open', 'only those not resolved').addOption(json())
    .action(run(async (o) => (await incidentCommands()).incidentList(o, makeOut(o.json === true))));
  incident.command('show').argument('<id>').description('an incident and its timeline (UTC)').addOption(server()).addOption(token()).addOption(json())
    .action(run(async (o, id) => (await incidentCommands()).incidentShow(id as string, o, makeOut(o.json === true))));
  incident.command('open').description('open an incident by hand').addOption(server()).addOption(token())
    .requiredOption('--title <text>', 'what is wrong').addOption(new Option('--severity <sev>', 'sev1 (worst) to sev4').choices(['sev1', 'sev2', 'sev3', 'sev4']))
    .option('--note <text>', 'a first note')
    .option('--module <name>', 'a module it is about (repeatable): related alerts, rollouts and changes join it', (v: string, p: string[] = []) => [...p, v])
    .option('--artifact <name>', 'an artifact it is about (repeatable)', (v: string, p: string[] = []) => [...p, v]).addOption(json())
    .action(run(async (o) => (await incidentCommands()).incidentOpen(o as never, makeOut(o.json === true))));
  incident.command('note').argument('<id>').argument('<text>').description('add a note to the timeline').addOption(server()).addOption(token()).addOption(json())
    .action(run(async (o, id, text) => (await incidentCommands()).incidentNote(id as string, text as string, o, makeOut(o.json === true))));
  incident.command('status').argument('<id>').argument('<status>', 'open, investigating, mitigated or resolved').description('change the status (resolved closes it)')
    .addOption(server()).addOption(token()).option('--note <text>', 'why').addOption(json())
    .action(run(async (o, id, status) => (await incidentCommands()).incidentStatus(id as string, status as string, o, makeOut(o.json === true))));

  program.command('postmortem').argument('<incident>').description('the postmortem draft of an incident, from what failsmall recorded (Markdown, or JSON)')
    .addOption(server()).addOption(token()).addOption(new Option('--format <format>', 'md or json').choices(['md', 'json']).default('md'))
    .option('--public', 'the public-facing variant, without internal names').option('--out <file>', 'write it to FILE').addOption(json())
    .action(run(async (o, id) => (await import('./commands/postmortem.ts')).postmortem(id as string, o as never, makeOut(o.json === true))));

  program.command('health').description('whether the control plane answers (exit 0), for scripts: --wait keeps asking until it does (exit 3 if it never does)')
    .addOption(server()).option('--wait <duration>', 'keep asking for this long, e.g. 30s').addOption(json())
    .action(run(async (o) => (await import('./commands/health.ts')).health(o, makeOut(o.json === true))));

  const nodesCmd = program.command('nodes').description('registered nodes and what they serve').addOption(server()).addOption(token())
    .option('--wait-for <n>', 'first wait until N nodes are live (admitted, heard from in the last 30 s); exit 1 if they are not in time')
    .option('--timeout <duration>', 'how long --wait-for waits', '60s').addOption(json())
    .action(run((o) => nodes(o, makeOut(o.json === true))));
  nodesCmd.command('release').argument('<id>').description('forget a node\'s own credential (a rebuilt node that lost it): its next registration enrols again')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run((o, id) => nodesRelease(id as string, o, makeOut(o.json === true))));
  nodesCmd.command('approve').argument('<id...>').description('admit nodes the fleet token registered (pending): from now on they count in rollouts and gates')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run((o, ids) => nodesApprove(ids as unknown as string[], o, makeOut(o.json === true))));

  const tokenCmd = program.command('token').description('API tokens');
  tokenCmd.command('create').description('create a token (admin only)')
    .addOption(server()).addOption(token())
    .requiredOption('--name <name>', 'a name for the log (for admins: the person)')
    .addOption(new Option('--role <role>', 'viewer, deployer, approver, admin (people); ingest, agent (fleet token: nodes wait for approval), join (admits nodes); docs/security.md').choices(['viewer', 'deployer', 'approver', 'ingest', 'agent', 'join', 'admin']).makeOptionMandatory())
    .option('--expires <duration>', 'stop working after this long (e.g. 24h, 30d)')
    .option('--uses <n>', 'join tokens: admit at most N nodes')
    .option('--existing <file>', 're-enrol the token in FILE (a rebuilt control plane: the fleet reconnects as it is)')
    .addOption(json())
    .action(run((o) => tokenCreate(o as never, makeOut(o.json === true))));
  tokenCmd.command('list').description('every token: name, role, who made it, whether it is live, expired or revoked (admin only)')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run((o) => tokenList(o, makeOut(o.json === true))));
  tokenCmd.command('revoke').argument('<name>').description('revoke every live token of this name, at once (admin only)')
    .addOption(server()).addOption(token()).addOption(json())
    .action(run((o, name) => tokenRevoke(name as string, o, makeOut(o.json === true))));

  program.command('simulate').argument('<scenario>').description('replay a scenario on a synthetic fleet in virtual time: global push vs staged vs staged + safe loader')
    .option('--seed <n>', 'random seed (default: the scenario\'s)')
    .option('--nodes <n>', 'fleet size (default: the scenario\'s)')
    .addOption(json())
    .action(run((o, file) => runSimulateCommand(file as string, { ...(o.json === true ? { json: true } : {}), ...(typeof o.seed === 'string' ? { seed: o.seed } : {}), ...(typeof o.nodes === 'string' ? { nodes: o.nodes } : {}) })));

  program.command('triage').argument('[incident]', 'an incident id (failsmall incident list), triaged now by the control plane').description('rank the causes of an incident (ddos, change-regression, internal-degradation, third-party-failure) with evidence and a first action (exit 0 correct, 1 wrong against a scenario\'s label, 2 bad input)')
    .option('--scenario <file>', 'a labelled triage scenario (examples/triage/*.yaml), replayed in virtual time')
    .option('--seed <n>', 'random seed (default: the scenario\'s)')
    .option('--at <duration>', 'triage at this time after the scenario start, e.g. 25m (default: its end)')
    .addOption(server()).addOption(token())
    .addOption(json())
    .action(run((o, incident) => triageCommand(incident, { ...(typeof o.scenario === 'string' ? { scenario: o.scenario } : {}), ...(typeof o.seed === 'string' ? { seed: o.seed } : {}), ...(typeof o.at === 'string' ? { at: o.at } : {}), ...(typeof o.server === 'string' ? { server: o.server } : {}), ...(typeof o.token === 'string' ? { token: o.token } : {}) }, makeOut(o.json === true))));

  const keys = program.command('keys').description('signing keys');
  keys.command('init').description('create an ed25519 key pair for signing artifact versions')
    .option('--dir <dir>', 'where to write NAME.key and NAME.pub', '.failsmall/keys')
    .option('--name <name>', 'key name', 'artifact')
    .option('--force', 'replace an existing key')
    .addOption(json())
    .action(run((o) => keysInit(o as never, makeOut(o.json === true))));

  const bg = program.command('breakglass').description('emergency commands straight to the agents, signed with the break-glass key: works with the control plane down');
  const bgOptions = (c: Command, fanout = true) => {
    c.option('--inventory <file>', 'nodes and their agents\' admin addresses (YAML; docs/breakglass.md)')
      .option('--nodes <a,b>', 'only these nodes of the inventory')
      .option('--where <k=v,...>', 'only nodes of the inventory with these labels')
      .addOption(json());
    if (fanout) c.option('--concurrency <n>', 'nodes contacted at once', '32').option('--timeout <duration>', 'per node', '10s');
    return c;
  };
  const signed = (c: Command, defaultReason?: string) => (defaultReason
    ? bgOptions(c).option('--reason <text>', 'why: it goes to every node\'s log', defaultReason)
    : bgOptions(c).requiredOption('--reason <text>', 'why: it goes to every node\'s log and to the postmortem'))
    .option('--operator <name>', 'who (env FAILSMALL_OPERATOR; default your user name)')
    .option('--key <file>', 'the break-glass private key', '.failsmall/keys/breakglass.key')
    .option('--expires <duration>', 'agents refuse the command after this (at most 24h)', '15m')
    .option('--via-file <dir>', 'write the signed command to DIR instead, for agents that watch --breakglass-dir');
  signed(bg.command('pin <artifact> <version>').description('serve VERSION of ARTIFACT and hold it there, whatever the control plane says'))
    .option('--content <file>', 'the version\'s bytes, when the nodes do not have it')
    .option('--artifact-signature <sig>', 'the artifact key\'s signature of --content (as the push stored it)')
    .option('--artifact-key <file>', 'or sign --content now with the artifact private key')
    .action(run(async (o, artifact, version) => (await breakglassCommands()).breakglass('pin', artifact as string, version, o as never, makeOut(o.json === true))));
  signed(bg.command('lkg <artifact>').description('return ARTIFACT to the version each node served before the current one, and hold it there'))
    .action(run(async (o, artifact) => (await breakglassCommands()).breakglass('lkg', artifact as string, undefined, o as never, makeOut(o.json === true))));
  signed(bg.command('kill-switch <module>').description('put MODULE (or one artifact) on its declared fail-open safe default, and hold it there'))
    .action(run(async (o, target) => (await breakglassCommands()).breakglass('kill-switch', target as string, undefined, o as never, makeOut(o.json === true))));
  signed(bg.command('unpin <artifact>').description('lift a pin: the node follows the control plane again'))
    .action(run(async (o, artifact) => (await breakglassCommands()).breakglass('unpin', artifact as string, undefined, o as never, makeOut(o.json === true))));
  signed(bg.command('drill <target>').description('prove the path before the incident: each node verifies a signed command and says whether lkg and kill-switch would work for TARGET (an artifact or module); nothing changes'), 'break-glass drill')
    .action(run(async (o, target) => (await breakglassCommands()).breakglass('drill', target as string, undefined, o as never, makeOut(o.json === true))));
  bgOptions(bg.command('status').description('each node\'s pins and what it serves, asked of its agent directly'))
    .action(run(async (o) => (await breakglassCommands()).breakglassStatus(o as never, makeOut(o.json === true))));
  bg.command('log').description('the break-glass commands the nodes reported to the control plane, newest first, and whether it verified each against the break-glass public key')
    .addOption(server()).addOption(token())
    .option('--node <id>', 'only this node\'s records')
    .option('--limit <n>', 'at most N records (1 to 5000)', '100')
    .addOption(json())
    .action(run(async (o) => (await breakglassCommands()).breakglassLog(o as never, makeOut(o.json === true))));

  program.command('demo').description('the 18 November 2025 story, contained: a good rollout completes, a bad one is rolled back at the canary')
    .option('--once', 'run the story and exit: 0 when it went as it should')
    .option('--nodes <n>', 'fleet size', '100')
    .option('--port <port>', 'control-plane port (default: a free one)')
    .option('--keep', 'keep the demo\'s store and agent files under .failsmall/')
    .addOption(json())
    .action(run((o) => demo(o as never, makeOut(o.json === true))));

  // Only the program's own options (--version) must come before the command: `artifact push`
  // has a --version of its own. Set last, so the commands above do not inherit it.
  program.enablePositionalOptions();
  return program;
}
