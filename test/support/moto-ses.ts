// The emails moto's SES has accepted, read back the way a test reads a real inbox: moto keeps every sent
// message in its SES backend (SES v2 SendEmail shares SES v1's), and `GET /moto-api/data.json` lists its
// models' instances, raw messages included (`ses.RawMessage`: id, source, destinations, raw_data).

export interface SentEmail {
  /** The MessageId SES answered with. */
  id: string;
  /** The envelope sender (FromEmailAddress). */
  source: string;
  destinations: string[];
  /** The whole message as sent (RFC 5322, CRLF line ends). */
  raw: string;
}

/** Every raw email moto's SES holds, oldest first. */
export async function sentEmails(endpoint: string): Promise<SentEmail[]> {
  const answer = await fetch(`${endpoint}/moto-api/data.json`);
  if (!answer.ok) throw new Error(`moto's data.json answered ${answer.status}`);
  const data = (await answer.json()) as {
    ses?: { RawMessage?: { id: string; source: string; destinations: string[]; raw_data: string }[] };
  };
  return (data.ses?.RawMessage ?? []).map((m) => ({
    id: m.id,
    source: m.source,
    destinations: m.destinations,
    raw: m.raw_data,
  }));
}

/** The value of the header `name` in a raw message (unfolded), or undefined. */
export function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
