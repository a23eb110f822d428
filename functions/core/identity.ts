// How identities compare: an email is trimmed and case-folded once, where it enters Stepgate (a login, a
// token's owner, an approver list, a runAs, a directory record), and compared with === everywhere after.
// Nothing downstream lower-cases again, so a comparison that forgot to is a bug a test can see.
// What an email is (`isEmail`) is one rule, kept in translator/ so the validator shares it.

export { isEmail, MAX_EMAIL_LENGTH } from '../../translator/email.js';

/** The one form of an email address every comparison uses: trimmed, lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Whether two emails name the same person (both normalised first). */
export function sameEmail(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && normalizeEmail(a) === normalizeEmail(b);
}
