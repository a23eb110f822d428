// Sandbox incidents server (a PagerDuty / Opsgenie stand-in), state in `incidents.sqlite`: incidents with
// their history, pages, services and an on-call rota (seeded on first start).
// Paging records the page in the sandbox pager's inbox (the `pages` table); no device is reached.

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  type Db,
  idempotencyKeyOf,
  idempotencyShape,
  identityOf,
  identityShape,
  jsonResult,
  newId,
  nowIso,
  onceByKey,
  openStateDb,
  optionalText,
  runServer,
  ToolError,
  text,
} from './common.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, team TEXT NOT NULL, tier INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS rota (
    team TEXT NOT NULL,
    position INTEGER NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    slack TEXT NOT NULL,
    PRIMARY KEY (team, position)
  );
  CREATE TABLE IF NOT EXISTS incidents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    service TEXT NOT NULL,
    details TEXT,
    source TEXT,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_seq INTEGER NOT NULL REFERENCES incidents (seq),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    actor TEXT,
    note TEXT
  );
  CREATE TABLE IF NOT EXISTS pages (
    id TEXT PRIMARY KEY,
    incident_seq INTEGER NOT NULL REFERENCES incidents (seq),
    engineer TEXT NOT NULL,
    summary TEXT,
    paged_by TEXT,
    created_at TEXT NOT NULL,
    acknowledged_at TEXT
  );
`;

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];
const STATUSES = [
  'open',
  'triaged',
  'acknowledged',
  'investigating',
  'mitigated',
  'resolved',
  'closed',
  'unacknowledged',
] as const;
const DEFAULT_TEAM = 'platform';

const SEED_SERVICES: Array<[string, string, number]> = [
  ['payments', 'payments', 1],
  ['checkout', 'payments', 1],
  ['auth', 'platform', 1],
  ['api', 'platform', 1],
  ['database', 'platform', 1],
  ['search', 'discovery', 2],
  ['web', 'frontend', 2],
  ['reporting', 'data', 3],
];
const SEED_ROTA: Array<[string, string, string, string, string]> = [
  ['platform', 'sam@example.com', 'Sam Engineer', '+15550100', '@sam'],
  ['platform', 'pat@example.com', 'Pat Lead', '+15550101', '@pat'],
  ['platform', 'alex@example.com', 'Alex Ops', '+15550102', '@alex'],
  ['payments', 'riley@example.com', 'Riley Payments', '+15550110', '@riley'],
  ['payments', 'jordan@example.com', 'Jordan Ledger', '+15550111', '@jordan'],
  ['discovery', 'casey@example.com', 'Casey Search', '+15550120', '@casey'],
  ['frontend', 'morgan@example.com', 'Morgan Web', '+15550130', '@morgan'],
  ['data', 'quinn@example.com', 'Quinn Data', '+15550140', '@quinn'],
];

function seed(db: Db): void {
  const service = db.prepare('INSERT INTO services (name, team, tier) VALUES (?, ?, ?)');
  for (const s of SEED_SERVICES) service.run(...s);
  const rota = db.prepare(
    'INSERT INTO rota (team, position, email, name, phone, slack) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const positions = new Map<string, number>();
  for (const [team, ...rest] of SEED_ROTA) {
    const position = positions.get(team) ?? 0;
    positions.set(team, position + 1);
    rota.run(team, position, ...rest);
  }
}

const RULES: Array<[Severity, RegExp]> = [
  [
    'critical',
    /\b(down|outage|unavailable|unreachable|not responding|data loss|breach|sev ?1|p1|all requests fail\w*)\b/i,
  ],
  ['high', /\b(error rate|errors?|degraded|fail\w*|latency|time ?outs?|5\d\d|sev ?2|p2)\b/i],
  ['medium', /\b(slow|warning|disk|cpu|memory|queue|backlog|retr\w*|sev ?3|p3)\b/i],
];

function assessSeverity(
  title: string,
  details: string | null,
  tier: number | null,
): { severity: Severity; reasons: string[] } {
  const reasons: string[] = [];
  let severity: Severity = 'low';
  for (const [level, pattern] of RULES) {
    const match = pattern.exec(title) ?? (details ? pattern.exec(details) : null);
    if (match) {
      severity = level;
      reasons.push(`mentions '${match[0]}' (${level})`);
      break;
    }
  }
  if (reasons.length === 0) reasons.push('no severity keyword (low)');
  if (tier === 1 && (severity === 'high' || severity === 'medium')) {
    severity = SEVERITIES[SEVERITIES.indexOf(severity) + 1] as Severity;
    reasons.push(`tier-1 service: raised to ${severity}`);
  }
  return { severity, reasons };
}

type IncidentRow = {
  seq: number;
  title: string;
  service: string;
  details: string | null;
  source: string | null;
  severity: string;
  status: string;
  owner: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
};
type RotaRow = { team: string; position: number; email: string; name: string; phone: string; slack: string };

const WEEK_MS = 7 * 24 * 3600 * 1000;
const FIRST_MONDAY_MS = Date.UTC(1970, 0, 5);

/** Registers the tools, one function each, over the helpers they share. */
function register(server: McpServer, db: Db): void {
  const helpers = toolHelpers(db);
  assessTool(server, db, helpers);
  oncallTool(server, db, helpers);
  pageTool(server, db, helpers);
  acknowledgeTool(server, db, helpers);
  updateStatusTool(server, db, helpers);
  getTool(server, db, helpers);
}

/** The statements and views the tools share. */
function toolHelpers(db: Db) {
  const incidentId = (seq: number) => `INC-${seq}`;
  const getIncident = (id: string): IncidentRow => {
    const m = /^INC-(\d+)$/i.exec(id.trim());
    const row = m
      ? db.prepare<[number], IncidentRow>('SELECT * FROM incidents WHERE seq = ?').get(Number(m[1]))
      : undefined;
    if (!row) throw new ToolError(`no incident ${id}`);
    return row;
  };
  const view = (r: IncidentRow) => ({
    incidentId: incidentId(r.seq),
    title: r.title,
    service: r.service,
    details: r.details,
    source: r.source,
    severity: r.severity,
    status: r.status,
    owner: r.owner,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
  const addEvent = (
    seq: number,
    kind: string,
    status: string | null,
    actor: string | null,
    note: string | null,
  ) =>
    db
      .prepare('INSERT INTO events (incident_seq, at, kind, status, actor, note) VALUES (?, ?, ?, ?, ?, ?)')
      .run(seq, nowIso(), kind, status, actor, note);
  const setStatus = (
    row: IncidentRow,
    status: string,
    owner: string | null,
    actor: string | null,
    note: string | null,
  ) => {
    db.prepare(
      'UPDATE incidents SET status = ?, owner = coalesce(?, owner), updated_at = ? WHERE seq = ?',
    ).run(status, owner, nowIso(), row.seq);
    addEvent(row.seq, 'status', status, actor, note);
  };
  const serviceOf = (name: string) =>
    db
      .prepare<[string], { team: string; tier: number }>('SELECT team, tier FROM services WHERE name = ?')
      .get(name);
  return { incidentId, getIncident, view, addEvent, setStatus, serviceOf };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `incidents-assess`: Assess an alert. */
function assessTool(
  server: McpServer,
  db: Db,
  { incidentId, getIncident, view, addEvent, serviceOf }: Helpers,
): void {
  server.registerTool(
    'incidents-assess',
    {
      title: 'Assess an alert',
      description:
        'Opens an incident for an alert and rates its severity (low, medium, high, critical) from keywords in ' +
        'the title and details; an alert on a tier-1 service is raised one level (medium to high, high to ' +
        'critical). Returns the incident id, severity and the reasons. With an idempotency key a repeated ' +
        'call returns the same incident.',
      inputSchema: {
        title: z.string().trim().min(1).max(200),
        service: z.string().trim().min(1).max(100),
        details: optionalText(5000),
        source: optionalText(200).describe('The monitoring system that raised the alert'),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Assess an alert',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      const result = onceByKey(db, 'incidents-assess', idempotencyKeyOf(args, extra), () => {
        const service = serviceOf(args.service);
        const details = text(args.details);
        const { severity, reasons } = assessSeverity(args.title, details, service?.tier ?? null);
        const at = nowIso();
        const who = identityOf(args).email;
        const info = db
          .prepare(
            `INSERT INTO incidents (title, service, details, source, severity, status, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?)`,
          )
          .run(args.title, args.service, details, text(args.source), severity, who, at, at);
        const seq = Number(info.lastInsertRowid);
        addEvent(seq, 'opened', 'open', who, reasons.join('; '));
        return {
          ...view(getIncident(incidentId(seq))),
          reasons,
          team: service?.team ?? DEFAULT_TEAM,
          tier: service?.tier ?? null,
        };
      });
      return jsonResult(result);
    },
  );
}

/** `incidents-oncall`: Who is on call. */
function oncallTool(server: McpServer, db: Db, { serviceOf }: Helpers): void {
  server.registerTool(
    'incidents-oncall',
    {
      title: 'Who is on call',
      description:
        "Returns who is on call for a service: its team's weekly rota (weeks start Monday 00:00 UTC); " +
        `services not in the catalogue go to the ${DEFAULT_TEAM} team.`,
      inputSchema: {
        service: z.string().trim().min(1).max(100),
        at: z.iso.datetime({ offset: true }).optional().describe('When (default now)'),
        ...identityShape,
      },
      annotations: {
        title: 'Who is on call',
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const team = serviceOf(args.service)?.team ?? DEFAULT_TEAM;
      const rota = db
        .prepare<[string], RotaRow>('SELECT * FROM rota WHERE team = ? ORDER BY position')
        .all(team);
      if (rota.length === 0) throw new ToolError(`team ${team} has nobody on its rota`);
      const at = args.at ? Date.parse(args.at) : Date.now();
      const week = Math.floor((at - FIRST_MONDAY_MS) / WEEK_MS);
      const person = rota[week % rota.length] as RotaRow;
      return jsonResult({
        email: person.email,
        name: person.name,
        phone: person.phone,
        slack: person.slack,
        team,
        service: args.service,
        from: new Date(FIRST_MONDAY_MS + week * WEEK_MS).toISOString(),
        until: new Date(FIRST_MONDAY_MS + (week + 1) * WEEK_MS).toISOString(),
        next: (rota[(week + 1) % rota.length] as RotaRow).email,
      });
    },
  );
}

/** `incidents-page`: Page an engineer. */
function pageTool(server: McpServer, db: Db, { incidentId, getIncident, addEvent }: Helpers): void {
  server.registerTool(
    'incidents-page',
    {
      title: 'Page an engineer',
      description:
        "Pages an engineer about an incident: the page lands in the sandbox pager's inbox (no phone is " +
        'reached) and is recorded on the incident. With an idempotency key a repeated call pages once.',
      inputSchema: {
        incidentId: z.string().min(1).describe('e.g. INC-12'),
        engineer: z.string().min(1).max(320).describe('Email of the engineer'),
        summary: optionalText(500),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Page an engineer',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      const result = onceByKey(db, 'incidents-page', idempotencyKeyOf(args, extra), () => {
        const incident = getIncident(args.incidentId);
        const id = newId('pg');
        const at = nowIso();
        const who = identityOf(args).email;
        db.prepare(
          'INSERT INTO pages (id, incident_seq, engineer, summary, paged_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(id, incident.seq, args.engineer, text(args.summary), who, at);
        addEvent(incident.seq, 'paged', null, who, `paged ${args.engineer}`);
        return {
          pageId: id,
          incidentId: incidentId(incident.seq),
          engineer: args.engineer,
          delivered: true,
          deliveredTo: 'sandbox pager inbox',
          pagedAt: at,
        };
      });
      return jsonResult(result);
    },
  );
}

/** `incidents-acknowledge`: Acknowledge an incident. */
function acknowledgeTool(
  server: McpServer,
  db: Db,
  { incidentId, getIncident, view, setStatus }: Helpers,
): void {
  server.registerTool(
    'incidents-acknowledge',
    {
      title: 'Acknowledge an incident',
      description:
        'Acknowledges an incident: it becomes `acknowledged`, owned by the engineer (default: the caller), ' +
        'and its pages are marked acknowledged. Acknowledging again changes nothing; a resolved or closed ' +
        'incident cannot be acknowledged.',
      inputSchema: {
        incidentId: z.string().min(1),
        engineer: optionalText(320).describe('Who takes it (default: the user the workflow runs as)'),
        note: optionalText(2000),
        ...identityShape,
      },
      annotations: {
        title: 'Acknowledge an incident',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const engineer = text(args.engineer) ?? identityOf(args).email;
      if (!engineer) throw new ToolError('who acknowledges? pass `engineer` or run as a user');
      return db.transaction(() => {
        const incident = getIncident(args.incidentId);
        if (incident.status === 'resolved' || incident.status === 'closed') {
          throw new ToolError(`incident ${incidentId(incident.seq)} is already ${incident.status}`);
        }
        const already = incident.status === 'acknowledged';
        if (!already) {
          setStatus(incident, 'acknowledged', engineer, engineer, text(args.note));
          db.prepare(
            'UPDATE pages SET acknowledged_at = ? WHERE incident_seq = ? AND acknowledged_at IS NULL',
          ).run(nowIso(), incident.seq);
        }
        return jsonResult({ ok: true, alreadyAcknowledged: already, ...view(getIncident(args.incidentId)) });
      })();
    },
  );
}

/** `incidents-update-status`: Update incident status. */
function updateStatusTool(server: McpServer, db: Db, { getIncident, view, setStatus }: Helpers): void {
  server.registerTool(
    'incidents-update-status',
    {
      title: 'Update incident status',
      description:
        "Sets an incident's status (and owner, when given) and records it in the incident's history with the " +
        'note. Setting the status it already has records the note and changes nothing else.',
      inputSchema: {
        incidentId: z.string().min(1),
        status: z.enum(STATUSES),
        owner: optionalText(320),
        note: optionalText(2000),
        ...identityShape,
      },
      annotations: {
        title: 'Update incident status',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      return db.transaction(() => {
        const incident = getIncident(args.incidentId);
        setStatus(incident, args.status, text(args.owner), identityOf(args).email, text(args.note));
        return jsonResult({
          ok: true,
          previousStatus: incident.status,
          ...view(getIncident(args.incidentId)),
        });
      })();
    },
  );
}

/** `incidents-get`: Get an incident. */
function getTool(server: McpServer, db: Db, { getIncident, view }: Helpers): void {
  server.registerTool(
    'incidents-get',
    {
      title: 'Get an incident',
      description: 'Returns an incident with its history and pages.',
      inputSchema: { incidentId: z.string().min(1), ...identityShape },
      annotations: { title: 'Get an incident', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const incident = getIncident(args.incidentId);
      const events = db
        .prepare('SELECT at, kind, status, actor, note FROM events WHERE incident_seq = ? ORDER BY id')
        .all(incident.seq);
      const pages = db
        .prepare(
          `SELECT id AS pageId, engineer, summary, paged_by AS pagedBy, created_at AS pagedAt,
             acknowledged_at AS acknowledgedAt
           FROM pages WHERE incident_seq = ? ORDER BY rowid`,
        )
        .all(incident.seq);
      return jsonResult({ ...view(incident), events, pages });
    },
  );
}

const db = openStateDb('incidents', SCHEMA, seed);
await runServer('incidents', db, (server) => register(server, db));
