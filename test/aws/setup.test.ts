// The deploy-time setup (functions/aws/setup.ts) on moto, through the moto front (which answers
// ValidateStateMachineDefinition, as moto has none): every template of the gallery is installed as a
// workflow and a published state machine version behind its `live` alias; the first admin gets the
// password held in Secrets Manager and can log in with it; a second run changes nothing; a run that
// completed before run records kept what decided its path gets it recorded, once.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeStateMachineAliasCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRunAudit } from '../../adapters/aws/audit.js';
import { DynamoRunStore } from '../../adapters/aws/run-store.js';
import { createTable, openTable } from '../../adapters/aws/table.js';
import { loadAwsConfig } from '../../functions/aws/config.js';
import { AwsPorts } from '../../functions/aws/ports.js';
import { AwsRuns } from '../../functions/aws/runs.js';
import { setUp } from '../../functions/aws/setup.js';
import { galleryTemplates } from '../../functions/aws/templates.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import {
  type MotoFront,
  startMotoFront,
  startOnVersionRoute,
  validateDefinitionRoute,
} from '../support/moto-front.js';

let moto: Moto | undefined;
let front: MotoFront | undefined;
let ports: AwsPorts;
const PASSWORD = 'a-generated-password-24c';

beforeAll(async () => {
  moto = await startMoto();
  front = await startMotoFront(moto.endpoint, [validateDefinitionRoute, startOnVersionRoute]);
  const clients = { ...MOTO_CLIENT, endpoint: front.endpoint };
  const table = openTable('stepgate-setup', clients);
  await createTable(table);
  table.client.destroy();
  const { KeyMetadata } = await new KMSClient(clients).send(new CreateKeyCommand({}));
  const secret = await new SecretsManagerClient(clients).send(
    new CreateSecretCommand({ Name: 'admin-password', SecretString: PASSWORD }),
  );
  const arn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  const config = loadAwsConfig(
    {
      AWS_REGION: MOTO_CLIENT.region,
      STEPGATE_TABLE: 'stepgate-setup',
      STEPGATE_KMS_KEY_ID: KeyMetadata?.KeyId ?? '',
      STEPGATE_TOOL_CALL_FUNCTION_ARN: arn('tool-call'),
      STEPGATE_NOTIFY_FUNCTION_ARN: arn('notify'),
      STEPGATE_APPROVAL_REQUEST_FUNCTION_ARN: arn('approval-request'),
      STEPGATE_QUORUM_FUNCTION_ARN: arn('quorum'),
      STEPGATE_STATE_MACHINE_PREFIX: 'Stepgate-',
      STEPGATE_STATE_MACHINE_ROLE_ARN: 'arn:aws:iam::123456789012:role/machines',
      STEPGATE_ADMIN_EMAIL: 'admin@example.com',
      STEPGATE_ADMIN_PASSWORD_ARN: secret.ARN ?? '',
    },
    'setup',
  );
  ports = new AwsPorts(config, clients);
}, 60_000);

afterAll(async () => {
  await front?.stop();
  await moto?.stop();
});

describe('setup at deploy time', () => {
  it('installs every template as a deployed state machine and the first admin with the stored password', async () => {
    const result = await setUp(ports);
    const gallery = galleryTemplates().map((t) => t.id);
    expect(gallery.length).toBeGreaterThanOrEqual(4);
    expect(result).toEqual({ templates: gallery, admin: 'admin@example.com', pathOutcomes: 0 });
    const sfn = new SFNClient(ports.clients);
    for (const id of gallery) {
      expect((await ports.workflows().get(id))?.version, id).toBe(1);
      const alias = await sfn.send(
        new DescribeStateMachineAliasCommand({
          stateMachineAliasArn: `arn:aws:states:us-east-1:123456789012:stateMachine:Stepgate-${id}:live`,
        }),
      );
      expect(alias.routingConfiguration?.[0]?.stateMachineVersionArn, id).toMatch(/:1$/);
    }
    expect(front?.calls('ValidateStateMachineDefinition')).toHaveLength(gallery.length);
    const admin = await ports.directory().verifyPassword('admin@example.com', PASSWORD);
    expect(admin).toMatchObject({ email: 'admin@example.com', role: 'admin' });
  });

  it('changes nothing when it runs again', async () => {
    const before = front?.calls('CreateStateMachine').length;
    expect(await setUp(ports)).toEqual({ templates: [], admin: null, pathOutcomes: 0 });
    expect(front?.calls('CreateStateMachine').length).toBe(before);
  });

  it('records what decided the path of a run that completed before run records kept it, once', async () => {
    const runs = new AwsRuns(ports);
    const runId = await runs.host().startRun({
      runId: 'run-earlier',
      workflowId: 'expense-approval',
      ir: (await ports.workflows().get('expense-approval'))?.ir as IrWorkflow,
      input: { amount: 900, description: 'laptop' },
      trigger: {
        type: 'manual',
        user: { email: 'bob@example.com', role: 'member', groups: [], manager: null },
      },
    });
    const trail = new DynamoRunAudit(ports.table, ports.clock);
    await trail.append(runId, {
      type: 'approval.decision',
      step: 'manager_approval',
      data: {
        level: 1,
        decides: true,
        by: 'carol@example.com',
        decision: 'reject',
        comment: null,
        at: 'now',
        channel: 'email',
      },
    });
    // Ended as the earlier version ended runs: without what decided its path.
    await new DynamoRunStore(ports.table, trail).end(
      runId,
      { status: 'completed', error: null, vars: {} },
      2,
      [],
    );
    expect((await runs.host().getRun(runId))?.pathOutcome).toBeUndefined();

    expect(await setUp(ports, runs)).toEqual({ templates: [], admin: null, pathOutcomes: 1 });
    const rejected = { kind: 'rejected', step: 'manager_approval', by: 'carol@example.com' };
    expect((await runs.host().listRuns())[0]).toMatchObject({ id: runId, pathOutcome: rejected });
    expect(await setUp(ports, runs)).toEqual({ templates: [], admin: null, pathOutcomes: 0 });
  });
});
