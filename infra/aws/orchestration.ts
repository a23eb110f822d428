// What runs Stepgate's workflows on AWS, around the Lambdas (issue 14): the role every Stepgate state
// machine runs as (it may invoke the activity functions and nothing else), the EventBridge rule that hands
// the state machines' status changes to the run-status function (the run records follow their executions),
// and the EventBridge Scheduler group Stepgate's schedules live in with the role the Scheduler invokes the
// schedule-fire function as. The state machines themselves are not here: the API creates one per workflow
// when it is saved (adapters/aws/state-machines.ts), named with `prefix`, so the IAM of both sides is
// written against that prefix.
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import type { StepgateFunctions } from './functions.js';
import { stateMachineArns } from './functions.js';

/** The functions a compiled state machine invokes (ASL_PLACEHOLDERS of translator/emit/aws-asl.ts). */
const ACTIVITIES = ['tool-call', 'notify', 'approval-request', 'quorum'] as const;

export interface StepgateOrchestrationProps {
  readonly functions: StepgateFunctions;
  /** The start of every Stepgate state machine's name. */
  readonly prefix: string;
}

export class StepgateOrchestration extends Construct {
  /** The role the state machines run as. */
  readonly stateMachineRole: iam.Role;
  /** The role EventBridge Scheduler invokes the schedule-fire function as. */
  readonly schedulerRole: iam.Role;
  readonly scheduleGroup: scheduler.CfnScheduleGroup;
  /** The ARN pattern of the group's schedules. */
  readonly schedulesArn: string;

  constructor(scope: Construct, id: string, props: StepgateOrchestrationProps) {
    super(scope, id);
    const fns = props.functions.byName;
    const stack = Stack.of(this);

    this.stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Stepgate state machines: invoke the activity functions',
    });
    // The functions themselves (unqualified ARNs, as the definitions name them), not their versions.
    this.stateMachineRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: ACTIVITIES.map((name) => fns[name].functionArn),
      }),
    );

    // Status changes of Stepgate's executions only (their state machines' names start with the prefix).
    const { machines } = stateMachineArns(this, props.prefix);
    new events.Rule(this, 'ExecutionStatus', {
      description: 'Stepgate: execution status changes to the run records',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ wildcard: machines }] },
      },
      targets: [new targets.LambdaFunction(fns['run-status'], { retryAttempts: 185 })],
    });

    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'Schedules', {
      name: `${props.prefix}schedules`,
    });
    this.schedulesArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${props.prefix}schedules/*`,
    });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Stepgate schedules: invoke the schedule-fire function',
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [fns['schedule-fire'].functionArn],
      }),
    );
  }
}
