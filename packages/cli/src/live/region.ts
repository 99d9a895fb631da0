/**
 * The bottom of a terminal, redrawn in place: the cursor goes up over the last frame
 * (`ESC [ n A`), everything below is erased (`ESC [ J`), and the new frame is written. Lines
 * printed `above` scroll up like a log and stay. Two VT100 sequences every terminal knows;
 * log-update does the same with four more dependencies, so it is not worth one here.
 * Lines are cut to the terminal's width: a wrapped line would make the count, and the
 * redraw, wrong.
 */
export class Region {
  readonly #write: (text: string) => void;
  readonly #columns: () => number;
  #frame: readonly string[] = [];
  /** Lines of the frame on screen now. */
  #height = 0;

  constructor(write: (text: string) => void, columns: () => number) {
    this.#write = write;
    this.#columns = columns;
  }

  /** Replaces the frame. */
  draw(frame: readonly string[]): void {
    this.#frame = frame.map((l) => this.#fit(l));
    this.#write(`${this.#erase()}${this.#frame.map((l) => `${l}\n`).join('')}`);
    this.#height = this.#frame.length;
  }

  /** Prints lines that stay, above the frame. */
  above(lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.#write(`${this.#erase()}${lines.map((l) => `${l}\n`).join('')}${this.#frame.map((l) => `${l}\n`).join('')}`);
    this.#height = this.#frame.length;
  }

  #erase(): string {
    return this.#height > 0 ? `\x1b[${this.#height}A\x1b[J` : '';
  }

  #fit(line: string): string {
    const width = Math.max(20, this.#columns() - 1);
    return [...line].length > width ? `${[...line].slice(0, width - 1).join('')}…` : line;
  }
}
