// The one rule for what an email address is, used wherever Stepgate accepts one: the directory, the
// validator (approvers, recipients, runAs), vault scopes, the admin API, the run filter, the notifier and
// the `email` format of inputs. It lives in translator/, the lowest layer, so every other layer can import it.
//
// A local part and a domain: one `@`, at most 254 characters, none of whitespace, control characters,
// `<>"` (header and markup injection), `,;` (list separators in a mail header) or `:` (the separator of
// `user:<email>` scopes), and no empty label in the domain. A dotless domain (`ops@localhost`) is allowed:
// a self-hosted Stepgate delivers to internal hosts, and the local directory has always accepted them.

/** The longest address accepted (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const PART = /^[^\s@<>",;:\u0000-\u001f\u007f]+$/;

/** Whether `text` is an email address by Stepgate's one rule (see the module comment). */
export function isEmail(text: string): boolean {
  if (text.length > MAX_EMAIL_LENGTH) return false;
  const at = text.indexOf('@');
  if (at <= 0) return false;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  return PART.test(local) && PART.test(domain) && domain.split('.').every((label) => label !== '');
}
