import type { ModuleDecl } from '../policy/types.ts';
import type { FailClosedReview } from './types.ts';

/**
 * The security goals a fail-closed reason may name, each with the word stems that count
 * as naming it. Deliberately a short, readable list: the review is a prompt for a human
 * decision ("does hard-failing serve security, or only widen the blast radius?"), not a
 * classifier. docs/audit.md lists the same words.
 */
export const SECURITY_GOALS: readonly { readonly goal: string; readonly stems: readonly string[] }[] = [
  { goal: 'authentication', stems: ['auth', 'authn', 'authenticat', 'login', 'credential', 'password'] },
  { goal: 'authorization', stems: ['authz', 'authoriz', 'authoris', 'permission', 'access control', 'privilege'] },
  { goal: 'identity', stems: ['identity', 'identities'] },
  { goal: 'integrity', stems: ['integrity', 'tamper', 'signature', 'forged', 'forgery'] },
  { goal: 'confidentiality', stems: ['confidential', 'privacy', 'private data', 'secret', 'leak', 'exfiltrat', 'pii'] },
  { goal: 'payment', stems: ['payment', 'billing', 'cardholder', 'credit card'] },
  { goal: 'fraud', stems: ['fraud'] },
  { goal: 'abuse', stems: ['abuse', 'attack', 'exploit', 'malicious', 'ddos', 'bots', 'spam', 'injection', 'malware', 'cve'] },
  { goal: 'security', stems: ['security', 'secure'] },
];

/**
 * The security goals a reason names: a goal counts when one of its stems starts a word of
 * the reason, case-insensitively, optionally after "un", "non-" or "anti-"
 * ("unauthenticated" names authentication). The bare stem "auth" must be a whole word, so
 * "author" does not count.
 *
 * Examples
 *   securityGoals('a WAF that fails open lets attacks through')  // ['abuse']
 *   securityGoals('it has always failed closed')                   // []
 */
export function securityGoals(reason: string): string[] {
  const text = reason.toLowerCase();
  const goals: string[] = [];
  for (const { goal, stems } of SECURITY_GOALS) {
    if (stems.some((stem) => namesStem(text, stem))) goals.push(goal);
  }
  return goals;
}

/** Reviews every fail-closed module; flags those with no reason or a reason that names no security goal. */
export function reviewFailClosed(modules: readonly ModuleDecl[]): FailClosedReview[] {
  return modules
    .filter((m) => m.on_load_failure === 'fail-closed')
    .map((m): FailClosedReview => {
      const reason = m.reason !== undefined && m.reason.trim() !== '' ? m.reason.trim() : null;
      if (reason === null) return { module: m.name, reason: null, goals: [], verdict: 'no-reason', flagged: true };
      const goals = securityGoals(reason);
      return goals.length > 0
        ? { module: m.name, reason, goals, verdict: 'protects-security-goal', flagged: false }
        : { module: m.name, reason, goals, verdict: 'no-security-goal', flagged: true };
    });
}

function namesStem(text: string, stem: string): boolean {
  // "auth" alone must be a whole word ("auth", "auth-service"), so "author" and "authority" do not count.
  const tail = stem === 'auth' ? '(?![a-z])' : '';
  return new RegExp(`(?<![a-z])(?:un|non-?|anti-?)?${escape(stem)}${tail}`).test(text);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
