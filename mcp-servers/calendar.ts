// Sandbox calendar server: meetings and rooms kept in `calendar.sqlite`. Scheduling on a date finds the
// first half-hour slot in working hours (09:00-17:00 UTC) when no attendee is busy, and a free room.

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
  CREATE TABLE IF NOT EXISTS rooms (name TEXT PRIMARY KEY, capacity INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    location TEXT NOT NULL,
    organizer TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS attendees (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    email TEXT NOT NULL,
    PRIMARY KEY (meeting_id, email)
  );
`;

const SEED_ROOMS: Array<[string, number]> = [
  ['Room 1 (HQ, 2nd floor)', 4],
  ['Room 2 (HQ, 2nd floor)', 8],
  ['Auditorium (HQ, ground floor)', 60],
];

const DAY_START_MINUTES = 9 * 60;
const DAY_END_MINUTES = 17 * 60;
const SLOT_MINUTES = 30;

function seed(db: Db): void {
  const insert = db.prepare('INSERT INTO rooms (name, capacity) VALUES (?, ?)');
  for (const [name, capacity] of SEED_ROOMS) insert.run(name, capacity);
}

type MeetingRow = {
  id: string;
  title: string;
  start: string;
  end: string;
  location: string;
  organizer: string | null;
  created_at: string;
};

/** Registers the tools, one function each, over the helpers they share. */
function register(server: McpServer, db: Db): void {
  const helpers = toolHelpers(db);
  scheduleMeetingTool(server, db, helpers);
  listMeetingsTool(server, db, helpers);
}

/** The statements and views the tools share. */
function toolHelpers(db: Db) {
  const attendeesOf = (id: string) =>
    db
      .prepare<[string], { email: string }>('SELECT email FROM attendees WHERE meeting_id = ? ORDER BY rowid')
      .all(id)
      .map((r) => r.email);
  const view = (m: MeetingRow) => ({
    meetingId: m.id,
    title: m.title,
    start: m.start,
    end: m.end,
    location: m.location,
    organizer: m.organizer,
    attendees: attendeesOf(m.id),
  });
  // ISO strings in UTC with the same format compare like the instants they name.
  const attendeeBusy = db.prepare<[string, string, string], { n: number }>(
    `SELECT count(*) AS n FROM meetings m JOIN attendees a ON a.meeting_id = m.id
     WHERE a.email = ? AND m.start < ? AND m.end > ?`,
  );
  const roomBusy = db.prepare<[string, string, string], { n: number }>(
    'SELECT count(*) AS n FROM meetings WHERE location = ? AND start < ? AND end > ?',
  );
  return { attendeesOf, view, attendeeBusy, roomBusy };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `calendar-schedule-meeting`: Schedule a meeting. */
function scheduleMeetingTool(server: McpServer, db: Db, { view, attendeeBusy, roomBusy }: Helpers): void {
  server.registerTool(
    'calendar-schedule-meeting',
    {
      title: 'Schedule a meeting',
      description:
        'Books a meeting for the attendees. Given `date`, it takes the first half-hour slot between 09:00 ' +
        'and 17:00 UTC when no attendee is busy; given `start`, exactly then (an error when someone is busy). ' +
        'Picks a free room big enough unless `location` is given. Returns the meeting with start and location.',
      inputSchema: {
        title: z.string().trim().min(1).max(200),
        attendees: z.array(z.string().min(1).max(320)).min(1).max(100).describe('Attendee emails'),
        date: z.iso.date().optional().describe('A day, YYYY-MM-DD: the first free slot that day'),
        start: z.iso.datetime({ offset: true }).optional().describe('An exact start time (ISO 8601)'),
        durationMinutes: z.number().int().min(5).max(480).default(30),
        location: optionalText(200).describe('A place; when missing a free room is booked'),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Schedule a meeting',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      if (!args.date && !args.start) throw new ToolError('give a date or a start time');
      const attendees = [...new Set(args.attendees.map((a) => a.trim().toLowerCase()))];
      const durationMs = args.durationMinutes * 60_000;
      const fixedLocation = text(args.location);
      const rooms = db
        .prepare<[number], { name: string }>('SELECT name FROM rooms WHERE capacity >= ? ORDER BY capacity')
        .all(attendees.length)
        .map((r) => r.name);
      const result = onceByKey(db, 'calendar-schedule-meeting', idempotencyKeyOf(args, extra), () => {
        const candidates: number[] = [];
        if (args.start) {
          candidates.push(Date.parse(args.start));
        } else {
          const day = Date.parse(`${args.date}T00:00:00Z`);
          for (let m = DAY_START_MINUTES; m + args.durationMinutes <= DAY_END_MINUTES; m += SLOT_MINUTES) {
            candidates.push(day + m * 60_000);
          }
        }
        for (const startMs of candidates) {
          const start = new Date(startMs).toISOString();
          const end = new Date(startMs + durationMs).toISOString();
          const busy = attendees.filter((a) => (attendeeBusy.get(a, end, start)?.n ?? 0) > 0);
          if (busy.length > 0) {
            if (args.start) throw new ToolError(`busy at ${start}: ${busy.join(', ')}`);
            continue;
          }
          const location = fixedLocation ?? rooms.find((r) => (roomBusy.get(r, end, start)?.n ?? 0) === 0);
          if (!location) {
            if (args.start) throw new ToolError(`no free room for ${attendees.length} at ${start}`);
            continue;
          }
          const id = newId('mtg');
          db.prepare(
            'INSERT INTO meetings (id, title, start, end, location, organizer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          ).run(id, args.title, start, end, location, identityOf(args).email, nowIso());
          const add = db.prepare('INSERT INTO attendees (meeting_id, email) VALUES (?, ?)');
          for (const a of attendees) add.run(id, a);
          const row = db.prepare<[string], MeetingRow>('SELECT * FROM meetings WHERE id = ?').get(id);
          if (!row) throw new Error(`meeting ${id} vanished`);
          return view(row);
        }
        throw new ToolError(
          `no free ${args.durationMinutes}-minute slot on ${args.date} for ${attendees.join(', ')}`,
        );
      });
      return jsonResult(result);
    },
  );
}

/** `calendar-list-meetings`: List meetings. */
function listMeetingsTool(server: McpServer, db: Db, { view }: Helpers): void {
  server.registerTool(
    'calendar-list-meetings',
    {
      title: 'List meetings',
      description: 'Lists meetings in start order, optionally of one attendee and/or on one day (UTC).',
      inputSchema: {
        attendee: optionalText(320),
        date: z.iso.date().optional(),
        ...identityShape,
      },
      annotations: { title: 'List meetings', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const attendee = text(args.attendee)?.toLowerCase() ?? null;
      const rows = db
        .prepare<[{ attendee: string | null; date: string | null }], MeetingRow>(
          `SELECT * FROM meetings m
           WHERE (@attendee IS NULL
                  OR EXISTS (SELECT 1 FROM attendees a WHERE a.meeting_id = m.id AND a.email = @attendee))
             AND (@date IS NULL OR substr(m.start, 1, 10) = @date)
           ORDER BY m.start, m.rowid`,
        )
        .all({ attendee, date: args.date ?? null });
      return jsonResult({ meetings: rows.map(view) });
    },
  );
}

const db = openStateDb('calendar', SCHEMA, seed);
await runServer('calendar', db, (server) => register(server, db));
