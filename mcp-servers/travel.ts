// Sandbox travel server (a travel-agency stand-in), state in `travel.sqlite`:
// - travel-preferences answers from notes in a hierarchy: the traveller's own, else their group's, else
//   the organisation's (seeded demo notes), and says which level answered;
// - travel-search-flights derives a deterministic fake inventory from route and date (nothing is stored,
//   so the same search always finds the same flights and prices);
// - travel-book re-derives the flight from its id and writes a booking, once per idempotency key.

import { createHash, randomInt } from 'node:crypto';
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
  CREATE TABLE IF NOT EXISTS travelers (email TEXT PRIMARY KEY, groups TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS notes (
    scope TEXT NOT NULL,
    topic TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, topic)
  );
  CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    flight_id TEXT NOT NULL,
    traveler TEXT NOT NULL,
    seat TEXT,
    itinerary TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    booked_by TEXT,
    created_at TEXT NOT NULL
  );
`;

const TOPICS = ['seat', 'airline-policy'] as const;
type Topic = (typeof TOPICS)[number];

const SEED_TRAVELERS: Array<[string, string[]]> = [
  ['dana@example.com', ['sales']],
  ['erin@example.com', ['sales']],
  ['sam@example.com', ['engineering']],
  ['pat@example.com', ['engineering', 'engineering-managers']],
  ['frank@example.com', ['leadership']],
];

const SEED_NOTES: Array<[string, Topic, string]> = [
  ['org', 'seat', 'no preference'],
  [
    'org',
    'airline-policy',
    'Economy on flights under 6 hours, premium economy above; preferred carriers DL, UA; no basic economy',
  ],
  ['group:engineering', 'seat', 'aisle'],
  ['group:sales', 'airline-policy', 'Economy; preferred carrier UA for client visits'],
  ['user:dana@example.com', 'seat', 'window, front of the cabin'],
];

function seed(db: Db): void {
  const traveler = db.prepare('INSERT INTO travelers (email, groups) VALUES (?, ?)');
  for (const [email, groups] of SEED_TRAVELERS) traveler.run(email, JSON.stringify(groups));
  const note = db.prepare('INSERT INTO notes (scope, topic, value) VALUES (?, ?, ?)');
  for (const [scope, topic, value] of SEED_NOTES) note.run(scope, topic, value);
}

// --- the fake inventory -------------------------------------------------------------------------------

const CARRIERS = ['UA', 'DL', 'AA', 'B6', 'AS'];

type Flight = {
  flightId: string;
  carrier: string;
  flightNumber: string;
  origin: string;
  destination: string;
  date: string;
  departs: string;
  arrives: string;
  durationMinutes: number;
  price: number;
  currency: 'usd';
};

function bytes(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('|')).digest();
}

function hhmm(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** Four flights a day on a route, the same for the same route and date. */
function inventory(origin: string, destination: string, date: string): Flight[] {
  const route = bytes([origin, destination].sort().join('-'));
  const duration = 60 + (route.readUInt16BE(0) % 330); // the same both ways
  const day = bytes(origin, destination, date);
  const flights: Flight[] = [];
  for (let i = 0; i < 4; i++) {
    const carrier = CARRIERS[(day[i] ?? 0) % CARRIERS.length] as string;
    const number = String(100 + (day.readUInt16BE(4 + 2 * i) % 900));
    const depart = (6 + i * 4) * 60 + ((day[12 + i] ?? 0) % 4) * 15;
    const price = Math.round(60 + duration * 0.85 + ((day[16 + i] ?? 0) % 140) + (i === 0 ? 40 : 0));
    flights.push({
      flightId: `${carrier}${number}-${origin}${destination}-${date.replaceAll('-', '')}`,
      carrier,
      flightNumber: `${carrier}${number}`,
      origin,
      destination,
      date,
      departs: hhmm(depart),
      arrives: hhmm(depart + duration),
      durationMinutes: duration,
      price,
      currency: 'usd',
    });
  }
  return flights;
}

const LEG_ID = /^([A-Z0-9]{2})(\d{3})-([A-Z]{3})([A-Z]{3})-(\d{4})(\d{2})(\d{2})$/;

function findLeg(id: string): Flight | undefined {
  const m = LEG_ID.exec(id);
  if (!m) return undefined;
  const [, , , origin, destination, y, mo, d] = m as unknown as string[];
  return inventory(origin as string, destination as string, `${y}-${mo}-${d}`).find((f) => f.flightId === id);
}

function describeLeg(f: Flight): string {
  return `${f.flightNumber} ${f.origin} ${f.departs} - ${f.destination} ${f.arrives} on ${f.date}`;
}

/** `preferred carriers DL, UA` in a policy note. */
function preferredCarriers(policy: string | null): string[] {
  const m = policy
    ? /preferred carriers?:?\s*([A-Z0-9]{2}(?:\s*(?:,|and|or)\s*[A-Z0-9]{2})*)/i.exec(policy)
    : null;
  return m?.[1] ? m[1].split(/\s*(?:,|and|or)\s*/i).map((c) => c.toUpperCase()) : [];
}

function pick(flights: Flight[], preferred: string[]): { flight: Flight; because: string } {
  const cheapest = (list: Flight[]) => list.reduce((a, b) => (b.price < a.price ? b : a));
  const allowed = flights.filter((f) => preferred.includes(f.carrier));
  if (allowed.length > 0) {
    return {
      flight: cheapest(allowed),
      because: `cheapest on a preferred carrier (${preferred.join(', ')})`,
    };
  }
  return { flight: cheapest(flights), because: 'cheapest fare' };
}

// --- the server ---------------------------------------------------------------------------------------

type BookingRow = {
  id: string;
  reference: string;
  flight_id: string;
  traveler: string;
  seat: string | null;
  itinerary: string;
  price_cents: number;
  currency: string;
  status: string;
  booked_by: string | null;
  created_at: string;
};

/** A booking as the tools answer it. */
const bookingView = (b: BookingRow) => ({
  bookingReference: b.reference,
  bookingId: b.id,
  flightId: b.flight_id,
  traveler: b.traveler,
  seat: b.seat,
  itinerary: b.itinerary,
  price: b.price_cents / 100,
  currency: b.currency,
  status: b.status,
  bookedBy: b.booked_by,
  createdAt: b.created_at,
});

/** Registers the tools, one function each, over the helpers they share. */
function register(server: McpServer, db: Db): void {
  const helpers = toolHelpers(db);
  preferencesTool(server, db, helpers);
  searchFlightsTool(server);
  bookTool(server, db);
  listBookingsTool(server, db);
}

/** The statements and views the tools share. */
function toolHelpers(db: Db) {
  const note = db.prepare<[string, string], { value: string }>(
    'SELECT value FROM notes WHERE scope = ? AND topic = ?',
  );
  return { note };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `travel-preferences`: Travel preferences. */
function preferencesTool(server: McpServer, db: Db, { note }: Helpers): void {
  server.registerTool(
    'travel-preferences',
    {
      title: 'Travel preferences',
      description:
        "Answers a traveller's seat preference and airline policy from notes in a hierarchy: their own " +
        "notes, else their group's (in the order of their groups), else the organisation's. `source` is " +
        'the most specific level that answered (`user`, `group:<name>` or `org`); `sources` says it per topic.',
      inputSchema: {
        traveler: optionalText(320).describe('The traveller; defaults to the user the workflow runs as'),
        topics: z
          .array(z.enum(TOPICS))
          .min(1)
          .optional()
          .describe('What to look up (default: seat and airline-policy)'),
        ...identityShape,
      },
      annotations: {
        title: 'Travel preferences',
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const who = identityOf(args);
      const traveler = (text(args.traveler) ?? who.email)?.toLowerCase();
      if (!traveler) throw new ToolError('no traveler: pass `traveler` or run as a user');
      // The caller's own groups when the engine injected them for this traveller, else the travel profile's.
      const profile = db
        .prepare<[string], { groups: string }>('SELECT groups FROM travelers WHERE email = ?')
        .get(traveler);
      const groups =
        traveler === who.email?.toLowerCase() && who.groups.length > 0
          ? who.groups
          : profile
            ? (JSON.parse(profile.groups) as string[])
            : [];
      const scopes: Array<[string, string]> = [
        [`user:${traveler}`, 'user'],
        ...groups.map((g): [string, string] => [`group:${g}`, `group:${g}`]),
        ['org', 'org'],
      ];
      const topics = new Set<Topic>(args.topics ?? TOPICS);
      const answers: Partial<Record<Topic, { value: string; level: number; source: string }>> = {};
      for (const topic of topics) {
        for (const [level, [scope, source]] of scopes.entries()) {
          const row = note.get(scope, topic);
          if (row) {
            answers[topic] = { value: row.value, level, source };
            break;
          }
        }
      }
      const found = Object.values(answers);
      const mostSpecific = found.length > 0 ? found.reduce((a, b) => (b.level < a.level ? b : a)) : undefined;
      const policy = answers['airline-policy']?.value ?? null;
      return jsonResult({
        traveler,
        seat: answers.seat?.value ?? null,
        policy,
        airlinePolicy: policy,
        source: mostSpecific?.source ?? 'none',
        sources: {
          seat: answers.seat?.source ?? (topics.has('seat') ? 'none' : null),
          airlinePolicy: answers['airline-policy']?.source ?? (topics.has('airline-policy') ? 'none' : null),
        },
        groups,
      });
    },
  );
}

/** `travel-search-flights`: Search flights. */
function searchFlightsTool(server: McpServer): void {
  server.registerTool(
    'travel-search-flights',
    {
      title: 'Search flights',
      description:
        'Searches flights (a deterministic sandbox inventory: the same route and date always give the same ' +
        'flights and fares). Returns every option and a selected one at the top level (`flightId`, ' +
        '`price`): the cheapest on a carrier the policy prefers, else the cheapest. With `returnDate` the ' +
        'selection is a round trip and `price` its total.',
      inputSchema: {
        origin: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .describe('IATA airport code'),
        destination: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .describe('IATA airport code'),
        departureDate: z.iso.date(),
        returnDate: z.iso.date().or(z.literal('')).nullable().optional(),
        seat: optionalText(200).describe('Seat preference (echoed; sandbox flights have seats to spare)'),
        policy: optionalText(1000).describe('Airline policy text; its preferred carriers rank first'),
        ...identityShape,
      },
      annotations: {
        title: 'Search flights',
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      if (args.origin === args.destination)
        throw new ToolError('origin and destination are the same airport');
      const returnDate = args.returnDate || null;
      if (returnDate && returnDate < args.departureDate)
        throw new ToolError('returnDate is before departureDate');
      const preferred = preferredCarriers(text(args.policy));
      const outbound = inventory(args.origin, args.destination, args.departureDate);
      const out = pick(outbound, preferred);
      const back = returnDate ? inventory(args.destination, args.origin, returnDate) : null;
      const ret = back ? pick(back, preferred) : null;
      const legs = ret ? [out.flight, ret.flight] : [out.flight];
      return jsonResult({
        flightId: legs.map((l) => l.flightId).join('+'),
        price: legs.reduce((sum, l) => sum + l.price, 0),
        currency: 'usd',
        itinerary: legs.map(describeLeg).join('; '),
        selectedBecause: out.because,
        seat: text(args.seat),
        legs,
        flights: outbound,
        returnFlights: back,
      });
    },
  );
}

/** `travel-book`: Book a flight. */
function bookTool(server: McpServer, db: Db): void {
  server.registerTool(
    'travel-book',
    {
      title: 'Book a flight',
      description:
        'Books the flight (or round trip) a search returned and returns the booking reference and itinerary. ' +
        'With an idempotency key a repeated call returns the same booking instead of booking again.',
      inputSchema: {
        flightId: z.string().min(1).max(200).describe('The flightId travel-search-flights returned'),
        traveler: z.string().min(1).max(320).describe('Who flies'),
        seat: optionalText(200).describe('Seat preference to request'),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Book a flight',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      const legs = args.flightId.split('+').map((id) => {
        const leg = findLeg(id);
        if (!leg) throw new ToolError(`no flight ${id} (use a flightId from travel-search-flights)`);
        return leg;
      });
      const result = onceByKey(db, 'travel-book', idempotencyKeyOf(args, extra), () => {
        let reference: string;
        const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
        do {
          reference = Array.from({ length: 6 }, () => alphabet[randomInt(alphabet.length)]).join('');
        } while (db.prepare('SELECT 1 FROM bookings WHERE reference = ?').get(reference));
        const row: BookingRow = {
          id: newId('bk'),
          reference,
          flight_id: args.flightId,
          traveler: args.traveler,
          seat: text(args.seat),
          itinerary: legs.map(describeLeg).join('; '),
          price_cents: Math.round(legs.reduce((sum, l) => sum + l.price, 0) * 100),
          currency: 'usd',
          status: 'confirmed',
          booked_by: identityOf(args).email,
          created_at: nowIso(),
        };
        db.prepare(
          `INSERT INTO bookings (id, reference, flight_id, traveler, seat, itinerary, price_cents, currency, status,
             booked_by, created_at)
           VALUES (@id, @reference, @flight_id, @traveler, @seat, @itinerary, @price_cents, @currency, @status,
             @booked_by, @created_at)`,
        ).run(row);
        return bookingView(row);
      });
      return jsonResult(result);
    },
  );
}

/** `travel-list-bookings`: List bookings. */
function listBookingsTool(server: McpServer, db: Db): void {
  server.registerTool(
    'travel-list-bookings',
    {
      title: 'List bookings',
      description: 'Lists bookings, newest first, optionally of one traveller.',
      inputSchema: { traveler: optionalText(320), ...identityShape },
      annotations: { title: 'List bookings', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const traveler = text(args.traveler);
      const rows = traveler
        ? db
            .prepare<[string], BookingRow>('SELECT * FROM bookings WHERE traveler = ? ORDER BY rowid DESC')
            .all(traveler)
        : db.prepare<[], BookingRow>('SELECT * FROM bookings ORDER BY rowid DESC').all();
      return jsonResult({ bookings: rows.map(bookingView) });
    },
  );
}

const db = openStateDb('travel', SCHEMA, seed);
await runServer('travel', db, (server) => register(server, db));
