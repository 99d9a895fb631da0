declare module 'parse-prometheus-text-format' {
  /** One family as the parser returns it; with no `# TYPE` line every sample keeps its value and labels. */
  export interface ParsedFamily {
    readonly name: string;
    readonly help: string;
    readonly type: string;
    readonly metrics: readonly { readonly value?: string; readonly labels?: Readonly<Record<string, string>>; readonly timestamp_ms?: string }[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
