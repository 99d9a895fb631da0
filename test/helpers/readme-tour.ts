/**
 * The README's tour as steps a shell runs one after another: the first ```sh block under
 * "## A tour", split into commands (a line ending in `\` goes on; a `for … do … done` is one
 * step), each with the exit code its comment promises (`# exit N: …`, else 0).
 */
export interface TourStep {
  readonly text: string;
  readonly expectExit: number;
}

export function readmeTour(markdown: string): TourStep[] {
  const section = markdown.slice(markdown.indexOf('\n## A tour\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (section.length === 0 || block === undefined) throw new Error('the README has no ```sh block under "## A tour"');
  const steps: TourStep[] = [];
  let lines: string[] = [];
  let depth = 0;
  for (const line of block.split('\n')) {
    if (line.trim() === '' && lines.length === 0) continue;
    lines.push(line);
    const code = line.replace(/\s#.*$/, '');
    if (/^\s*(for|while|until)\b.*\bdo\b/.test(code) || /^\s*do\s*$/.test(code)) depth++;
    if (/^\s*done\b/.test(code)) depth--;
    if (depth > 0 || /\\$/.test(code)) continue;
    const text = lines.join('\n');
    const promised = /#\s*exit (\d+)\b/.exec(lines[0] ?? '');
    steps.push({ text, expectExit: promised ? Number(promised[1]) : 0 });
    lines = [];
  }
  if (lines.length > 0) throw new Error(`the tour ends inside a command: ${lines.join('\n')}`);
  return steps;
}
