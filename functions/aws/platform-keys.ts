// The platform keys of the AWS deployment: the approval-link signing key and the key that seals each
// level's task token in its approval record. Both are derived (HKDF-SHA256) from the one 32-byte secret the
// stack keeps in Secrets Manager (STEPGATE_LINK_SECRET_ARN, read and cached by adapters/aws/platform-secrets.ts),
// with the labels the local server derives them with from its master key, so one secret never serves two
// purposes and the two deployments compute them alike.
import { hkdfSync } from 'node:crypto';
import { approvalLinkKey } from '../../adapters/aws/platform-secrets.js';
import type { PlatformKeys } from './approvals.js';
import { required } from './config.js';
import type { AwsPorts } from './ports.js';

const KEY_BYTES = 32;

/** The two keys, derived from the stack's secret (read once per container). */
export async function platformKeys(ports: AwsPorts): Promise<PlatformKeys> {
  const secret = await approvalLinkKey(ports.secrets(), required(ports.config, 'linkSecretArn'));
  const derive = (label: string) => new Uint8Array(hkdfSync('sha256', secret, '', label, KEY_BYTES));
  return {
    linkSecret: derive('stepgate approval links'),
    callbackKey: derive('stepgate approval callbacks'),
  };
}
