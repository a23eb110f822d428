// The quorum Lambda of a `require: N` parallel (${QuorumFunctionArn}): each finished branch reports here
// and the shared handler (functions/core/handlers/quorum.ts) counts it on DynamoDB. While the parallel is
// open it answers null; once decided it fails with Stepgate.QuorumReached (the kept results as the cause)
// or with the first branch's error, which is how the state machine learns the parallel is over.
import middy from '@middy/core';
import { aslActivityFailure, aslError, countAslQuorum, type QuorumAnswer } from '../core/handlers/index.js';
import type { AslQuorumPayload } from '../core/wire.js';
import { loadAwsConfig } from './config.js';
import { AwsPorts, perContainer } from './ports.js';

/** Counts the branch's finish: null while the parallel is open, else throws its deciding error. */
export async function reportBranch(ports: AwsPorts, payload: AslQuorumPayload): Promise<null> {
  let answer: QuorumAnswer;
  try {
    answer = await countAslQuorum(ports.tallies(), payload);
  } catch (error) {
    throw aslActivityFailure(error, payload.stepId);
  }
  if (answer === null) return null;
  throw aslError(answer.error, answer.cause);
}

const ports = perContainer(async () => new AwsPorts(loadAwsConfig(process.env, 'quorum')));

export const handler = middy(async (event: AslQuorumPayload) => reportBranch(await ports(), event));
