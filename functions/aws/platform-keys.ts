// The platform keys of the AWS deployment: the approval-link signing key, the key that seals each level's
// task token in its approval record and the key of chat's pending starts, all derived
// (functions/core/platform-keys.ts) from the one 32-byte secret the stack keeps in Secrets Manager (STEPGATE_LINK_SECRET_ARN, read and cached by
// adapters/aws/platform-secrets.ts) as the local server derives them from its master key; and the key
// CloudFront proves itself with to the API.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { approvalLinkKey } from '../../adapters/aws/platform-secrets.js';
import { approvalKeys, chatConfirmKey } from '../core/platform-keys.js';
import type { PlatformKeys } from './approvals.js';
import { required } from './config.js';
import type { AwsPorts } from './ports.js';

/** The keys, derived from the stack's secret (read once per container). */
export async function platformKeys(ports: AwsPorts): Promise<PlatformKeys> {
  const secret = await approvalLinkKey(ports.secrets(), required(ports.config, 'linkSecretArn'));
  return { ...approvalKeys(secret), chatKey: chatConfirmKey(secret) };
}

/**
 * The key CloudFront sends the API with every request (infra/aws/dashboard.ts), when the API is deployed
 * behind it (STEPGATE_ORIGIN_KEY_ARN); undefined otherwise. Read once per container by the caller.
 */
export async function originKey(ports: AwsPorts): Promise<string | undefined> {
  const arn = ports.config.originKeyArn;
  if (arn === undefined) return undefined;
  const { SecretString } = await ports.secrets().send(new GetSecretValueCommand({ SecretId: arn }));
  if (SecretString === undefined || SecretString.length < 32)
    throw new Error(`the origin key secret ${arn} holds no key of 32 characters or more`);
  return SecretString;
}
