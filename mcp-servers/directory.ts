// Sandbox directory server (a Google Workspace / Entra ID stand-in): accounts, groups and managers kept in
// `directory.sqlite`, seeded with a few demo users on first start.
//   STEPGATE_DIRECTORY_DOMAIN  the domain of new accounts (default example.com)

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
  CREATE TABLE IF NOT EXISTS users (
    email TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    department TEXT,
    manager TEXT,
    role TEXT NOT NULL DEFAULT 'member',
    start_date TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, description TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS memberships (
    email TEXT NOT NULL REFERENCES users (email),
    group_name TEXT NOT NULL REFERENCES groups (name),
    added_by TEXT,
    added_at TEXT NOT NULL,
    PRIMARY KEY (email, group_name)
  );
`;

const SEED_GROUPS: Array<[string, string]> = [
  ['all-staff', 'Everyone'],
  ['engineering', 'Engineering department'],
  ['finance', 'Finance department'],
  ['sales', 'Sales department'],
  ['marketing', 'Marketing department'],
  ['operations', 'Operations department'],
  ['people', 'People (HR) department'],
  ['engineering-managers', 'Engineering managers'],
  ['leadership', 'Directors and above'],
];

const SEED_USERS = [
  {
    email: 'frank@example.com',
    name: 'Frank Director',
    department: 'operations',
    manager: null,
    role: 'director',
    groups: ['leadership'],
  },
  {
    email: 'erin@example.com',
    name: 'Erin Manager',
    department: 'sales',
    manager: 'frank@example.com',
    role: 'manager',
    groups: ['sales'],
  },
  {
    email: 'dana@example.com',
    name: 'Dana Seller',
    department: 'sales',
    manager: 'erin@example.com',
    role: 'member',
    groups: ['sales'],
  },
  {
    email: 'pat@example.com',
    name: 'Pat Lead',
    department: 'engineering',
    manager: 'frank@example.com',
    role: 'manager',
    groups: ['engineering', 'engineering-managers'],
  },
  {
    email: 'sam@example.com',
    name: 'Sam Engineer',
    department: 'engineering',
    manager: 'pat@example.com',
    role: 'member',
    groups: ['engineering'],
  },
];

function seed(db: Db): void {
  const at = nowIso();
  const group = db.prepare('INSERT INTO groups (name, description) VALUES (?, ?)');
  for (const [name, description] of SEED_GROUPS) group.run(name, description);
  const user = db.prepare(
    `INSERT INTO users (email, user_id, full_name, department, manager, role, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'seed', ?)`,
  );
  const member = db.prepare(
    `INSERT INTO memberships (email, group_name, added_by, added_at) VALUES (?, ?, 'seed', ?)`,
  );
  for (const u of SEED_USERS) {
    user.run(u.email, newId('u'), u.name, u.department, u.manager, u.role, at);
    for (const g of ['all-staff', ...u.groups]) member.run(u.email, g, at);
  }
}

type UserRow = {
  email: string;
  user_id: string;
  full_name: string;
  department: string | null;
  manager: string | null;
  role: string;
  start_date: string | null;
  created_at: string;
};

/** `Zoë O'Brien-Smith` → `zoe.obrien-smith`. */
function localPart(fullName: string): string {
  const words = fullName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/[^a-z0-9-]/g, ''))
    .filter((w) => w.length > 0);
  if (words.length === 0) throw new ToolError(`cannot make an email address from the name '${fullName}'`);
  const first = words[0] as string;
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  return last ? `${first}.${last}` : first;
}

/** Registers the tools, one function each, over the helpers they share. */
function register(server: McpServer, db: Db, domain: string): void {
  const helpers = toolHelpers(db);
  createAccountTool(server, db, domain, helpers);
  assignGroupsTool(server, db, helpers);
  getUserTool(server, helpers);
  listUsersTool(server, db, helpers);
}

/** The statements and views the tools share. */
function toolHelpers(db: Db) {
  const getUser = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
  const groupsOf = (email: string) =>
    db
      .prepare<[string], { group_name: string }>(
        'SELECT group_name FROM memberships WHERE email = ? ORDER BY group_name',
      )
      .all(email)
      .map((r) => r.group_name);
  const userView = (row: UserRow) => ({
    email: row.email,
    userId: row.user_id,
    fullName: row.full_name,
    department: row.department,
    manager: row.manager,
    role: row.role,
    startDate: row.start_date,
    groups: groupsOf(row.email),
    createdAt: row.created_at,
  });
  return { getUser, groupsOf, userView };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `directory-create-account`: Create an account. */
function createAccountTool(server: McpServer, db: Db, domain: string, { getUser, userView }: Helpers): void {
  server.registerTool(
    'directory-create-account',
    {
      title: 'Create an account',
      description:
        `Creates the directory account of a new hire (first.last@${domain}, numbered when taken) and ` +
        'returns it with its email. With an idempotency key a repeated call returns the same account.',
      inputSchema: {
        fullName: z.string().trim().min(1).max(200).describe('The new hire’s full name'),
        department: z.string().min(1).max(100).describe('Department, e.g. engineering'),
        manager: z.email().describe('Email of their manager'),
        startDate: z.iso.date().describe('First day, YYYY-MM-DD'),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Create an account',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      const who = identityOf(args);
      const result = onceByKey(db, 'directory-create-account', idempotencyKeyOf(args, extra), () => {
        const base = localPart(args.fullName);
        let email = `${base}@${domain}`;
        for (let n = 2; getUser.get(email); n++) email = `${base}${n}@${domain}`;
        db.prepare(
          `INSERT INTO users (email, user_id, full_name, department, manager, role, start_date, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, 'member', ?, ?, ?)`,
        ).run(
          email,
          newId('u'),
          args.fullName,
          args.department,
          args.manager,
          args.startDate,
          who.email,
          nowIso(),
        );
        const row = getUser.get(email);
        if (!row) throw new Error(`account ${email} vanished`);
        return { ...userView(row), managerKnown: getUser.get(args.manager) !== undefined };
      });
      return jsonResult(result);
    },
  );
}

/** `directory-assign-groups`: Assign groups. */
function assignGroupsTool(server: McpServer, db: Db, { getUser, groupsOf }: Helpers): void {
  server.registerTool(
    'directory-assign-groups',
    {
      title: 'Assign groups',
      description:
        'Adds an account to groups (all of them or none: an unknown account or group is an error). ' +
        'Groups it is already in are left as they are.',
      inputSchema: {
        email: z.email().describe('The account'),
        groups: z
          .array(z.string().min(1))
          .min(1)
          .max(50)
          .describe('Group names, e.g. engineering, all-staff'),
        ...identityShape,
      },
      annotations: {
        title: 'Assign groups',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const who = identityOf(args);
      return db.transaction(() => {
        if (!getUser.get(args.email)) throw new ToolError(`no account ${args.email}`);
        const known = new Set(
          db
            .prepare<[], { name: string }>('SELECT name FROM groups')
            .all()
            .map((g) => g.name),
        );
        const unknown = args.groups.filter((g) => !known.has(g));
        if (unknown.length > 0) {
          throw new ToolError(
            `unknown group(s) ${unknown.join(', ')}; known: ${[...known].sort().join(', ')}`,
          );
        }
        const before = new Set(groupsOf(args.email));
        const added: string[] = [];
        const insert = db.prepare(
          'INSERT INTO memberships (email, group_name, added_by, added_at) VALUES (?, ?, ?, ?)',
        );
        for (const g of new Set(args.groups)) {
          if (before.has(g)) continue;
          insert.run(args.email, g, who.email, nowIso());
          added.push(g);
        }
        return jsonResult({
          ok: true,
          email: args.email,
          added,
          alreadyMember: args.groups.filter((g) => before.has(g)),
          groups: groupsOf(args.email),
        });
      })();
    },
  );
}

/** `directory-get-user`: Look up an account. */
function getUserTool(server: McpServer, { getUser, userView }: Helpers): void {
  server.registerTool(
    'directory-get-user',
    {
      title: 'Look up an account',
      description: 'Returns an account with its manager, role and groups.',
      inputSchema: { email: z.string().min(1).describe('The account'), ...identityShape },
      annotations: { title: 'Look up an account', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const row = getUser.get(args.email);
      if (!row) throw new ToolError(`no account ${args.email}`);
      return jsonResult(userView(row));
    },
  );
}

/** `directory-list-users`: List accounts. */
function listUsersTool(server: McpServer, db: Db, { userView }: Helpers): void {
  server.registerTool(
    'directory-list-users',
    {
      title: 'List accounts',
      description: 'Lists accounts, optionally only the members of one group.',
      inputSchema: { group: optionalText(100).describe('Only members of this group'), ...identityShape },
      annotations: { title: 'List accounts', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const group = text(args.group);
      const rows = group
        ? db
            .prepare<[string], UserRow>(
              `SELECT u.* FROM users u JOIN memberships m ON m.email = u.email
               WHERE m.group_name = ? ORDER BY u.email`,
            )
            .all(group)
        : db.prepare<[], UserRow>('SELECT * FROM users ORDER BY email').all();
      return jsonResult({ users: rows.map(userView) });
    },
  );
}

const db = openStateDb('directory', SCHEMA, seed);
const domain = process.env.STEPGATE_DIRECTORY_DOMAIN || 'example.com';
await runServer('directory', db, (server) => register(server, db, domain));
