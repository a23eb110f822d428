// Summarises a V8 .cpuprofile (from `node --cpu-prof --import tsx bench/engine-*.ts`): the top functions
// by self time and by total (inclusive) time, with their share of the sampled time. Not a benchmark.
//   npx tsx bench/engine-profile-summary.ts <file.cpuprofile> [top=25] [filter-substring]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: npx tsx bench/engine-profile-summary.ts <file.cpuprofile> [top] [filter]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

function label(frame: CallFrame): string {
  const where = frame.url
    ? `${frame.url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '')}:${frame.lineNumber + 1}`
    : '';
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

const selfUs = new Map<number, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  totalUs += delta;
});

// Native better-sqlite3 methods (statement run/get/all, exec) have no script URL; their self time is SQLite
// itself. Attributed to the calling function, BEGIN/COMMIT shows up as `run` called from sqliteTransaction.
const NATIVE_SQLITE = new Set(['run', 'get', 'all', 'iterate', 'exec', 'pragma']);
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const nativeByCaller = new Map<string, number>();
const byArea = new Map<string, number>();
function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (url === '' && NATIVE_SQLITE.has(functionName)) return 'SQLite (native statement/commit calls)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(idle)') return '(idle)';
  if (url.includes('/functions/core/') || url.includes('/translator/'))
    return 'orchestrator (functions/core, translator)';
  if (url.includes('/adapters/')) return 'host JS (adapters/local)';
  if (url.includes('/bench/')) return 'benchmark harness';
  if (url.includes('better-sqlite3')) return 'better-sqlite3 JS wrappers';
  if (url.startsWith('node:') || url === '') return 'node internals / other native';
  return 'other JS (node_modules)';
}
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (node === undefined) continue;
  const key = label(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + us);
  const a = area(node);
  byArea.set(a, (byArea.get(a) ?? 0) + us);
  if (a.startsWith('SQLite')) {
    const caller = byId.get(parent.get(id) ?? -1);
    const k = `${node.callFrame.functionName} from ${caller ? label(caller.callFrame) : '?'}`;
    nativeByCaller.set(k, (nativeByCaller.get(k) ?? 0) + us);
  }
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const k = label((byId.get(at) as ProfileNode).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

const idle = self.get('(idle)') ?? 0;
const busy = totalUs - idle;
function print(title: string, table: Map<string, number>): void {
  console.log(
    `${title} (share of busy time ${(busy / 1000).toFixed(0)} ms; idle ${(idle / 1000).toFixed(0)} ms)`,
  );
  const rows = [...table]
    .filter(([k]) => k !== '(idle)' && k !== '(root)' && (filter === undefined || k.includes(filter)))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [key, us] of rows)
    console.log(
      `  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`,
    );
}
print('self time by area', byArea);
print('native SQLite time by calling function', nativeByCaller);
print('top self time', self);
print('top total time', inclusive);
