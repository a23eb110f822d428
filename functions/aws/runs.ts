// What runs workflows on AWS, composed once per container over the ports: the Step Functions client, the
// deployer that turns a saved workflow version into a published state machine version (the API only: it
// alone holds the state machines' role and the activity functions' ARNs), the DurableHost on Step
// Functions, the workflow store that deploys before it saves, and the Scheduler whose schedules live in
// EventBridge Scheduler (the API creates, changes and deletes them; schedule-fire fires them). A function
// that only starts runs (schedule-fire) reads the deployed versions straight from the table.
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { EventBridgeSchedules, SyncedScheduleStore } from '../../adapters/aws/eventbridge-schedules.js';
import { DynamoScheduleStore } from '../../adapters/aws/schedule-store.js';
import {
  deployedVersion,
  StateMachineDeployer,
  StateMachineWorkflowStore,
} from '../../adapters/aws/state-machines.js';
import { StepFunctionsHost } from '../../adapters/aws/step-functions-host.js';
import { scheduledRuns } from '../core/http/schedule-routes.js';
import type { ApprovalOutcome } from '../core/protocol.js';
import { Scheduler } from '../core/triggers/schedules.js';
import type { ApprovalDecisions } from './approvals.js';
import { required } from './config.js';
import { type AwsPorts, lazy } from './ports.js';

export class AwsRuns {
  constructor(private readonly ports: AwsPorts) {}

  private readonly sfn = lazy(() => new SFNClient(this.ports.clients));

  /** Compiles, validates and publishes workflow versions (the API's settings: role and function ARNs). */
  readonly deployer = lazy(() => {
    const { config, table, clock } = this.ports;
    return new StateMachineDeployer({
      sfn: this.sfn(),
      table,
      roleArn: required(config, 'stateMachineRoleArn'),
      functions: {
        toolCall: required(config, 'toolCallFunctionArn'),
        notify: required(config, 'notifyFunctionArn'),
        approvalRequest: required(config, 'approvalRequestFunctionArn'),
        quorum: required(config, 'quorumFunctionArn'),
      },
      namePrefix: required(config, 'stateMachinePrefix'),
      clock,
    });
  });

  /** Runs as Step Functions executions; their records and trail in the table. */
  readonly host = lazy(
    () =>
      new StepFunctionsHost({
        sfn: this.sfn(),
        table: this.ports.table,
        machines: { deployed: (id, version) => deployedVersion(this.ports.table, id, version) },
        workflows: this.ports.workflows(),
        clock: this.ports.clock,
      }),
  );

  /** The workflow store the API saves through: a version is deployed before it is saved. */
  readonly workflows = lazy(() => new StateMachineWorkflowStore(this.ports.workflows(), this.deployer()));

  /** How a decided level reaches its run: its task token answered; an expired one is recorded, not an error. */
  readonly decisions = lazy(
    (): ApprovalDecisions => ({
      raiseEvent: async (runId: string, _name: string, outcome: ApprovalOutcome, callback: string | null) => {
        if (callback === null)
          throw new Error(`run ${runId}: the approval level carries no task token to answer`);
        await this.host().answerApproval(runId, callback, outcome);
      },
      runActive: async (runId: string) => (await this.host().getRun(runId))?.status === 'running',
    }),
  );

  /**
   * The Scheduler over the schedules (never started: EventBridge Scheduler keeps the time). With `sync`,
   * every change also creates, updates or deletes the EventBridge schedule (the API); without, the store
   * alone (schedule-fire, which only claims fires).
   */
  scheduler(sync: boolean): Scheduler {
    const { ports } = this;
    const store = new DynamoScheduleStore(ports.table);
    const directory = ports.directory();
    return new Scheduler({
      store: sync ? new SyncedScheduleStore(store, this.eventBridge()) : store,
      clock: ports.clock,
      ...scheduledRuns({
        workflows: ports.workflows(),
        host: this.host(),
        lookup: (email) => directory.user(email),
      }),
    });
  }

  private readonly eventBridge = lazy(() => {
    const { config, clients } = this.ports;
    return new EventBridgeSchedules({
      client: new SchedulerClient(clients),
      groupName: required(config, 'scheduleGroup'),
      targetArn: required(config, 'scheduleFireFunctionArn'),
      roleArn: required(config, 'schedulerRoleArn'),
    });
  });
}
