import { describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

const trip = { origin: 'SFO', destination: 'JFK', departureDate: '2026-03-02' };

describe('travel sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('travel', tempDataDir());
    await expectTools(client, {
      'travel-preferences': { readOnlyHint: true },
      'travel-search-flights': { readOnlyHint: true },
      'travel-book': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'travel-list-bookings': { readOnlyHint: true },
    });
  });

  it('answers preferences from the user, else their group, else the org', async () => {
    const client = await startServer('travel', tempDataDir());
    const topics = ['seat', 'airline-policy'];

    const dana = await call(client, 'travel-preferences', { traveler: 'dana@example.com', topics });
    expect(dana).toMatchObject({
      seat: 'window, front of the cabin',
      policy: 'Economy; preferred carrier UA for client visits',
      source: 'user',
      sources: { seat: 'user', airlinePolicy: 'group:sales' },
    });
    expect(dana.airlinePolicy).toBe(dana.policy);

    const sam = await call(client, 'travel-preferences', { traveler: 'sam@example.com', topics });
    expect(sam).toMatchObject({
      seat: 'aisle',
      policy: expect.stringMatching(/^Economy on flights under 6 hours/),
      source: 'group:engineering',
      sources: { seat: 'group:engineering', airlinePolicy: 'org' },
    });

    const frank = await call(client, 'travel-preferences', { traveler: 'frank@example.com' });
    expect(frank).toMatchObject({
      seat: 'no preference',
      source: 'org',
      sources: { seat: 'org', airlinePolicy: 'org' },
    });

    // No traveler: the injected identity answers, with the injected groups.
    const newcomer = await call(client, 'travel-preferences', {
      _user_email: 'new@example.com',
      _user_role: 'member',
      _user_groups: ['engineering'],
    });
    expect(newcomer).toMatchObject({
      traveler: 'new@example.com',
      seat: 'aisle',
      source: 'group:engineering',
    });

    // The injected groups of the traveller replace the travel profile's.
    const moved = await call(client, 'travel-preferences', {
      traveler: 'dana@example.com',
      _user_email: 'dana@example.com',
      _user_groups: ['engineering'],
    });
    expect(moved.sources).toEqual({ seat: 'user', airlinePolicy: 'org' });

    const seatOnly = await call(client, 'travel-preferences', {
      traveler: 'sam@example.com',
      topics: ['seat'],
    });
    expect(seatOnly).toMatchObject({
      seat: 'aisle',
      policy: null,
      sources: { seat: 'group:engineering', airlinePolicy: null },
    });
  });

  it('finds the same flights for the same search and prefers the policy carriers', async () => {
    const client = await startServer('travel', tempDataDir());
    const a = await call(client, 'travel-search-flights', {
      ...trip,
      returnDate: '',
      seat: 'aisle',
      policy: null,
    });
    const b = await call(client, 'travel-search-flights', trip);
    expect(b.flights).toEqual(a.flights);
    expect(a.flights).toHaveLength(4);
    expect(a.flightId).toMatch(/^[A-Z0-9]{2}\d{3}-SFOJFK-20260302$/);
    const cheapest = Math.min(...a.flights.map((f: { price: number }) => f.price));
    expect(a).toMatchObject({
      price: cheapest,
      currency: 'usd',
      selectedBecause: 'cheapest fare',
      seat: 'aisle',
    });

    const dearer = [...a.flights].sort((x, y) => y.price - x.price)[0];
    const preferring = await call(client, 'travel-search-flights', {
      ...trip,
      policy: `Economy; preferred carrier ${dearer.carrier}`,
    });
    expect(preferring.legs[0].carrier).toBe(dearer.carrier);
    expect(preferring.selectedBecause).toMatch(/preferred carrier/);

    const roundTrip = await call(client, 'travel-search-flights', { ...trip, returnDate: '2026-03-05' });
    expect(roundTrip.flightId).toMatch(/-SFOJFK-20260302\+.*-JFKSFO-20260305$/);
    expect(roundTrip.price).toBe(roundTrip.legs[0].price + roundTrip.legs[1].price);

    expect(await callError(client, 'travel-search-flights', { ...trip, destination: 'SFO' })).toMatch(
      /same airport/,
    );
    expect(await callError(client, 'travel-search-flights', { ...trip, origin: 'sfo' })).toMatch(/origin/);
  });

  it('books once per idempotency key and keeps bookings across a restart', async () => {
    const dir = tempDataDir();
    const client = await startServer('travel', dir);
    const search = await call(client, 'travel-search-flights', { ...trip, returnDate: '2026-03-05' });
    const args = {
      flightId: search.flightId,
      traveler: 'dana@example.com',
      seat: 'window',
      idempotencyKey: 'r:book:1',
    };
    const booking = await call(client, 'travel-book', { ...args, _user_email: 'dana@example.com' });
    expect(booking).toMatchObject({
      flightId: search.flightId,
      traveler: 'dana@example.com',
      seat: 'window',
      price: search.price,
      status: 'confirmed',
      bookedBy: 'dana@example.com',
      itinerary: search.itinerary,
      replayed: false,
    });
    expect(booking.bookingReference).toMatch(/^[A-Z2-9]{6}$/);
    expect(booking.itinerary).toMatch(/SFO .* - JFK .* on 2026-03-02; .* JFK .* - SFO .* on 2026-03-05/);
    const retried = await call(client, 'travel-book', args);
    expect(retried).toMatchObject({ bookingReference: booking.bookingReference, replayed: true });
    const other = await call(client, 'travel-book', { ...args, idempotencyKey: 'r:book:2' });
    expect(other.bookingReference).not.toBe(booking.bookingReference);
    expect(await callError(client, 'travel-book', { ...args, flightId: 'XX999-SFOJFK-20260302' })).toMatch(
      /no flight/,
    );
    await stopServer(client);

    const again = await startServer('travel', dir);
    const { bookings } = await call(again, 'travel-list-bookings', { traveler: 'dana@example.com' });
    expect(bookings.map((b: { bookingReference: string }) => b.bookingReference).sort()).toEqual(
      [booking.bookingReference, other.bookingReference].sort(),
    );
  });
});
