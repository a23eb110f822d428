import { describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

const orientation = {
  title: 'Orientation: Jane Doe',
  attendees: ['jane.doe@example.com', 'pat@example.com'],
  date: '2026-02-02',
  durationMinutes: 90,
};

describe('calendar sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('calendar', tempDataDir());
    await expectTools(client, {
      'calendar-schedule-meeting': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'calendar-list-meetings': { readOnlyHint: true },
    });
  });

  it('schedules in the first free slot and room, and keeps meetings across a restart', async () => {
    const dir = tempDataDir();
    const client = await startServer('calendar', dir);
    const first = await call(client, 'calendar-schedule-meeting', {
      ...orientation,
      _user_email: 'hr@example.com',
    });
    expect(first).toMatchObject({
      start: '2026-02-02T09:00:00.000Z',
      end: '2026-02-02T10:30:00.000Z',
      location: 'Room 1 (HQ, 2nd floor)',
      organizer: 'hr@example.com',
      attendees: orientation.attendees,
    });
    // Pat is busy until 10:30, so the next meeting with Pat starts then.
    const second = await call(client, 'calendar-schedule-meeting', {
      title: '1:1',
      attendees: ['pat@example.com', 'sam@example.com'],
      date: '2026-02-02',
      durationMinutes: 30,
    });
    expect(second.start).toBe('2026-02-02T10:30:00.000Z');
    // Someone else at 09:00 gets another room.
    const third = await call(client, 'calendar-schedule-meeting', {
      title: 'Standup',
      attendees: ['dana@example.com'],
      date: '2026-02-02',
    });
    expect(third).toMatchObject({ start: '2026-02-02T09:00:00.000Z', location: 'Room 2 (HQ, 2nd floor)' });
    expect(
      await callError(client, 'calendar-schedule-meeting', {
        title: 'Clash',
        attendees: ['pat@example.com'],
        start: '2026-02-02T10:00:00Z',
      }),
    ).toMatch(/busy at 2026-02-02T10:00:00.000Z: pat@example.com/);
    await stopServer(client);

    const again = await startServer('calendar', dir);
    const { meetings } = await call(again, 'calendar-list-meetings', { attendee: 'pat@example.com' });
    expect(meetings.map((m: { meetingId: string }) => m.meetingId)).toEqual([
      first.meetingId,
      second.meetingId,
    ]);
  });
});
