// The `limits:` section of stepgate.config.yaml: what one caller may ask of the server before anything
// else happens — body sizes and nesting, failed logins, password hashes at once, run starts and chat
// messages per user. Every field has a default, so an absent section is the safe setting.
//
//   limits:
//     bodyBytes: { default: 131072, login: 8192, definition: 1000000, webhook: 262144 }
//     jsonDepth: 64
//     trustProxy: false            # true: the client address is the last X-Forwarded-For entry
//     login:
//       perAccount: { max: 100, windowSeconds: 900 }        # failures per account, from any address
//       perAccountAddress: { max: 10, windowSeconds: 900 }  # failures per account from one address
//       perAddress: { max: 50, windowSeconds: 900 }         # failures per address, any account
//       concurrentHashes: 2
//     runStarts: { max: 60, windowSeconds: 60 }
//     chat: { max: 60, windowSeconds: 60 }
import { z } from 'zod';
import { MAX_NESTING } from '../../translator/nesting.js';

/** At most `max` events per sliding window of `windowSeconds`. */
const Window = (max: number, windowSeconds: number, description: string) =>
  z
    .strictObject({
      max: z.number().int().min(1).default(max).meta({ description: 'Events allowed per window.' }),
      windowSeconds: z
        .number()
        .int()
        .min(1)
        .max(7 * 86_400)
        .default(windowSeconds)
        .meta({ description: 'The sliding window, in seconds (at most a week).' }),
    })
    .prefault({})
    .meta({ description });

const Bytes = (bytes: number, description: string) =>
  z.number().int().min(1).default(bytes).meta({ description });

const BodyBytesSchema = z
  .strictObject({
    default: Bytes(131_072, 'Any JSON API route (a vault value is up to 64 KiB).'),
    login: Bytes(8_192, '/api/login, /api/logout and the /approve/* link pages.'),
    definition: Bytes(1_000_000, 'PUT /api/workflows/:id and POST /api/workflows/validate.'),
    webhook: Bytes(262_144, 'POST /api/workflows/:id/run (signed and token webhooks).'),
  })
  .prefault({})
  .meta({ description: 'The largest request body per kind of route, in bytes, enforced while reading.' });

const LoginLimitsSchema = z
  .strictObject({
    perAccount: Window(
      100,
      900,
      'Failed logins per account from all addresses together: bounds a guess spread over many addresses.',
    ),
    perAccountAddress: Window(
      10,
      900,
      'Failed logins per account from one client address: a flood from one address locks out only itself.',
    ),
    perAddress: Window(50, 900, 'Failed logins per client address, whatever the account.'),
    concurrentHashes: z.number().int().min(1).max(64).default(2).meta({
      description:
        'Password hashes computed at once; a few more wait in a short queue, past it a login is told to retry.',
    }),
  })
  .prefault({})
  .meta({ description: 'Login throttling, checked before any password is hashed.' });

export const LimitsConfigSchema = z
  .strictObject({
    bodyBytes: BodyBytesSchema,
    jsonDepth: z.number().int().min(2).max(1_000).default(MAX_NESTING).meta({
      description: 'The deepest nesting of a JSON (or YAML) body or definition.',
    }),
    trustProxy: z.boolean().default(false).meta({
      description:
        'Behind a reverse proxy: the client address is the last X-Forwarded-For entry (the proxy adds it), not the socket.',
    }),
    login: LoginLimitsSchema,
    runStarts: Window(
      60,
      60,
      'Run starts per user: manual, chat and token webhook starts (not signed deliveries).',
    ),
    chat: Window(60, 60, 'Chat messages per user.'),
  })
  .meta({ description: 'Limits per caller, applied before any other work.' });

export type LimitsConfig = z.infer<typeof LimitsConfigSchema>;
export type WindowLimit = LimitsConfig['chat'];

/** The limits when the config says nothing. */
export const DEFAULT_LIMITS: LimitsConfig = LimitsConfigSchema.parse({});

/** The least time rate-limit hits are kept after the last one: two days. */
export const RATE_HIT_TTL_MS = 48 * 3_600_000;

/**
 * How long a rate-limit bucket is kept after its last hit, for the hosts' housekeeping: two days, or the
 * longest window of `limits` (failed logins, run starts, chat) when that is longer.
 */
export function rateHitTtl(limits: LimitsConfig): number {
  const windows = [limits.login.perAccount, limits.login.perAccountAddress, limits.login.perAddress];
  return Math.max(
    RATE_HIT_TTL_MS,
    ...[...windows, limits.runStarts, limits.chat].map((w) => w.windowSeconds * 1000),
  );
}
