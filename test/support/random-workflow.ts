// Random valid workflows with random mocks and decisions, for property tests of the engine (and, as the
// compilers land, of every target against the engine). Seeded: the same seed gives the same workflow.
import { stringify } from 'yaml';
import type { Scenario, ScenarioAnswer, ScenarioCase } from '../../testing/scenario.js';

export type Rng = () => number;

/** mulberry32: small, fast, good enough to pick shapes. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOOLS = ['lookup', 'charge', 'provision', 'page'];
const USERS = [
  { email: 'ann@example.com', role: 'member' as const, groups: ['ops'], manager: 'max@example.com' },
  { email: 'max@example.com', role: 'manager' as const, groups: ['ops'], manager: 'dee@example.com' },
  { email: 'dee@example.com', role: 'director' as const, groups: ['leads'] },
  { email: 'kim@example.com', role: 'manager' as const, groups: ['ops', 'leads'] },
];

interface Built {
  steps: Record<string, unknown>[];
}

class Generator {
  private counter = 0;
  readonly approvalSteps: Array<{ id: string; levels: number }> = [];
  readonly toolSteps: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly maxDepth: number,
  ) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.rng() * (max - min + 1));
  }

  /** A list of steps whose jumps only go forward (to a later step of the same list or end): no loops. */
  list(depth: number, size: number): Built {
    const ids = Array.from({ length: size }, () => `s${++this.counter}`);
    const forward = (i: number): string => {
      const later = ids.slice(i + 1);
      return later.length === 0 || this.chance(0.25) ? 'end' : this.pick(later);
    };
    const steps = ids.map((id, i) => this.step(id, i, depth, forward));
    return { steps };
  }

  private step(
    id: string,
    i: number,
    depth: number,
    forward: (i: number) => string,
  ): Record<string, unknown> {
    const kinds =
      depth < this.maxDepth
        ? ['tool', 'tool', 'condition', 'approval', 'parallel', 'notify', 'delay']
        : ['tool', 'tool', 'condition', 'approval', 'notify', 'delay'];
    const kind = this.pick(kinds);
    const maybe = (key: string, value: unknown, p = 0.3): Record<string, unknown> =>
      this.chance(p) ? { [key]: value } : {};
    switch (kind) {
      case 'tool':
        this.toolSteps.push(id);
        return {
          id,
          type: 'tool',
          tool: this.pick(TOOLS),
          args: { amount: '{{amount}}', note: `step ${id} for {{trigger.user.email}} in {{region}}` },
          ...maybe(
            'retry',
            { maxAttempts: this.int(2, 3), interval: `${this.int(1, 5)}s`, backoffRate: 2 },
            0.5,
          ),
          ...maybe('timeout', `${this.int(10, 60)}s`),
          ...maybe('onError', forward(i)),
          ...maybe('next', forward(i), 0.15),
          // Several steps (in different branches, say) writing one variable: the join's branch order decides.
          ...maybe('output', 'shared', 0.15),
        };
      case 'condition':
        return {
          id,
          type: 'condition',
          if: this.pick([
            `amount > ${this.int(0, 1000)}`,
            "region == 'eu'",
            "region in ['eu', 'us']",
            'urgent',
            '!(urgent) && amount <= 500',
            "note contains 'x'",
          ]),
          then: forward(i),
          ...maybe('else', forward(i), 0.6),
        };
      case 'approval': {
        const levels = this.chance(0.4) ? 2 : 1;
        this.approvalSteps.push({ id, levels });
        return {
          id,
          type: 'approval',
          approvers: this.pick([
            ['{{trigger.user.manager}}'],
            ['role:manager'],
            ['max@example.com', 'kim@example.com'],
            ['group:leads'],
          ]),
          require: this.pick(['any', 'any', 'all', 1]),
          message: 'Approve {{amount}} in {{region}}?',
          // Always timed, so that every run ends even when nobody entitled decides.
          timeout: `${this.int(1, 24)}h`,
          ...(levels === 2
            ? { escalate: [{ approvers: ['role:director'], timeout: `${this.int(1, 24)}h` }] }
            : {}),
          ...maybe('onReject', forward(i), 0.5),
          ...maybe('onTimeout', forward(i), 0.5),
        };
      }
      case 'parallel': {
        const count = this.int(2, 3);
        const branches = Array.from({ length: count }, () => this.list(depth + 1, this.int(1, 3)));
        return {
          id,
          type: 'parallel',
          branches: branches.map((b) => ({ steps: b.steps })),
          require: this.pick(['all', 'all', 1, count - 1]),
          ...maybe('onError', forward(i)),
        };
      }
      case 'notify':
        return {
          id,
          type: 'notify',
          channel: this.pick(['email', 'slack']),
          to: this.chance(0.5) ? '{{trigger.user.email}}' : 'ops@example.com',
          message: `Run {{run.id}}: {{amount}} in {{region}} (${id})`,
          ...maybe('onError', forward(i), 0.2),
        };
      default:
        return { id, type: 'delay', duration: `${this.int(1, 120)}m` };
    }
  }
}

function answers(rng: Rng, gen: Generator): ScenarioAnswer | ScenarioAnswer[] {
  const one = (): ScenarioAnswer => {
    const roll = rng();
    if (roll < 0.65) return { result: { ok: true, id: `r${Math.floor(rng() * 100)}` } };
    if (roll < 0.85) return { error: { code: 'Unavailable', message: 'try later' } };
    if (roll < 0.93) return { error: { code: 'PolicyDenied', message: 'no', retryable: false } };
    return { result: { ok: true, slow: true }, after: `${gen.int(1, 120)}s` };
  };
  return rng() < 0.5 ? one() : Array.from({ length: gen.int(2, 4) }, one);
}

export interface RandomWorkflow {
  seed: number;
  yaml: string;
  scenario: Scenario;
}

export function randomWorkflow(seed: number): RandomWorkflow {
  const rng = seededRng(seed);
  const gen = new Generator(rng, 2);
  const { steps } = gen.list(0, gen.int(2, 7));
  const definition = {
    version: 1,
    id: `random-${seed}`,
    inputs: {
      type: 'object',
      properties: {
        amount: { type: 'number' },
        region: { type: 'string' },
        urgent: { type: 'boolean' },
        note: { type: 'string' },
      },
    },
    timeout: gen.chance(0.3) ? `${gen.int(1, 10)}d` : undefined,
    steps,
  };
  const decisions: NonNullable<ScenarioCase['approvals']> = {};
  for (const { id } of gen.approvalSteps) {
    if (gen.chance(0.2)) continue;
    decisions[id] = Array.from({ length: gen.int(1, 3) }, () => ({
      by: gen.pick(USERS).email,
      decision: gen.chance(0.7) ? ('approve' as const) : ('reject' as const),
      after: `${gen.int(1, 30)}h`,
    }));
  }
  // Answers per step, so that branches calling one tool at the same instant each get theirs whichever
  // calls first (targets may order simultaneous calls differently); a step without answers is unmocked.
  const answersByStep: NonNullable<ScenarioCase['steps']> = {};
  for (const id of gen.toolSteps) if (gen.chance(0.9)) answersByStep[id] = answers(rng, gen);
  const c: ScenarioCase = {
    name: `random workflow ${seed}`,
    as: 'ann@example.com',
    input: {
      amount: gen.int(0, 1200),
      region: gen.pick(['eu', 'us', 'apac']),
      urgent: gen.chance(0.5),
      note: gen.pick(['x marks', 'plain']),
    },
    steps: answersByStep,
    ...(gen.chance(0.2) ? { channels: { slack: { error: { code: 'SlackDown' } } } } : {}),
    ...(Object.keys(decisions).length > 0 ? { approvals: decisions } : {}),
    ...(gen.chance(0.12) ? { cancel: { after: `${gen.int(1, 720)}m` } } : {}),
    expect: { status: 'completed' },
  };
  const text = stringify(JSON.parse(JSON.stringify(definition)) as unknown);
  return { seed, yaml: text, scenario: { workflow: `random-${seed}.yaml`, directory: USERS, cases: [c] } };
}
