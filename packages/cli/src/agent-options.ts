import { Option, type Command } from 'commander';

const repeat = (v: string, prev: string[] = []) => [...prev, v];

/** The agent's flags, shared by `failsmall agent` and the lean `failsmall-agent` binary. */
export function defineAgentOptions(cmd: Command): Command {
  return cmd.description('run a node agent: watch desired state, fetch, verify, validate, apply, keep the last known-good, report')
    .addOption(new Option('--server <url>', 'control-plane URL (env FAILSMALL_SERVER, default http://127.0.0.1:7070)'))
    .addOption(new Option('--token <token>', 'join or agent token (env FAILSMALL_AGENT_TOKEN or FAILSMALL_AGENT_TOKEN_FILE; else FAILSMALL_TOKEN): a person\'s token is refused'))
    .requiredOption('--node-id <id>', 'this node\'s id')
    .option('--labels <k=v,...>', 'node labels, e.g. region=eu,customer_tier=free')
    .option('--modules <a,b>', 'modules this node runs (default: all)')
    .option('--dir <dir>', 'where artifacts are written (default .failsmall/agent-ID)')
    .option('--reload <module=command>', 'reload command for a module (repeatable); exit 0 = applied', repeat)
    .option('--poll-wait <ms>', 'long-poll wait')
    .option('--metrics-interval <ms>', 'metrics push interval')
    .option('--synthetic-traffic <rps>', 'record synthetic requests (demos)')
    .option('--synthetic-error-rate <p>', 'error probability of synthetic requests')
    .option('--public-key <file>', 'the artifact signing key\'s public half (env FAILSMALL_PUBLIC_KEY; default .failsmall/keys/artifact.pub if present)')
    .option('--allow-unsigned', 'accept unsigned versions when no public key is given (development only)')
    .option('--reload-url <module=url>', 'POST {artifact, version, file} to a local URL to reload a module (repeatable); 2xx = applied', repeat)
    .option('--validator <artifact=command>', 'a validator command run on this node before apply (repeatable); gets the file on stdin and as FAILSMALL_FILE; exit 0 = valid', repeat)
    .option('--safe-default <module=file>', 'the content a fail-open module falls back to, from a local file (wins over the declaration\'s, which is unsigned)', repeat)
    .option('--stop <module=command>', 'command that stops a module\'s traffic when it fails closed (repeatable)', repeat)
    .option('--scrape <module=url>', 'read a module\'s request metrics from its application\'s Prometheus endpoint (repeatable), e.g. proxy=http://127.0.0.1:8080/metrics', repeat)
    .option('--scrape-map <file>', 'YAML: which of the application\'s counters and histogram are each module\'s requests, errors and latency (default http_requests_total, its 5xx series, http_request_duration_seconds)')
    .option('--metrics-listen <host:port>', 'serve this agent\'s /metrics for Prometheus (e.g. 127.0.0.1:9464)')
    .option('--breakglass-public-key <file>', 'the break-glass key\'s public half: turns on the admin endpoint (env FAILSMALL_BREAKGLASS_PUBLIC_KEY; default .failsmall/keys/breakglass.pub if present)')
    .option('--admin-listen <addr>', 'break-glass admin endpoint: host:port or unix:/path (default unix:DIR/.breakglass/admin.sock)')
    .option('--admin-allow <cidr,...>', 'source networks allowed to reach a TCP admin endpoint (default loopback only)')
    .option('--breakglass-dir <dir>', 'also carry out signed command files dropped in this directory (failsmall breakglass --via-file)');
}
