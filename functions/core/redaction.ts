// Redaction by value: the credentials the vault handed to one tool call or notification, masked in whatever
// came back from it (a result, an error message) before anything is recorded, stored as a variable or
// templated into a later step. Key-name redaction (`redact`, below: what the run view and an approval's
// context show) cannot see a token a tool echoed under an innocent key; this can, because the caller knows
// exactly which values it handed out.
//
// Each occurrence becomes `[redacted: NAME]` (names joined when several secrets overlap there). A secret is
// found as it is, JSON-escaped (inside JSON text a tool returned as a string), URL-encoded, and for a URL
// secret (a webhook URL, an smtp:// URL) also its path, query and password alone. Values shorter than
// MIN_SECRET_LENGTH are not masked: a 1-3 character "secret" would blank out ordinary words and numbers
// everywhere and protects nothing. Other encodings (base64, hashing) are out of reach by design.

/** What key-name redaction (`redact`) puts in place of a value. */
export const REDACTED = '[redacted]';
const SECRET_KEY = /password|passwd|secret|token|api[-_]?key|authorization|credential/i;

/** A key whose value key-name redaction hides (`apiKey`, `password`, `github_token`, ...). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Redaction by key name, for what is shown rather than recorded (the run view, an approval's context):
 * `value` with whatever sits under a secret-looking key replaced by "[redacted]".
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, isSecretKey(key) && v !== null ? REDACTED : redact(v)]),
  );
}

/** Values shorter than this are never masked (see the module comment). */
export const MIN_SECRET_LENGTH = 4;

/** What replaces a secret: names the credential(s), never the value. */
export function redactionMarker(names: readonly string[]): string {
  return `[redacted: ${names.join(', ')}]`;
}

/** The credential names the markers in `text` name (text masked earlier, e.g. by the MCP registry). */
export function markedNames(text: string): string[] {
  return [...text.matchAll(/\[redacted: ([^\]]+)\]/g)].flatMap((m) => (m[1] ?? '').split(', '));
}

/** Masks a fixed set of secrets in text and JSON values, remembering which credentials it masked. */
export interface SecretScrubber {
  /** `text` with every occurrence of a secret replaced by its marker. */
  text(text: string): string;
  /** A copy of `value` (JSON: strings, numbers, arrays, objects and their keys) with every secret masked. */
  value(value: unknown): unknown;
  /** The credential names masked so far, sorted. */
  redacted(): string[];
}

interface Form {
  name: string;
  text: string;
}

/** A scrubber for `secrets`, given as credential name → value pairs (a name may appear more than once). */
export function secretScrubber(secrets: Iterable<readonly [string, string]>): SecretScrubber {
  const forms: Form[] = [];
  for (const [name, value] of secrets)
    for (const text of formsOf(value)) if (text.length >= MIN_SECRET_LENGTH) forms.push({ name, text });
  const found = new Set<string>();

  const text = (input: string): string => {
    if (forms.length === 0) return input;
    const spans = findSpans(input, forms);
    if (spans.length === 0) return input;
    let out = '';
    let at = 0;
    for (const span of spans) {
      for (const name of span.names) found.add(name);
      out += input.slice(at, span.start) + redactionMarker(span.names);
      at = span.end;
    }
    return out + input.slice(at);
  };

  const value = (input: unknown): unknown => {
    if (forms.length === 0) return input;
    if (typeof input === 'string') return text(input);
    if (typeof input === 'number') {
      const shown = String(input);
      const masked = text(shown);
      return masked === shown ? input : masked;
    }
    if (Array.isArray(input)) return input.map(value);
    if (input === null || typeof input !== 'object') return input;
    return Object.fromEntries(Object.entries(input).map(([key, v]) => [text(key), value(v)]));
  };

  return { text, value, redacted: () => [...found].sort() };
}

/** The ways a secret can appear in text handed back to us. */
function formsOf(secret: string): Set<string> {
  const forms = new Set<string>([secret]);
  const escaped = JSON.stringify(secret).slice(1, -1);
  forms.add(escaped);
  forms.add(escaped.replace(/\//g, '\\/'));
  forms.add(encodeURIComponent(secret));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) {
    try {
      const url = new URL(secret);
      if (url.pathname.length > MIN_SECRET_LENGTH) forms.add(url.pathname);
      if (url.search.length > MIN_SECRET_LENGTH) forms.add(url.search);
      if (url.password !== '') {
        forms.add(url.password);
        forms.add(safeDecode(url.password));
      }
    } catch {
      // Not a URL after all: its raw forms are enough.
    }
  }
  return forms;
}

interface Span {
  start: number;
  end: number;
  names: string[];
}

/** Every occurrence of every form, overlapping ones merged into one span naming all their credentials. */
function findSpans(input: string, forms: Form[]): Span[] {
  const hits: Span[] = [];
  for (const form of forms) {
    for (let at = input.indexOf(form.text); at !== -1; at = input.indexOf(form.text, at + 1))
      hits.push({ start: at, end: at + form.text.length, names: [form.name] });
  }
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const hit of hits) {
    const last = merged.at(-1);
    if (last !== undefined && hit.start < last.end) {
      last.end = Math.max(last.end, hit.end);
      for (const name of hit.names) if (!last.names.includes(name)) last.names.push(name);
    } else merged.push({ ...hit, names: [...hit.names] });
  }
  return merged;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
