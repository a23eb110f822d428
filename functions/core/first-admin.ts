// The first admin of a cloud deployment (the GCP and Azure setups): STEPGATE_ADMIN_EMAIL made an admin when
// the directory has no enabled admin, with the password the deployment keeps in its secret store. Each host
// reads the password its own way (Secret Manager, Key Vault); what is done with it is decided here once.
//
// - An existing admin is never touched. When there is none and the named email is already a user, it is
//   made an admin (its name, groups and manager kept, enabled) and its own password kept; the secret's
//   password is set only on a user that has none. The password is read before anything is written: an
//   unreadable or short password makes no admin.
// - A service account named as the first admin is refused: nobody can log in as it.
import type { AdminDirectory } from './ports.js';

/** The shortest first-admin password the secret may hold. */
export const MIN_ADMIN_PASSWORD = 12;

export interface FirstAdmin {
  /** The email to make the first admin; undefined: no first admin is configured. */
  email: string | undefined;
  /** The setting naming it (STEPGATE_ADMIN_EMAIL), for errors. */
  emailSetting: string;
  /** Reads the password from the deployment's secret store; its errors name the secret, never the value. */
  password(): Promise<string>;
  /** How the password is named in errors, e.g. "the first admin's password (SETTING, secret NAME)". */
  passwordName: string;
}

/** Makes the configured email the first admin when the directory has no enabled admin (see the top). */
export async function ensureFirstAdmin(directory: AdminDirectory, admin: FirstAdmin): Promise<string | null> {
  const { email } = admin;
  if (email === undefined) return null;
  const users = await directory.listUsers();
  if (users.some((user) => user.role === 'admin' && !user.disabled)) return null;
  const existing = users.find((user) => user.email.toLowerCase() === email.toLowerCase());
  if (existing?.service === true)
    throw new Error(
      `${admin.emailSetting} names ${existing.email}, a service account: nobody can log in as it`,
    );
  const password = existing?.hasPassword ? undefined : await longEnough(admin);
  await directory.upsertUser({
    email: existing?.email ?? email,
    name: existing?.name ?? 'Administrator',
    role: 'admin',
    groups: existing?.groups ?? [],
    manager: existing?.manager ?? null,
    disabled: false,
  });
  if (password !== undefined) await directory.setPassword(existing?.email ?? email, password);
  return existing?.email ?? email;
}

async function longEnough(admin: FirstAdmin): Promise<string> {
  const password = await admin.password();
  if (password.length < MIN_ADMIN_PASSWORD)
    throw new Error(
      `${admin.passwordName} is shorter than ${MIN_ADMIN_PASSWORD} characters: add a longer version`,
    );
  return password;
}
