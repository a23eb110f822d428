// Checks across steps, on the IR: unique ids, jump targets, reachability, busy loops, and that every
// variable a template or condition reads is set on every path that leads to it.
import { didYouMean, type PathSegment, type PendingDiagnostic, pointerSegments } from './diagnostics.js';
import { expressionPaths } from './expression.js';
import { APPROVAL_RESULT_FIELDS, END, edgesOf, type IrGraph, type IrNode, type IrWorkflow } from './ir.js';
import { type Template, templateRefs } from './template.js';
import { assertNever } from './util.js';
import { type VarSet, VarUniverse } from './var-set.js';

/** Fields of the built-in variables a template or condition may read. */
export const BUILTIN_FIELDS: Readonly<Record<string, Record<string, readonly string[] | null>>> = {
  trigger: { type: null, user: ['email', 'role', 'groups', 'manager', 'name'] },
  run: { id: null, startedAt: null, workflowId: null },
  error: { code: null, message: null, step: null },
};
const ERROR_VAR = 'error';

interface Scope {
  graph: IrGraph;
  /** Parallel branch this graph is, or undefined for the workflow's own steps. */
  parent: IrNode | undefined;
  ids: Set<string>;
}

/** What the checks may rely on; a definition salvaged from structural errors may have had guesses made. */
export interface GraphCheckOptions {
  /** False when some jump was guessed: reachability, loops and "set on every path" are not reported. */
  flowKnown?: boolean;
  /** False when some input or result name is unknown: a variable nobody sets is not reported. */
  variablesKnown?: boolean;
}

export function checkGraph(ir: IrWorkflow, options: GraphCheckOptions = {}): PendingDiagnostic[] {
  return new GraphChecker(ir, options).run();
}

class GraphChecker {
  private readonly problems: PendingDiagnostic[] = [];
  private readonly scopes: Scope[] = [];
  private readonly scopeOf = new Map<string, Scope>();
  private readonly producers = new Map<string, IrNode[]>();
  private readonly nodesById = new Map<string, IrNode>();
  /** Ids given to more than one step: a jump to one is not judged until the duplicate is renamed. */
  private readonly duplicates = new Set<string>();
  private readonly inputNames: Set<string>;
  /** Variables set on every path into each reachable node, from the last (final) analysis of its graph. */
  private readonly available = new Map<string, VarSet>();

  constructor(
    private readonly ir: IrWorkflow,
    private readonly options: GraphCheckOptions,
  ) {
    const properties = (ir.inputs?.properties ?? {}) as Record<string, unknown>;
    this.inputNames = new Set(Object.keys(properties));
  }

  /**
   * Everything in one pass: after a duplicate id or a broken jump the flow is not known, so what depends on
   * it (reachability, loops, "set on every path") waits for the fix, but every variable is still looked up.
   */
  run(): PendingDiagnostic[] {
    this.collect(this.ir.graph, undefined);
    this.checkTargets();
    const flowKnown = this.options.flowKnown !== false && this.problems.length === 0;
    if (flowKnown) {
      for (const scope of this.scopes) this.checkReachable(scope);
      for (const scope of this.scopes) this.checkBusyLoops(scope);
      this.flowVariables(this.ir.graph, this.universe().empty());
    }
    for (const scope of this.scopes) {
      for (const node of scope.graph.nodes) {
        if (!flowKnown) this.checkRefs(node, undefined);
        else {
          const here = this.available.get(node.id);
          if (here !== undefined) this.checkRefs(node, here);
        }
      }
    }
    return this.problems;
  }

  /** Every name the flow analysis can add: the error and each step's result, in every graph. */
  private universe(): VarUniverse {
    const names = [ERROR_VAR];
    for (const scope of this.scopes) {
      for (const node of scope.graph.nodes) {
        const output = outputOf(node);
        if (output !== undefined) names.push(output);
      }
    }
    return new VarUniverse(names);
  }

  private report(
    code: string,
    message: string,
    path: PathSegment[],
    severity: 'error' | 'warning' = 'error',
    offset?: number,
  ): void {
    this.problems.push({ severity, code, message, path, offset });
  }

  private collect(graph: IrGraph, parent: IrNode | undefined): void {
    const scope: Scope = { graph, parent, ids: new Set() };
    this.scopes.push(scope);
    for (const node of graph.nodes) {
      if (this.nodesById.has(node.id)) {
        this.duplicates.add(node.id);
        this.report(
          'duplicate-step-id',
          `duplicate step id '${node.id}': step ids must be unique in the whole workflow`,
          at(node, 'id'),
        );
        continue;
      }
      this.nodesById.set(node.id, node);
      this.scopeOf.set(node.id, scope);
      scope.ids.add(node.id);
      const output = outputOf(node);
      if (output !== undefined) this.producers.set(output, [...(this.producers.get(output) ?? []), node]);
      if (node.kind === 'parallel') for (const branch of node.branches) this.collect(branch, node);
    }
  }

  private checkTargets(): void {
    for (const scope of this.scopes) {
      for (const node of scope.graph.nodes) {
        for (const edge of edgesOf(node)) {
          if (edge.to === END || scope.ids.has(edge.to) || this.duplicates.has(edge.to)) continue;
          const elsewhere = this.scopeOf.get(edge.to);
          const path = at(node, edge.label);
          if (elsewhere === undefined) {
            this.report(
              'unknown-target',
              `'${edge.label}' names step '${edge.to}', which does not exist${didYouMean(edge.to, scope.ids)}`,
              path,
            );
          } else if (scope.parent !== undefined) {
            this.report(
              'jump-out-of-branch',
              `'${edge.label}' jumps to step '${edge.to}' outside this branch of parallel step '${scope.parent.id}': a branch can only jump to its own steps or end`,
              path,
            );
          } else {
            this.report(
              'jump-into-branch',
              `'${edge.label}' jumps to step '${edge.to}' inside a branch of parallel step '${elsewhere.parent?.id ?? ''}': jump to the parallel step instead`,
              path,
            );
          }
        }
      }
    }
  }

  private checkReachable(scope: Scope): void {
    const reached = reachableFrom(scope.graph);
    for (const node of scope.graph.nodes) {
      if (!reached.has(node.id)) {
        this.report(
          'unreachable',
          `step '${node.id}' is never reached: no step jumps to it`,
          at(node, 'id'),
          'warning',
        );
      }
    }
  }

  /** A cycle must pass through a step that waits (approval, delay, or a parallel that always waits). */
  private checkBusyLoops(scope: Scope): void {
    const busy = scope.graph.nodes.filter((node) => !waits(node));
    const busyIds = new Set(busy.map((node) => node.id));
    const successors = (node: IrNode): string[] =>
      edgesOf(node)
        .map((e) => e.to)
        .filter((to) => busyIds.has(to));
    for (const component of stronglyConnected(busy, (id) => this.nodesById.get(id), successors)) {
      const first = component[0];
      if (first === undefined) continue;
      const selfLoop = component.length === 1 && successors(first).includes(first.id);
      if (component.length === 1 && !selfLoop) continue;
      const cycle = [...component.map((n) => n.id), first.id].join(' → ');
      this.report(
        'busy-loop',
        `steps ${cycle} form a loop with no approval or delay step: it would run without end; add a delay or an approval to the loop`,
        at(first, 'id'),
      );
    }
  }

  /**
   * Must-analysis of which variables are set on every path to each node (sweeps in definition order until
   * nothing changes, so a straight chain settles in one pass); returns the set at the graph's end.
   */
  private flowVariables(graph: IrGraph, entry: VarSet): VarSet | undefined {
    const predecessors = new Map<string, Array<{ from: string; label: string }>>();
    for (const node of graph.nodes) {
      for (const edge of edgesOf(node)) {
        predecessors.set(edge.to, [
          ...(predecessors.get(edge.to) ?? []),
          { from: node.id, label: edge.label },
        ]);
      }
    }
    const into = new Map<string, VarSet>();
    const out = new Map<string, Map<string, VarSet>>();
    const incoming = (id: string): VarSet | undefined => {
      let set: VarSet | undefined = id === graph.start ? entry : undefined;
      for (const { from, label } of predecessors.get(id) ?? []) {
        const contribution = out.get(from)?.get(label);
        if (contribution !== undefined) set = set === undefined ? contribution : set.intersect(contribution);
      }
      return set;
    };
    let changed = true;
    while (changed) {
      changed = false;
      for (const node of graph.nodes) {
        const here = incoming(node.id);
        const before = into.get(node.id);
        if (here === undefined || before?.equals(here)) continue;
        into.set(node.id, here);
        changed = true;
        // Every branch is analysed, so its steps' reads are checked; only when all branches must finish
        // are their results set after the parallel.
        const exits = node.kind === 'parallel' ? node.branches.map((b) => this.flowVariables(b, here)) : [];
        const fromBranches =
          node.kind === 'parallel' ? (node.require === 'all' ? unionAll(exits) : undefined) : undefined;
        out.set(
          node.id,
          new Map(
            edgesOf(node).map((edge) => [edge.label, withGenerated(here, node, edge.label, fromBranches)]),
          ),
        );
      }
    }
    for (const [id, set] of into) this.available.set(id, set);
    return incoming(END);
  }

  /** `available` undefined: the flow is not known, so only names are checked, not where they are set. */
  private checkRefs(node: IrNode, available: VarSet | undefined): void {
    for (const ref of refsOf(node)) {
      const problem = this.refProblem(ref.path, node, available);
      if (problem !== undefined) this.report('unknown-variable', problem, ref.location, 'error', ref.offset);
    }
  }

  private refProblem(
    path: readonly string[],
    node: IrNode,
    available: VarSet | undefined,
  ): string | undefined {
    const [root = '', field] = path;
    const builtin = BUILTIN_FIELDS[root];
    if (builtin !== undefined) {
      if (root === ERROR_VAR && available !== undefined && !available.has(ERROR_VAR)) {
        return `'error' is only set on an error path: step '${node.id}' is not reached through an 'onError' on every path`;
      }
      if (field === undefined) return undefined;
      if (!Object.hasOwn(builtin, field)) {
        return `'${root}' has no field '${field}'${didYouMean(field, Object.keys(builtin))}; it has ${Object.keys(builtin).join(', ')}`;
      }
      const subfields = builtin[field];
      const sub = path[2];
      if (subfields && sub !== undefined && !subfields.includes(sub)) {
        return `'${root}.${field}' has no field '${sub}'${didYouMean(sub, subfields)}; it has ${subfields.join(', ')}`;
      }
      return undefined;
    }
    if (this.inputNames.has(root)) return undefined;
    const producers = this.producers.get(root);
    if (producers !== undefined) {
      if (available !== undefined && !available.has(root)) {
        if (producers.length === 1 && producers[0] === node)
          return `step '${node.id}' cannot read its own result '${root}'`;
        const names = producers.map((p) => `'${p.id}'`).join(' or ');
        return `'${root}' may not be set here: step ${names} does not run before step '${node.id}' on every path`;
      }
      if (
        field !== undefined &&
        producers.every((p) => p.kind === 'approval') &&
        !(APPROVAL_RESULT_FIELDS as readonly string[]).includes(field)
      ) {
        return `an approval result has no field '${field}'${didYouMean(field, APPROVAL_RESULT_FIELDS)}; it has ${APPROVAL_RESULT_FIELDS.join(', ')}`;
      }
      return undefined;
    }
    const step = this.nodesById.get(root);
    if (step !== undefined) {
      const output = outputOf(step);
      return output === undefined
        ? `step '${root}' is a ${step.kind} step and has no result to read`
        : `step '${root}' stores its result as '${output}': read {{${[output, ...path.slice(1)].join('.')}}}`;
    }
    if (this.options.variablesKnown === false) return undefined;
    const known = [...this.inputNames, ...this.producers.keys(), ...Object.keys(BUILTIN_FIELDS)];
    const inputsHint = this.ir.inputs === null ? ' (this workflow declares no inputs)' : '';
    return `unknown variable '${root}'${didYouMean(root, known)}: variables are input fields${inputsHint}, step results, trigger, run and error`;
  }
}

interface Ref {
  path: readonly string[];
  location: PathSegment[];
  offset: number;
}

/** Every variable a node reads, with where it is written in the definition. */
function refsOf(node: IrNode): Ref[] {
  const fromTemplate = (template: Template, location: PathSegment[]): Ref[] =>
    templateRefs(template).map((ref) => ({
      path: ref.path,
      location: [...location, ...pointerSegments(ref.pointer)],
      offset: ref.start,
    }));
  switch (node.kind) {
    case 'tool':
      return fromTemplate(node.args, at(node, 'args'));
    case 'condition':
      return expressionPaths(node.condition).map((operand) => ({
        path: operand.path,
        location: at(node, 'if'),
        offset: operand.start,
      }));
    case 'approval':
      return [
        ...node.levels.flatMap((level, i) => {
          const levelPath = i === 0 ? at(node) : at(node, 'escalate', i - 1);
          const approvers = level.approvers.flatMap((approver, j) =>
            approver.kind === 'template'
              ? fromTemplate(approver.template, [...levelPath, 'approvers', j])
              : [],
          );
          const shared = i > 0 && level.message === node.levels[0]?.message;
          return shared
            ? approvers
            : [...approvers, ...fromTemplate(level.message, [...levelPath, 'message'])];
        }),
        ...(node.context?.details ?? []).flatMap((detail, i) =>
          fromTemplate(detail.value, at(node, 'details', i, 'value')),
        ),
      ];
    case 'notify':
      return [
        ...node.to.flatMap((to, i) =>
          fromTemplate(to, node.to.length === 1 ? at(node, 'to') : at(node, 'to', i)),
        ),
        ...(node.subject === null ? [] : fromTemplate(node.subject, at(node, 'subject'))),
        ...fromTemplate(node.message, at(node, 'message')),
      ];
    case 'delay':
      return node.wait.kind === 'until' ? fromTemplate(node.wait.time, at(node, 'until')) : [];
    case 'parallel':
      return [];
    default:
      return assertNever(node, 'IR node');
  }
}

function at(node: IrNode, ...rest: PathSegment[]): PathSegment[] {
  return [...pointerSegments(node.source), ...rest];
}

function outputOf(node: IrNode): string | undefined {
  return node.kind === 'tool' || node.kind === 'approval' ? node.output : undefined;
}

function withGenerated(here: VarSet, node: IrNode, label: string, branchExit: VarSet | undefined): VarSet {
  if (label === 'onError') return here.with([ERROR_VAR]);
  if (node.kind === 'tool' || node.kind === 'approval') return here.with([node.output]);
  if (node.kind === 'parallel' && branchExit !== undefined) return here.union(branchExit);
  return here;
}

/** Whether a node always waits for a person or the clock before it finishes. */
function waits(node: IrNode): boolean {
  if (node.kind === 'approval' || node.kind === 'delay') return true;
  if (node.kind !== 'parallel' || node.require !== 'all') return false;
  return node.branches.some((branch) => waitsOnEveryPath(branch));
}

function waitsOnEveryPath(graph: IrGraph): boolean {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const queue = [graph.start];
  while (queue.length > 0) {
    const id = queue.pop() ?? END;
    if (id === END) return false;
    const node = byId.get(id);
    if (node === undefined || seen.has(id) || waits(node)) continue;
    seen.add(id);
    for (const edge of edgesOf(node)) queue.push(edge.to);
  }
  return true;
}

/** The ids of the steps reachable from the graph's start (its own level: a parallel's branches are graphs of their own). */
export function reachableFrom(graph: IrGraph): Set<string> {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const queue = [graph.start];
  while (queue.length > 0) {
    const id = queue.pop() ?? END;
    const node = byId.get(id);
    if (node === undefined || seen.has(id)) continue;
    seen.add(id);
    for (const edge of edgesOf(node)) queue.push(edge.to);
  }
  return seen;
}

/** Tarjan's algorithm, iterative so that a long chain of steps cannot overflow the stack. */
function stronglyConnected(
  nodes: IrNode[],
  byId: (id: string) => IrNode | undefined,
  successors: (node: IrNode) => string[],
): IrNode[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: IrNode[] = [];
  const components: IrNode[][] = [];
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root.id)) continue;
    const work: Array<{ node: IrNode; next: number; succ: string[] }> = [];
    const open = (node: IrNode): void => {
      index.set(node.id, counter);
      low.set(node.id, counter);
      counter++;
      stack.push(node);
      onStack.add(node.id);
      work.push({ node, next: 0, succ: successors(node) });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const id = frame.succ[frame.next++];
      if (id !== undefined) {
        const child = byId(id);
        if (child === undefined) continue;
        if (!index.has(id)) open(child);
        else if (onStack.has(id))
          low.set(frame.node.id, Math.min(low.get(frame.node.id) ?? 0, index.get(id) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined)
        low.set(parent.node.id, Math.min(low.get(parent.node.id) ?? 0, low.get(frame.node.id) ?? 0));
      if (low.get(frame.node.id) === index.get(frame.node.id)) {
        const component: IrNode[] = [];
        let member: IrNode | undefined;
        do {
          member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member.id);
          component.push(member);
        } while (member !== frame.node);
        components.push(component.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)));
      }
    }
  }
  return components;
}

/** The union of the branches' exits (a branch that never ends adds nothing); undefined when none ends. */
function unionAll(sets: Array<VarSet | undefined>): VarSet | undefined {
  let out: VarSet | undefined;
  for (const set of sets) if (set !== undefined) out = out === undefined ? set : out.union(set);
  return out;
}
