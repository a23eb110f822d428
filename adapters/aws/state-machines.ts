// Workflows as Step Functions state machines: one Standard state machine per workflow, one published
// version per Stepgate version, and the alias `live` on the latest. A deploy compiles the version's IR
// (emitAsl), substitutes the ASL placeholders (translator/emit/aws/state.ts ASL_PLACEHOLDERS) with the
// handler functions' ARNs it is configured with, checks the definition with
// ValidateStateMachineDefinition (a FAIL names every diagnostic), then CreateStateMachine or
// UpdateStateMachine with `publish: true` (the version's description names the Stepgate version), records
// the version's ARN per (workflow id, Stepgate version) (a definition published unchanged answers the
// version that has it, so two Stepgate versions may share one) in the table (pk `WORKFLOW#<id>`, sk
// `MACHINE#<version, 10 digits>`, beside the workflow's versions) and points `live` at it. A run starts on
// the version recorded for the Stepgate version it was triggered with (adapters/aws/step-functions-host.ts).
//
// StateMachineWorkflowStore decorates a WorkflowStore: it deploys BEFORE it saves, so a definition that
// does not deploy is never saved (nothing is half-written). The version number is the one the save is
// expected to take (the latest kept plus one, as the stores number them). A save that fails after its
// deploy, or that loses its number to a concurrent save, leaves at most a published state machine version
// that no run ever starts on (the record is written under the number the save actually took, so a run
// never starts on another save's definition), and `live` is only moved when the saved version is still
// the latest. Deleting a workflow deletes its state machine (with its versions and alias): AWS terminates
// the machine's running executions on their next transition, and deletes it once none is left.
import { createHash } from 'node:crypto';
import {
  CreateStateMachineAliasCommand,
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeStateMachineCommand,
  type SFNClient,
  UpdateStateMachineAliasCommand,
  UpdateStateMachineCommand,
  ValidateStateMachineDefinitionCommand,
} from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import { ASL_PLACEHOLDERS, emitAsl } from '../../translator/emit/aws-asl.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { queryAll, type Table } from './table.js';

/** The alias every workflow's state machine has on its latest Stepgate version. */
export const LIVE_ALIAS = 'live';
/** AWS's longest state machine name. */
const MAX_NAME = 80;

/** The ARNs of the handler functions the ASL placeholders stand for (ASL_PLACEHOLDERS' keys). */
export type HandlerArns = Record<keyof typeof ASL_PLACEHOLDERS, string>;

export interface StateMachineDeployerOptions {
  sfn: SFNClient;
  table: Table;
  /** The role the state machines run as (it may invoke the handler functions). */
  roleArn: string;
  functions: HandlerArns;
  /** Put before every state machine name (default `stepgate-`). */
  namePrefix?: string;
  clock?: Pick<Clock, 'now'>;
}

/** A Stepgate version of a workflow as deployed. */
export interface DeployedVersion {
  workflowId: string;
  version: number;
  stateMachineArn: string;
  /** The published state machine version the Stepgate version's runs start on. */
  versionArn: string;
  deployedAt: number;
}

/** The definition did not pass ValidateStateMachineDefinition; `diagnostics` as AWS gave them. */
export class StateMachineDefinitionError extends Error {
  override name = 'StateMachineDefinitionError';
  constructor(
    readonly workflowId: string,
    readonly diagnostics: Array<{ severity?: string; code?: string; message?: string; location?: string }>,
  ) {
    super(
      `the state machine of workflow '${workflowId}' is invalid: ${diagnostics
        .map((d) => `${d.code ?? 'ERROR'}: ${d.message ?? ''}${d.location ? ` (at ${d.location})` : ''}`)
        .join('; ')}`,
    );
  }
}

export class StateMachineDeployer {
  private readonly sfn: SFNClient;
  private readonly table: Table;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: StateMachineDeployerOptions) {
    this.sfn = options.sfn;
    this.table = options.table;
    this.clock = options.clock ?? Date;
  }

  /** The state machine name of a workflow: the prefix and the id, kept to AWS's name rules and length. */
  machineName(workflowId: string): string {
    const prefix = this.options.namePrefix ?? 'stepgate-';
    const wanted = `${prefix}${workflowId}`;
    const clean = wanted.replace(/[^A-Za-z0-9_-]/g, '-');
    if (clean === wanted && clean.length <= MAX_NAME) return clean;
    // Changed or cut: a hash of the wanted name keeps two ids that clean alike apart.
    const hash = createHash('sha256').update(wanted).digest('hex').slice(0, 10);
    return `${clean.slice(0, MAX_NAME - hash.length - 1)}-${hash}`;
  }

  /** The deployable definition of `ir`: compiled, the placeholders replaced by the functions' ARNs. */
  definition(ir: IrWorkflow): string {
    let json = JSON.stringify(emitAsl(ir));
    for (const [key, placeholder] of Object.entries(ASL_PLACEHOLDERS))
      json = json.replaceAll(placeholder, this.options.functions[key as keyof HandlerArns]);
    return json;
  }

  /** Checks the definition with Step Functions; throws StateMachineDefinitionError on FAIL. */
  async validate(workflowId: string, definition: string): Promise<void> {
    const checked = await this.sfn.send(
      new ValidateStateMachineDefinitionCommand({ definition, type: 'STANDARD' }),
    );
    if (checked.result === 'FAIL')
      throw new StateMachineDefinitionError(
        workflowId,
        (checked.diagnostics ?? []).filter((d) => d.severity !== 'WARNING'),
      );
  }

  /**
   * Validates and publishes `ir` as a new version of the workflow's state machine (creating the machine
   * the first time); answers the machine's and the version's ARNs. Records nothing: see `record`. Two
   * first deploys at once: the one whose create loses (StateMachineAlreadyExists) updates instead.
   */
  async publish(ir: IrWorkflow, version: number): Promise<{ stateMachineArn: string; versionArn: string }> {
    const definition = this.definition(ir);
    await this.validate(ir.id, definition);
    const versionDescription = `Stepgate workflow ${ir.id} version ${version}`;
    const stateMachineArn = await this.machineArn(ir.id);
    const roleArn = this.options.roleArn;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const updated = await this.sfn.send(
          new UpdateStateMachineCommand({
            stateMachineArn,
            definition,
            roleArn,
            publish: true,
            versionDescription,
          }),
        );
        return { stateMachineArn, versionArn: required(updated.stateMachineVersionArn, ir.id) };
      } catch (error) {
        if (errorName(error) !== 'StateMachineDoesNotExist') throw error;
      }
      try {
        const created = await this.sfn.send(
          new CreateStateMachineCommand({
            name: this.machineName(ir.id),
            definition,
            roleArn,
            type: 'STANDARD',
            publish: true,
            versionDescription,
          }),
        );
        // A machine that exists may answer the create as it is (CreateStateMachine is idempotent; moto
        // does so whatever the definition): only a version holding this definition is ours, else the
        // update above publishes on the next round.
        const versionArn = created.stateMachineVersionArn;
        if (versionArn !== undefined && (await this.holds(versionArn, definition)))
          return { stateMachineArn, versionArn };
      } catch (error) {
        if (errorName(error) !== 'StateMachineAlreadyExists') throw error;
      }
    }
    throw new Error(`the state machine of workflow '${ir.id}' changed under every attempt to publish it`);
  }

  /** True when the published version `versionArn` has `definition`. */
  private async holds(versionArn: string, definition: string): Promise<boolean> {
    const described = await this.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: versionArn }));
    return described.definition === definition;
  }

  /** Records which published version a Stepgate version's runs start on. */
  async record(deployed: DeployedVersion): Promise<void> {
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.name,
        Item: { ...versionKey(deployed.workflowId, deployed.version), ...deployed },
      }),
    );
  }

  /** Points the alias `live` at a published version (creating the alias the first time). */
  async pointLive(stateMachineArn: string, versionArn: string): Promise<void> {
    const routingConfiguration = [{ stateMachineVersionArn: versionArn, weight: 100 }];
    try {
      await this.sfn.send(
        new UpdateStateMachineAliasCommand({
          stateMachineAliasArn: `${stateMachineArn}:${LIVE_ALIAS}`,
          routingConfiguration,
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceNotFound')) throw error;
      await this.sfn.send(new CreateStateMachineAliasCommand({ name: LIVE_ALIAS, routingConfiguration }));
    }
  }

  /**
   * Publishes, records and points `live` at one Stepgate version: what a save does, for a workflow whose
   * version number is already known (templates at deploy time, tests).
   */
  async deploy(workflow: Pick<StoredWorkflowView, 'id' | 'version' | 'ir'>): Promise<DeployedVersion> {
    const published = await this.publish(workflow.ir, workflow.version);
    const deployed: DeployedVersion = {
      workflowId: workflow.id,
      version: workflow.version,
      ...published,
      deployedAt: this.clock.now(),
    };
    await this.record(deployed);
    await this.pointLive(published.stateMachineArn, published.versionArn);
    return deployed;
  }

  /** The deployment of a Stepgate version, or of the latest deployed version when none is named. */
  deployed(workflowId: string, version?: number): Promise<DeployedVersion | undefined> {
    return deployedVersion(this.table, workflowId, version);
  }

  /** Deletes the workflow's state machine (its versions and alias with it); nothing when it has none. */
  async remove(workflowId: string): Promise<void> {
    const stateMachineArn = await this.machineArn(workflowId);
    try {
      await this.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    } catch (error) {
      if (errorName(error) !== 'StateMachineDoesNotExist') throw error;
    }
  }

  /**
   * The ARN of the workflow's state machine: the machines live in the account of the role they run as (its
   * ARN gives the partition and the account) and in the client's region.
   */
  async machineArn(workflowId: string): Promise<string> {
    const role = /^arn:([^:]+):iam::(\d{12}):/.exec(this.options.roleArn);
    if (role === null) throw new Error(`roleArn is not an IAM role ARN: ${this.options.roleArn}`);
    const region = await this.sfn.config.region();
    return `arn:${role[1]}:states:${region}:${role[2]}:stateMachine:${this.machineName(workflowId)}`;
  }
}

/**
 * The deployment of a Stepgate version, or of the latest deployed version when none is named: what a host
 * that only starts runs (the schedule-fire function) needs of the deployer, without its roles and ARNs.
 */
export async function deployedVersion(
  table: Table,
  workflowId: string,
  version?: number,
): Promise<DeployedVersion | undefined> {
  if (version !== undefined) {
    const found = await table.client.send(
      new GetCommand({
        TableName: table.name,
        Key: versionKey(workflowId, version),
        ConsistentRead: true,
      }),
    );
    return found.Item === undefined ? undefined : toDeployed(found.Item);
  }
  const latest = await queryAll(
    table,
    {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': versionKey(workflowId, 0).pk, ':prefix': 'MACHINE#' },
      ScanIndexForward: false,
      ConsistentRead: true,
    },
    1,
  );
  return latest[0] === undefined ? undefined : toDeployed(latest[0]);
}

/**
 * A WorkflowStore that deploys each version before saving it and deletes the state machine with the
 * workflow (see the header for what a failure or a race leaves behind).
 */
export class StateMachineWorkflowStore implements WorkflowStore {
  constructor(
    private readonly inner: WorkflowStore,
    private readonly deployer: StateMachineDeployer,
  ) {}

  async save(input: Parameters<WorkflowStore['save']>[0]): Promise<{ id: string; version: number }> {
    const id = input.ir.id;
    const expected = ((await this.inner.history(id)).at(-1)?.version ?? 0) + 1;
    const published = await this.deployer.publish(input.ir, expected);
    const saved = await this.inner.save(input);
    await this.deployer.record({
      workflowId: id,
      version: saved.version,
      ...published,
      deployedAt: input.at,
    });
    if ((await this.inner.get(id))?.version === saved.version)
      await this.deployer.pointLive(published.stateMachineArn, published.versionArn);
    return saved;
  }

  get(id: string): ReturnType<WorkflowStore['get']> {
    return this.inner.get(id);
  }

  list(): ReturnType<WorkflowStore['list']> {
    return this.inner.list();
  }

  history(id: string): ReturnType<WorkflowStore['history']> {
    return this.inner.history(id);
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.inner.delete(id);
    if (deleted) await this.deployer.remove(id);
    return deleted;
  }
}

function versionKey(workflowId: string, version: number): { pk: string; sk: string } {
  return { pk: `WORKFLOW#${workflowId}`, sk: `MACHINE#${String(version).padStart(10, '0')}` };
}

function toDeployed(item: Record<string, unknown>): DeployedVersion {
  return {
    workflowId: String(item.workflowId),
    version: Number(item.version),
    stateMachineArn: String(item.stateMachineArn),
    versionArn: String(item.versionArn),
    deployedAt: Number(item.deployedAt),
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function required(arn: string | undefined, workflowId: string): string {
  if (arn === undefined)
    throw new Error(`Step Functions answered no ARN for the state machine of '${workflowId}'`);
  return arn;
}
