import type { Command } from 'commander';
import { buildProgram } from '../../cli/src/main.ts';

/**
 * The fenced blocks of a markdown document, for tests that run a doc's examples. The
 * `<!-- expect-error: CODE -->` comments right above a block name the errors it must fail with.
 */
export interface Block { readonly line: number; readonly lang: string; readonly text: string; readonly errors: string[] }

export function blocks(md: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (/^<!--.*-->$/.test(line)) {
      comments.push(line);
      continue;
    }
    const fence = /^```(\w+)$/.exec(line);
    if (fence) {
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]?.trim() !== '```') end++;
      const errors = comments.flatMap((c) => /^<!--\s*expect-error:\s*(\S+)\s*-->$/.exec(c)?.[1] ?? []);
      out.push({ line: start, lang: fence[1] ?? '', text: `${lines.slice(start, end).join('\n')}\n`, errors });
      i = end;
    }
    if (line !== '') comments = [];
  }
  return out;
}

/** The `npx failsmall …` lines of the sh blocks, without `npx failsmall` and trailing comments. */
export function shownCommands(all: readonly Block[]): string[] {
  return all.filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n')).flatMap((l) => /^npx failsmall (.+?)(\s+#.*)?$/.exec(l.trim())?.[1] ?? []);
}

/** The (sub)command a shown line runs, and the flags it uses that this command does not have. */
export function resolveShown(line: string): { name: string; unknownFlags: string[] } {
  let command: Command = buildProgram({ code: 0 });
  for (const w of line.split(/\s+/)) command = command.commands.find((c) => c.name() === w) ?? command;
  const flags = new Set(command.options.map((o) => o.long));
  return { name: command.name(), unknownFlags: line.split(/\s+/).filter((w) => w.startsWith('--') && !flags.has(w)) };
}
