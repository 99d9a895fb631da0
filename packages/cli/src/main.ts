import { Command, CommanderError, Option } from 'commander';
import { EXIT } from './exit-codes.ts';
import { makeOut, reportError } from './output.ts';
import { agent } from './commands/agent.ts';
import { apply } from './commands/apply.ts';
import { artifactList, artifactPush } from './commands/artifact.ts';
import { demo } from './commands/demo.ts';
import { nodes } from './commands/nodes.ts';
import { policyValidate } from './commands/policy.ts';
import { rolloutCommand, rolloutStart, rolloutStatus, rolloutWatch } from './commands/rollout.ts';
import { runSimulateCommand } from '@failsmall/sim/cli';
import { keysInit } from './commands/keys.ts';
import { serve } from './commands/serve.ts';
import { tokenCreate } from './commands/token.ts';


/**
 * The failsmall command. Every subcommand takes --json; exit codes are in exit-codes.ts
 * and docs/cli.md. Returns the exit code instead of calling process.exit, so tests can
 * run it in process.
 */
export async function main(argv: readonly string[]): Promise<number> {
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
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const json = () => new Option('--json', 'print JSON instead of lines');
  const server = () => new Option('--server <url>', 'control-plane URL (env FAILSMALL_SERVER, default http://127.0.0.1:7070)');
  const token = () => new Option('--token <token>', 'bearer token (env FAILSMALL_TOKEN)');
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
    .option('--log <level>', 'server log level (info, warn, …); off by default')
    .option('--signing-key <file>', 'ed25519 private key that signs every pushed version (env FAILSMALL_SIGNING_KEY; default .failsmall/keys/artifact.key if present)')
    .option('--verify-key <file>', 'public key that signatures sent with a push must verify against (default: the signing key\'s)')
    .addOption(json())
    .action(run((o) => serve(o as never, makeOut(o.json === true))));

  program.command('agent').description('run a node agent: watch desired state, fetch, verify, apply, report')
    .addOption(server()).addOption(token())
    .requiredOption('--node-id <id>', 'this node\'s id')
    .option('--labels <k=v,...>', 'node labels, e.g. region=eu,customer_tier=free')
    .option('--modules <a,b>', 'modules this node runs (default: all)')
    .option('--dir <dir>', 'where artifacts are written (default .failsmall/agent-ID)')
    .option('--reload <module=command>', 'reload command for a module (repeatable); exit 0 = applied', (v: string, prev: string[] = []) => [...prev, v])
    .option('--poll-wait <ms>', 'long-poll wait')
    .option('--metrics-interval <ms>', 'metrics push interval')
    .option('--synthetic-traffic <rps>', 'record synthetic requests (demos)')
    .option('--synthetic-error-rate <p>', 'error probability of synthetic requests')
    .option('--public-key <file>', 'the artifact signing key\'s public half (env FAILSMALL_PUBLIC_KEY; default .failsmall/keys/artifact.pub if present)')
    .option('--allow-unsigned', 'accept unsigned versions when no public key is given (development only)')
    .option('--reload-url <module=url>', 'POST {artifact, version, file} to a local URL to reload a module (repeatable); 2xx = applied', (v: string, prev: string[] = []) => [...prev, v])
    .option('--validator <artifact=command>', 'a validator command run on this node before apply (repeatable); gets the file on stdin and as FAILSMALL_FILE; exit 0 = valid', (v: string, prev: string[] = []) => [...prev, v])
    .option('--stop <module=command>', 'command that stops a module\'s traffic when it fails closed (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--metrics-listen <host:port>', 'serve this agent\'s /metrics for Prometheus (e.g. 127.0.0.1:9464)')
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

  const artifact = program.command('artifact').description('artifact versions');
  artifact.command('push').argument('<name>').argument('<file>').description('push a version (content-addressed, checked against the artifact\'s limits)')
    .addOption(server()).addOption(token())
    .option('--version <label>', 'version label (default: the first 12 hex of its sha256)')
    .option('--force', 'accept a version that breaks the declared limits (tests and drills only)')
    .option('--sign <keyfile>', 'sign the version here with this ed25519 private key (else the server signs it with its own)')
    .addOption(json())
    .action(run((o, name, file) => artifactPush(name as string, file as string, o, makeOut(o.json === true))));
  artifact.command('list').description('declared artifacts and their current versions').addOption(server()).addOption(json())
    .action(run((o) => artifactList(o, makeOut(o.json === true))));

  const rollout = program.command('rollout').description('rollouts');
  rollout.command('start').argument('<artifact>').argument('<version>').description('start a rollout')
    .addOption(server()).addOption(token()).option('--policy <name>', 'policy (default: the artifact\'s)')
    .option('--watch', 'follow it until it ends').addOption(json())
    .action(run((o, a, v) => rolloutStart(a as string, v as string, o, makeOut(o.json === true))));
  rollout.command('status').argument('[id]').description('one rollout with its verdicts, or the recent ones')
    .addOption(server()).addOption(json())
    .action(run((o, id) => rolloutStatus(id, o, makeOut(o.json === true))));
  rollout.command('watch').argument('<id>').description('follow a rollout live until it ends')
    .addOption(server()).addOption(json())
    .action(run((o, id) => rolloutWatch(id as string, o, makeOut(o.json === true))));
  for (const type of ['pause', 'resume', 'promote', 'abort'] as const) {
    rollout.command(type).argument('<id>').description(`${type} a rollout`)
      .addOption(server()).addOption(token()).option('--reason <text>', 'why (kept in the event log)').addOption(json())
      .action(run((o, id) => rolloutCommand(type, id as string, o, makeOut(o.json === true))));
  }

  program.command('nodes').description('registered nodes and what they serve').addOption(server()).addOption(json())
    .action(run((o) => nodes(o, makeOut(o.json === true))));

  const tokenCmd = program.command('token').description('API tokens');
  tokenCmd.command('create').description('create a token (admin only)')
    .addOption(server()).addOption(token())
    .requiredOption('--name <name>', 'a name for the log').addOption(new Option('--role <role>', 'agent or admin').choices(['agent', 'admin']).makeOptionMandatory())
    .addOption(json())
    .action(run((o) => tokenCreate(o as never, makeOut(o.json === true))));

  program.command('simulate').argument('<scenario>').description('replay a scenario on a synthetic fleet in virtual time: global push vs staged vs staged + safe loader')
    .option('--seed <n>', 'random seed (default: the scenario\'s)')
    .option('--nodes <n>', 'fleet size (default: the scenario\'s)')
    .addOption(json())
    .action(run((o, file) => runSimulateCommand(file as string, { ...(o.json === true ? { json: true } : {}), ...(typeof o.seed === 'string' ? { seed: o.seed } : {}), ...(typeof o.nodes === 'string' ? { nodes: o.nodes } : {}) })));

  const keys = program.command('keys').description('signing keys');
  keys.command('init').description('create an ed25519 key pair for signing artifact versions')
    .option('--dir <dir>', 'where to write NAME.key and NAME.pub', '.failsmall/keys')
    .option('--name <name>', 'key name', 'artifact')
    .option('--force', 'replace an existing key')
    .addOption(json())
    .action(run((o) => keysInit(o as never, makeOut(o.json === true))));

  program.command('demo').description('the 18 November 2025 story, contained: a good rollout completes, a bad one is rolled back at the canary')
    .option('--once', 'run the story and exit: 0 when it went as it should')
    .option('--nodes <n>', 'fleet size', '100')
    .option('--port <port>', 'control-plane port (default: a free one)')
    .option('--keep', 'keep the demo\'s store and agent files under .failsmall/')
    .addOption(json())
    .action(run((o) => demo(o as never, makeOut(o.json === true))));

  return program;
}
