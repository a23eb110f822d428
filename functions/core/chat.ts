// Chat: a message such as "start expense approval for 900 laptop" understood as a workflow start. Pure
// logic, no I/O: the route (functions/core/http/chat-routes.ts) checks the caller's role and starts the run.
//
// Which workflow: the message's words are matched against each workflow's vocabulary (the words of its id,
// name and aliases; with no aliases, the words of its description too, weighted lightly), in any order and
// tolerating small typos (Damerau edit distance 1 for words of 4-5 letters, 2 from 6): an exact word scores 1,
// a close one 0.75, a description word a quarter of that. The best score (at least 0.5) wins; a tie goes to
// the one workflow whose whole name was said, else it is a 'choose'; no match is an 'unknown' with suggestions.
//
// The input, from the words the workflow's name did not use, by the workflow's `inputs` schema:
//   key=value / key: value   the named property, exactly (a string value runs to the next pair)
//   key value                a number, boolean or enum property's name then its value ("budget 800")
//   "<prop> is <value>"      the whole message naming one property ("the description is standing desk")
//   formatted / patterned     a word matching a string property's format (date, email) or pattern
//   enum words                an enum value of a string property (typos tolerated)
//   yes/no words              the first boolean property
//   numbers ($900, 1,200, 1.5k) the number properties in turn, required ones first
//   "quoted" text, then the remaining free words   the string properties in turn, required ones first
// The result is checked with checkInput: valid → 'start'; otherwise 'ask' for what is missing or invalid.
// A follow-up carries the previous 'ask' as context: its workflow and input so far, which the answer adds to.
//
// Besides starts, a few questions (questionOf): help ("hello, what can you do?": what the user can start),
// their recent runs and their pending approvals; the route answers them from its stores (the replies'
// wording is here). Which tools a start can reach (reachableTools) decides whether it needs confirming.
import { reachableFrom } from '../../translator/graph.js';
import type { IrGraph, IrTool, IrWorkflow } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import { isEmail } from './identity.js';
import { checkInput } from './inputs.js';
import type { RunOutcomeView } from './run-outcome.js';

export interface ChatWorkflow {
  id: string;
  name: string;
  aliases?: string[];
  ir: IrWorkflow;
}

/** What an 'ask' hands back, and its follow-up echoes. */
export interface ChatContext {
  workflowId: string;
  input: Record<string, JsonValue>;
}

export interface MissingField {
  field: string;
  description: string;
  type: string;
  enum?: JsonValue[];
  /** Why a value given was refused (absent: none was given). */
  problem?: string;
}

export type Understanding<W extends ChatWorkflow = ChatWorkflow> =
  | { kind: 'start'; workflow: W; input: Record<string, JsonValue> }
  | { kind: 'ask'; workflow: W; missing: MissingField[]; input: Record<string, JsonValue> }
  | { kind: 'choose'; candidates: W[] }
  | { kind: 'unknown'; suggestions: W[] };

/** Words that say "do it" or join others: never part of a workflow's vocabulary, dropped from free text. */
const COMMAND = new Set([
  'start',
  'run',
  'begin',
  'launch',
  'trigger',
  'kick',
  'off',
  'please',
  'pls',
  'can',
  'could',
  'you',
  'i',
  'want',
  'would',
  'like',
  'need',
  'me',
  'my',
  'workflow',
  'process',
]);
/** Joining words trimmed from either end of free text ("for 900 laptop" → "laptop"). */
const CONNECTORS = new Set([
  'a',
  'an',
  'the',
  'for',
  'of',
  'to',
  'with',
  'and',
  'on',
  'in',
  'at',
  'about',
  'from',
  'by',
  'via',
  'is',
  'it',
  'as',
  'dollars',
  'dollar',
  'usd',
  'bucks',
]);
const YES = new Set(['yes', 'y', 'true']);
const NO = new Set(['no', 'n', 'false']);
const STOP = new Set([...COMMAND, ...CONNECTORS]);

interface Token {
  raw: string;
  lower: string;
  used: boolean;
}

interface Vocabulary {
  words: Map<string, number>; // word → weight
}

/** Understands `message` among `workflows`; with `context` (a previous 'ask'), as the answer to it. */
export function understand<W extends ChatWorkflow>(
  message: string,
  workflows: W[],
  context?: ChatContext,
): Understanding<W> {
  const parsed = parse(message, workflows);
  const ranked = rank(parsed.tokens, workflows);
  const best = ranked[0];

  if (context !== undefined) {
    const current = workflows.find((w) => w.id === context.workflowId);
    // An answer to the question, unless it plainly names another workflow (two of its words or more).
    const switched = best !== undefined && best.workflow.id !== context.workflowId && best.score >= 2;
    if (current !== undefined && !switched) {
      return fill(current, parsed, { ...context.input }, message);
    }
  }

  if (best === undefined || best.score < 0.5) {
    return { kind: 'unknown', suggestions: suggest(parsed.tokens, workflows) };
  }
  // Among equals, the one whose whole name the message says ("Expense approval" over "Expense approval (copy)").
  const tied = ranked.filter((r) => r.score === best.score);
  const whole = tied.filter((r) => r.wholeName);
  const chosen = whole.length === 1 ? whole[0] : tied.length === 1 ? best : undefined;
  if (chosen === undefined) return { kind: 'choose', candidates: tied.map((r) => r.workflow) };
  for (const index of chosen.consumed) {
    const token = parsed.tokens[index];
    if (token !== undefined) token.used = true;
  }
  return fill(chosen.workflow, parsed, {}, message);
}

/** The reply to show for an understanding (`runId` once an understood start has started). */
export function replyFor(understanding: Understanding, runId?: string): string {
  switch (understanding.kind) {
    case 'start': {
      const given = givenText(understanding.input);
      return `Started ${understanding.workflow.name}${runId ? ` (run ${runId})` : ''}${given ? ` with ${given}` : ''}.`;
    }
    case 'ask': {
      const parts = understanding.missing.map((m) => {
        const about = [
          m.description !== m.field ? m.description : '',
          m.enum ? `one of ${m.enum.map(String).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        const why = m.problem ? ` (${m.problem})` : '';
        return `${m.field}${about ? ` (${about})` : ''}${why}`;
      });
      const first = understanding.missing[0]?.field ?? 'field';
      return `To start ${understanding.workflow.name} I still need: ${parts.join(', ')}. Reply with ${
        understanding.missing.length === 1 ? 'it' : 'them'
      }, e.g. "${first}: …".`;
    }
    case 'choose':
      return `Which one did you mean: ${understanding.candidates.map((w) => `${w.name} (${w.id})`).join(' or ')}?`;
    case 'unknown':
      return understanding.suggestions.length === 0
        ? 'I could not tell which workflow you mean, and there is none you can start here.'
        : `I could not tell which workflow you mean. Try: ${understanding.suggestions
            .map((w) => `"start ${w.name.toLowerCase()}"`)
            .join(', ')}.`;
  }
}

/** The input as the replies show it: `amount 900, description "laptop"`. */
function givenText(input: Record<string, JsonValue>): string {
  return Object.entries(input)
    .map(([k, v]) => `${k} ${typeof v === 'string' ? `"${v}"` : JSON.stringify(v)}`)
    .join(', ');
}

/** The question asked before a start that can reach write tools (`writes`: their names). */
export function confirmReply(
  workflow: ChatWorkflow,
  input: Record<string, JsonValue>,
  writes: string[],
): string {
  const given = givenText(input);
  return `Start ${workflow.name}${given ? ` with ${given}` : ''}? It can change things: it calls ${writes.join(
    ', ',
  )}. Confirm to start it, or cancel.`;
}

// ---------------------------------------------------------------------------------------------------------
// Questions: help, my runs, my approvals

export type ChatQuestion = 'help' | 'runs' | 'approvals';

/** A message that begins as a start ("start …", "run …") is never a question. */
const STARTS = /^\W*(please\s+)?(start|run|begin|launch|trigger|kick)\b/;
const APPROVALS =
  /\b(approvals|to approve|approve anything|pending approval|awaiting (my )?(approval|decision)|waiting (for|on) me)\b/;
// Not a bare "status": "report incident: status page down" is a start.
const RUNS =
  /\b(runs|my run|last run|latest run|recent run|run status|status of (my|the)|how (is|are) my)\b|\bwhat (did|have) i (started|start|run)\b/;
const HELP =
  /\b(help|hello|hi|hey|what can you do|what do you do|what can i (start|run|do)|how does this work|how do i|commands?)\b/;

/**
 * The question `message` asks, if it is one: its pending approvals, its runs, or help. Help only when no
 * workflow is plainly named ("help me book a flight" is a start).
 */
export function questionOf(message: string, workflows: ChatWorkflow[]): ChatQuestion | undefined {
  const text = message.toLowerCase();
  if (STARTS.test(text)) return undefined;
  if (APPROVALS.test(text)) return 'approvals';
  if (RUNS.test(text)) return 'runs';
  if (!HELP.test(text)) return undefined;
  const best = rank(parse(message, workflows).tokens, workflows)[0];
  return best !== undefined && best.score >= 1 ? undefined : 'help';
}

/** How to say "start it" for a workflow: its first alias, else its name. */
export function examplePhrase(w: ChatWorkflow): string {
  return (w.aliases ?? w.ir.aliases)[0] ?? `start ${w.name.toLowerCase()}`;
}

/** The answer to help: what the user can start (only those), and what else to ask. */
export function helpReply(startable: ChatWorkflow[]): string {
  const questions =
    'Ask "what are my runs?" for your recent runs, or "my pending approvals" for what waits on you.';
  if (startable.length === 0) return `There is no workflow you can start here. ${questions}`;
  const list = [...startable]
    .sort((x, y) => x.name.localeCompare(y.name))
    .map((w) => `${w.name} ("${examplePhrase(w)}")`)
    .join(', ');
  return `I start workflows for you, in your own words, and ask for anything missing. You can start: ${list}. ${questions}`;
}

/** How a run's outcome reads beside its status (as the dashboard's runs list says it). */
const OUTCOME_WORDS: Record<RunOutcomeView['kind'], string> = {
  approved: 'approved',
  rejected: 'rejected',
  'timed-out': 'approval timed out',
  'error-handled': 'error handled',
};

/**
 * The answer to "what are my runs?": the newest first, a completed run with what decided its path
 * ("completed, rejected"), so a rejected run does not read like an approved one.
 */
export function runsReply(runs: Array<{ name: string; status: string; outcome?: RunOutcomeView }>): string {
  if (runs.length === 0) return 'You have not started any runs yet.';
  const list = runs
    .map((r) => {
      const outcome = r.outcome === undefined ? '' : `, ${OUTCOME_WORDS[r.outcome.kind] ?? r.outcome.kind}`;
      return `${r.name}: ${r.status.replace('_', ' ')}${outcome}`;
    })
    .join('; ');
  return `Your ${runs.length === 1 ? 'latest run' : `${runs.length} latest runs`}: ${list}.`;
}

/** The answer to "my pending approvals". */
export function approvalsReply(approvals: Array<{ name: string; message: string }>): string {
  if (approvals.length === 0) return 'Nothing waits on your approval.';
  const list = approvals.map((a) => `${a.name}${a.message ? ` (${a.message})` : ''}`).join('; ');
  return `${approvals.length === 1 ? 'One approval waits' : `${approvals.length} approvals wait`} on you: ${list}.`;
}

/** The tool steps a run of `graph` can reach from its start (parallel branches included), in visit order. */
export function reachableTools(graph: IrGraph): IrTool[] {
  const reachable = reachableFrom(graph);
  return graph.nodes.flatMap((node) => {
    if (!reachable.has(node.id)) return [];
    if (node.kind === 'parallel') return node.branches.flatMap(reachableTools);
    return node.kind === 'tool' ? [node] : [];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Parsing the message

interface Parsed {
  tokens: Token[];
  quoted: string[];
  /** key (as written) → value text, for `key=value` / `key: value` whose key names some workflow's input. */
  pairs: Array<{ key: string; value: string }>;
}

function parse(message: string, workflows: ChatWorkflow[]): Parsed {
  const keys = new Set(workflows.flatMap((w) => Object.keys(properties(w.ir)).map((k) => k.toLowerCase())));
  let text = message.replace(/[“”]/g, '"').replace(/[‘’]/g, "'");

  // key=value / key: value (a value runs to the next pair, or is quoted).
  const pairs: Array<{ key: string; value: string }> = [];
  const pairStart = /(^|[\s,;])([A-Za-z][\w]*)\s*[:=]\s*/g;
  const starts: Array<{ key: string; at: number; valueAt: number }> = [];
  for (const match of text.matchAll(pairStart)) {
    const key = match[2] ?? '';
    if (!keys.has(key.toLowerCase())) continue;
    const at = (match.index ?? 0) + (match[1]?.length ?? 0);
    starts.push({ key, at, valueAt: (match.index ?? 0) + match[0].length });
  }
  if (starts.length > 0) {
    let rest = text.slice(0, starts[0]?.at ?? 0);
    starts.forEach((s, i) => {
      const end = starts[i + 1]?.at ?? text.length;
      let value = text.slice(s.valueAt, end).trim();
      const quoted = /^(["'])(.*?)\1(.*)$/s.exec(value);
      if (quoted) {
        value = quoted[2] ?? '';
        rest += ` ${quoted[3] ?? ''}`;
      } else value = value.replace(/[\s,;.]+$/, '');
      pairs.push({ key: s.key, value });
    });
    text = rest;
  }

  // Quoted text ("standing desk"), not apostrophes inside words.
  const quoted: string[] = [];
  text = text.replace(/(^|\s)(["'])(.+?)\2(?=$|[\s.,!?;])/g, (_all, before: string, _q, inner: string) => {
    quoted.push(inner.trim());
    return `${before} `;
  });

  const tokens: Token[] = [];
  for (const piece of text.split(/\s+/)) {
    const raw = piece.replace(/^[([{,;!?.]+|[)\]},;!?.:]+$/g, '');
    if (raw === '') continue;
    // expense-approval → expense approval (but 2025-03-01 and a@b.com stay whole).
    const parts = /^[A-Za-z]+([-_/][A-Za-z]+)+$/.test(raw) ? raw.split(/[-_/]/) : [raw];
    for (const part of parts) tokens.push({ raw: part, lower: part.toLowerCase(), used: false });
  }
  return { tokens, quoted, pairs };
}

// ---------------------------------------------------------------------------------------------------------
// Finding the workflow

function vocabulary(w: ChatWorkflow): Vocabulary {
  const words = new Map<string, number>();
  const add = (text: string | null | undefined, weight: number) => {
    for (const word of (text ?? '').toLowerCase().split(/[^a-z0-9]+/)) {
      if (word.length < 2 || STOP.has(word) || /^\d+$/.test(word)) continue;
      words.set(word, Math.max(words.get(word) ?? 0, weight));
    }
  };
  const aliases = w.aliases ?? w.ir.aliases ?? [];
  add(w.id, 1);
  add(w.name, 1);
  for (const alias of aliases) add(alias, 1);
  if (aliases.length === 0) add(w.ir.description, 0.25);
  return { words };
}

/** A phrase as chat compares it: its words, lower case, in order of the alphabet (word order does not count). */
function phraseKey(phrase: string): string {
  return phrase
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '')
    .sort()
    .join(' ');
}

/**
 * The aliases of `workflow` that are already another workflow's alias or name, as chat reads phrases (the
 * same words in any order): chat would have to ask which one is meant. Each with its index in `aliases`
 * and the other workflow's id.
 */
export function aliasClashes(
  workflow: { id: string; aliases: readonly string[] },
  others: readonly ChatWorkflow[],
): Array<{ alias: string; index: number; otherId: string }> {
  const taken = new Map<string, string>();
  for (const other of others) {
    if (other.id === workflow.id) continue;
    for (const phrase of [other.name, ...(other.aliases ?? other.ir.aliases ?? [])])
      if (!taken.has(phraseKey(phrase))) taken.set(phraseKey(phrase), other.id);
  }
  return workflow.aliases.flatMap((alias, index) => {
    const otherId = taken.get(phraseKey(alias));
    return otherId === undefined || phraseKey(alias) === '' ? [] : [{ alias, index, otherId }];
  });
}

/** How far apart two words may be: none for short words, 1 for 4-5 letters, 2 from 6. */
function tolerance(word: string): number {
  return word.length <= 3 ? 0 : word.length <= 5 ? 1 : 2;
}

function similar(a: string, b: string): 'exact' | 'close' | undefined {
  if (a === b) return 'exact';
  const limit = Math.min(tolerance(a), tolerance(b));
  if (limit === 0 || Math.abs(a.length - b.length) > limit) return undefined;
  return distance(a, b) <= limit ? 'close' : undefined;
}

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

interface Ranked<W> {
  workflow: W;
  score: number;
  /** Every word of the workflow's name was matched ("expense approval" names "Expense approval" wholly). */
  wholeName: boolean;
  /** Indexes of the tokens the workflow's name/alias words used (description words use none). */
  consumed: number[];
}

function rank<W extends ChatWorkflow>(tokens: Token[], workflows: W[]): Ranked<W>[] {
  const ranked: Ranked<W>[] = [];
  for (const workflow of workflows) {
    const { words } = vocabulary(workflow);
    let score = 0;
    const consumed: number[] = [];
    const matched = new Set<string>();
    tokens.forEach((token, index) => {
      if (STOP.has(token.lower) || !/[a-z]/.test(token.lower)) return;
      let best: { word: string; points: number } | undefined;
      for (const [word, weight] of words) {
        if (matched.has(word)) continue;
        const how = similar(token.lower, word);
        if (how === undefined) continue;
        const points = weight * (how === 'exact' ? 1 : 0.75);
        if (best === undefined || points > best.points) best = { word, points };
      }
      if (best === undefined) return;
      matched.add(best.word);
      score += best.points;
      if ((words.get(best.word) ?? 0) >= 1) consumed.push(index);
    });
    const nameWords = workflow.name
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((word) => words.has(word));
    const wholeName = nameWords.length > 0 && nameWords.every((word) => matched.has(word));
    if (score > 0) ranked.push({ workflow, score, consumed, wholeName });
  }
  return ranked.sort((x, y) => y.score - x.score || x.workflow.name.localeCompare(y.workflow.name));
}

/** A few workflows to offer when none matched: any that share a (looser) word, else the first by name. */
function suggest<W extends ChatWorkflow>(tokens: Token[], workflows: W[]): W[] {
  const loose = workflows
    .map((w) => {
      const { words } = vocabulary(w);
      let score = 0;
      for (const token of tokens) {
        if (token.lower.length < 3 || STOP.has(token.lower)) continue;
        for (const word of words.keys()) {
          if (
            word.startsWith(token.lower) ||
            token.lower.startsWith(word) ||
            distance(token.lower, word) <= 3
          ) {
            score += 1;
            break;
          }
        }
      }
      return { w, score };
    })
    .filter((x) => x.score > 0)
    .sort((x, y) => y.score - x.score || x.w.name.localeCompare(y.w.name))
    .map((x) => x.w);
  const chosen = loose.length > 0 ? loose : [...workflows].sort((x, y) => x.name.localeCompare(y.name));
  return chosen.slice(0, 5);
}

// ---------------------------------------------------------------------------------------------------------
// Filling the input

interface Property {
  type?: string | string[];
  enum?: JsonValue[];
  format?: string;
  pattern?: string;
  description?: string;
}

function properties(ir: IrWorkflow): Record<string, Property> {
  const props = ir.inputs?.properties;
  return props !== null && typeof props === 'object' ? (props as Record<string, Property>) : {};
}

function required(ir: IrWorkflow): string[] {
  const list = ir.inputs?.required;
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
}

function typeOf(p: Property): string {
  const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
  return t ?? (p.enum ? 'enum' : 'string');
}

function fill<W extends ChatWorkflow>(
  workflow: W,
  parsed: Parsed,
  input: Record<string, JsonValue>,
  message: string,
): Understanding<W> {
  const f = filling(workflow.ir, parsed, input);
  if (!fillNamed(f, message)) {
    fillPairs(f);
    fillKeywordValues(f);
    fillFormatted(f);
    fillEnums(f);
    fillBoolean(f);
    fillNumbers(f);
    fillTexts(f);
  }
  return finish(workflow, input);
}

/** The input being filled from a message, with what each filling step reads of the workflow's inputs. */
interface Filling {
  props: Record<string, Property>;
  need: string[];
  /** Property names in the order they are filled: required ones (in `required` order) first. */
  order: string[];
  parsed: Parsed;
  input: Record<string, JsonValue>;
  /** Whether a property has no value yet. */
  open(key: string): boolean;
  /** The property a word names ("Start date", "startdate"), if any. */
  byName(name: string): string | undefined;
  /** The tokens no step has used yet. */
  free(): Token[];
}

function filling(ir: IrWorkflow, parsed: Parsed, input: Record<string, JsonValue>): Filling {
  const props = properties(ir);
  const need = required(ir);
  const order = [...need.filter((k) => k in props), ...Object.keys(props).filter((k) => !need.includes(k))];
  return {
    props,
    need,
    order,
    parsed,
    input,
    open: (k) => input[k] === undefined,
    byName: (name) => {
      const flat = name.toLowerCase().replace(/[^a-z0-9]/g, '');
      return order.find((k) => k.toLowerCase() === flat);
    },
    free: () => parsed.tokens.filter((t) => !t.used),
  };
}

/** "the description is standing desk": the whole message names one property. Whether it did. */
function fillNamed({ props, parsed, input, byName }: Filling, message: string): boolean {
  const named = /^\s*(?:the\s+|my\s+)?([A-Za-z][\w ]{0,40}?)\s+(?:is|are|=|:)\s+(.+?)\s*[.!]?\s*$/is.exec(
    message,
  );
  const namedKey = named ? byName(named[1] ?? '') : undefined;
  if (!named || namedKey === undefined || parsed.pairs.length > 0) return false;
  const value = coerce(props[namedKey] ?? {}, (named[2] ?? '').replace(/^(["'])(.*)\1$/, '$2'));
  if (value !== undefined) input[namedKey] = value;
  return true;
}

/** `key=value` pairs; a pair naming no property goes back to the free words. */
function fillPairs({ props, parsed, input, byName }: Filling): void {
  for (const pair of parsed.pairs) {
    const key = byName(pair.key);
    if (key === undefined) {
      parsed.tokens.push(
        ...pair.value.split(/\s+/).map((raw) => ({ raw, lower: raw.toLowerCase(), used: false })),
      );
      continue;
    }
    const value = coerce(props[key] ?? {}, pair.value);
    if (value !== undefined) input[key] = value;
  }
}

/** "budget 800", "category meals", "urgent yes": a word naming a number, boolean or enum property, then its value. */
function fillKeywordValues({ props, input, open, byName, free }: Filling): void {
  free().forEach((token, i, all) => {
    const key = byName(token.lower);
    const next = all[i + 1];
    if (key === undefined || !open(key) || next === undefined || token.used) return;
    const p = props[key] ?? {};
    const value = coerce(p, next.raw);
    const fits =
      typeOf(p) === 'number' || typeOf(p) === 'integer'
        ? typeof value === 'number'
        : typeOf(p) === 'boolean'
          ? typeof value === 'boolean'
          : Array.isArray(p.enum) && p.enum.includes(value as JsonValue);
    if (!fits || value === undefined) return;
    token.used = true;
    next.used = true;
    input[key] = value;
  });
}

/** Words a string property's format or pattern recognises (dates, emails, airport codes). */
function fillFormatted({ props, order, input, open, free }: Filling): void {
  for (const key of order) {
    const p = props[key] ?? {};
    if (!open(key) || typeOf(p) !== 'string' || (p.format === undefined && p.pattern === undefined)) continue;
    const token = free().find((t) => formatted(p, t.raw));
    if (token !== undefined) {
      token.used = true;
      input[key] = token.raw;
    }
  }
}

/** Enum values. */
function fillEnums({ props, order, input, open, free }: Filling): void {
  for (const key of order) {
    const p = props[key] ?? {};
    if (!open(key) || !Array.isArray(p.enum)) continue;
    for (const token of free()) {
      const value = p.enum.find((v) => typeof v === 'string' && similar(token.lower, v.toLowerCase()));
      if (value !== undefined) {
        token.used = true;
        input[key] = value;
        break;
      }
    }
  }
}

/** Yes / no, to the first open boolean property. */
function fillBoolean({ props, order, input, open, free }: Filling): void {
  const booleanKey = order.find((k) => open(k) && typeOf(props[k] ?? {}) === 'boolean');
  if (booleanKey === undefined) return;
  const token = free().find((t) => YES.has(t.lower) || NO.has(t.lower));
  if (token !== undefined) {
    token.used = true;
    input[booleanKey] = YES.has(token.lower);
  }
}

/** Numbers, to the number properties in turn. */
function fillNumbers({ props, order, input, open, free }: Filling): void {
  for (const token of free()) {
    const n = number(token.raw);
    if (n === undefined) continue;
    const key = order.find((k) => open(k) && ['number', 'integer'].includes(typeOf(props[k] ?? {})));
    if (key === undefined) break;
    token.used = true;
    input[key] = n;
  }
}

/** Quoted text, then the remaining free words, to the plain string properties in turn. */
function fillTexts({ props, need, order, parsed, input, open }: Filling): void {
  const plain = (k: string) => {
    const p = props[k] ?? {};
    return open(k) && typeOf(p) === 'string' && p.enum === undefined;
  };
  // Runs of adjacent free words, each trimmed of joining words: "from SFO to LHR on … for a customer
  // visit" leaves "customer visit", not "from to on for a customer visit".
  const runs: Token[][] = [[]];
  for (const token of parsed.tokens) {
    if (token.used) runs.push([]);
    else if (!COMMAND.has(token.lower)) runs.at(-1)?.push(token);
  }
  const words = runs.flatMap((run) => trim(run));
  const texts = [...parsed.quoted, ...(words.length > 0 ? [words.map((t) => t.raw).join(' ')] : [])];
  for (const text of texts) {
    if (text === '') continue;
    const key =
      order.find((k) => plain(k) && need.includes(k) && props[k]?.format === undefined) ??
      order.find((k) => plain(k) && props[k]?.format === undefined && props[k]?.pattern === undefined);
    if (key === undefined) break;
    input[key] = text;
  }
}

function finish<W extends ChatWorkflow>(workflow: W, input: Record<string, JsonValue>): Understanding<W> {
  const checked = checkInput(workflow.ir.inputs, input);
  if (checked.ok) return { kind: 'start', workflow, input: inSchemaOrder(workflow.ir, checked.input) };
  const props = properties(workflow.ir);
  const missing: MissingField[] = [];
  const refused = new Set<string>();
  for (const problem of checked.problems) {
    const field = problem.field.split('.')[0] ?? '';
    if (field === '' || missing.some((m) => m.field === field)) continue;
    const p = props[field] ?? {};
    const given = input[field] !== undefined;
    if (given) refused.add(field);
    missing.push({
      field,
      description: p.description ?? humanize(field),
      type: typeOf(p),
      ...(Array.isArray(p.enum) ? { enum: p.enum } : {}),
      ...(given ? { problem: problem.message } : {}),
    });
  }
  if (missing.length === 0) {
    // A problem with the input as a whole (no field): nothing a chat answer can fix field by field.
    missing.push({
      field: 'input',
      description: checked.problems.map((p) => p.message).join('; '),
      type: 'object',
    });
  }
  // What was refused is asked for again, not kept.
  const kept = Object.fromEntries(Object.entries(input).filter(([k]) => !refused.has(k)));
  return { kind: 'ask', workflow, missing, input: kept };
}

/** The input with its keys in the order the schema declares them (as the run form shows them). */
function inSchemaOrder(ir: IrWorkflow, input: Record<string, JsonValue>): Record<string, JsonValue> {
  const keys = Object.keys(properties(ir));
  const rank = (k: string) => (keys.includes(k) ? keys.indexOf(k) : keys.length);
  return Object.fromEntries(Object.entries(input).sort(([a], [b]) => rank(a) - rank(b)));
}

function formatted(p: Property, word: string): boolean {
  if (p.pattern !== undefined) {
    try {
      if (!new RegExp(p.pattern, 'u').test(word)) return false;
    } catch {
      return false;
    }
  }
  switch (p.format) {
    case undefined:
      return true;
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(word);
    case 'date-time':
      return /^\d{4}-\d{2}-\d{2}T/.test(word);
    case 'email':
      return isEmail(word);
    case 'uri':
    case 'url':
      return /^https?:\/\//.test(word);
    default:
      return false;
  }
}

/** 900, $900, 900$, 1,200, 12.50, 1.5k — or undefined. */
function number(word: string): number | undefined {
  const m = /^\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(k)?\$?$/i.exec(word);
  if (!m) return undefined;
  const n = Number((m[1] ?? '').replaceAll(',', ''));
  return Number.isFinite(n) ? (m[2] ? n * 1000 : n) : undefined;
}

/** A text value as the property's type wants it (undefined: it is not one). */
function coerce(p: Property, text: string): JsonValue | undefined {
  const value = text.trim();
  switch (typeOf(p)) {
    case 'number':
    case 'integer':
      return number(value) ?? value;
    case 'boolean':
      return YES.has(value.toLowerCase()) ? true : NO.has(value.toLowerCase()) ? false : value;
    default: {
      if (Array.isArray(p.enum)) {
        const hit = p.enum.find(
          (v) => typeof v === 'string' && similar(value.toLowerCase(), v.toLowerCase()),
        );
        if (hit !== undefined) return hit;
      }
      return value === '' ? undefined : value;
    }
  }
}

/** Free words without the joining words at either end. */
function trim(tokens: Token[]): Token[] {
  let start = 0;
  let end = tokens.length;
  while (start < end && CONNECTORS.has(tokens[start]?.lower ?? '')) start++;
  while (end > start && CONNECTORS.has(tokens[end - 1]?.lower ?? '')) end--;
  return tokens.slice(start, end);
}

function humanize(field: string): string {
  return field.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
