/**
 * User-agent families: a raw `User-Agent` header reduced to the client software that sent it
 * (`curl`, `python-requests`, `Chrome`, `Go-http-client`…), or `other`. Only the family is
 * counted, so the vocabulary is fixed and small: an attacker who randomises the header lands in
 * `other` (the mix concentrates, which is what triage looks for) rather than in new keys, and
 * no version or device detail that could tell one client apart is kept.
 *
 * The header is a list of products `name/version`, with comments in parentheses (RFC 9110
 * §10.1.5). Libraries and tools send their own product first; bots name themselves, often in a
 * comment; browsers all claim `Mozilla/5.0` and are told apart by the order of their tokens
 * (MDN, "Browser detection using the user agent": Edge and Opera also send `Chrome`, Chrome
 * also sends `Safari`). A table is enough for this; browser parsers from npm give browser and
 * OS details triage does not need and mostly lump libraries and tools together.
 */

/** Libraries and tools, by their product token (matched without regard to case). */
const TOOLS = [
  'curl', 'Wget', 'python-requests', 'Python-urllib', 'python-httpx', 'aiohttp', 'Scrapy', 'Go-http-client', 'okhttp',
  'Java', 'Apache-HttpClient', 'axios', 'node-fetch', 'undici', 'node', 'PostmanRuntime', 'libwww-perl', 'Ruby', 'Faraday',
  'Dart', 'ApacheBench', 'k6',
] as const;

/** Bots that name themselves, then any other (`…bot`, `crawler`, `spider`). Before browsers: most claim Chrome as well. */
const BOTS: readonly (readonly [family: string, pattern: RegExp])[] = [
  ['Googlebot', /Googlebot/i],
  ['bingbot', /bingbot/i],
  ['bot', /bot\b|crawler|spider/i],
];

/** Browsers, first match wins: a family is listed before every family whose token it also sends. */
const BROWSERS: readonly (readonly [family: string, tokens: readonly string[]])[] = [
  ['Samsung Internet', ['SamsungBrowser']],
  ['Opera', ['OPR', 'Opera']],
  ['Edge', ['Edg', 'Edge', 'EdgA', 'EdgiOS']],
  ['HeadlessChrome', ['HeadlessChrome']],
  ['Chromium', ['Chromium']],
  ['Chrome', ['Chrome', 'CriOS']],
  ['Firefox', ['Firefox', 'FxiOS']],
  ['Safari', ['Safari']],
];

const TOOL_BY_TOKEN = new Map<string, string>(TOOLS.map((t) => [t.toLowerCase(), t]));

/** Every family `userAgentFamily` can return. */
export const USER_AGENT_FAMILIES: readonly string[] = [
  'none', ...TOOLS, ...BOTS.map(([f]) => f), ...BROWSERS.map(([f]) => f), 'IE', 'other',
];

/** The family of a `User-Agent` header; `none` when the request had none. */
export function userAgentFamily(header: string | undefined): string {
  // The header is the client's to choose: read a bounded head of it, enough for any real one.
  const ua = header?.slice(0, 512).trim() ?? '';
  if (ua === '') return 'none';
  const products = ua.replace(/\([^)]*\)/g, ' ').split(/\s+/).map((p) => p.split('/')[0] ?? '').filter((p) => p !== '');
  for (const p of products) {
    const tool = TOOL_BY_TOKEN.get(p.toLowerCase());
    if (tool) return tool;
  }
  for (const [family, pattern] of BOTS) if (pattern.test(ua)) return family;
  for (const [family, tokens] of BROWSERS) if (tokens.some((t) => products.includes(t))) return family;
  if (/Trident\/|MSIE /.test(ua)) return 'IE';
  return 'other';
}
