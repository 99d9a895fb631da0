import { Command, CommanderError } from 'commander';
import { defineAgentOptions } from './agent-options.ts';
import { agent } from './commands/agent.ts';
import { endQuietlyOnClosedPipe } from './epipe.ts';
import { EXIT } from './exit-codes.ts';
import { reportError } from './output.ts';

/**
 * The lean `failsmall-agent` binary for fleet nodes: only the agent, bundled into one file
 * of plain JavaScript at install (scripts/build.mjs), so a node runs it with node alone,
 * without the TypeScript loader, the control plane's drivers or the simulator.
 */
export async function agentMain(argv: readonly string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  let code: number = EXIT.OK;
  const program = defineAgentOptions(new Command('failsmall-agent')).exitOverride()
    .action(async (o: Record<string, unknown>) => {
      try { code = await agent(o as never); } catch (err) { code = reportError(err, false); }
    });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return reportError(err, false);
  }
  return code;
}

process.exitCode = await agentMain(process.argv);
