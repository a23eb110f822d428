// The stack `npx cdk synth` builds (issue 14): one Stepgate construct configured from the CDK context
// (cdk.json, or `-c stepgate:domain=flows.example.com` on the command line), checked by cdk-nag's
// AwsSolutions rules at synth so a finding fails the synth instead of reaching an account.
import { type App, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Stepgate, type StepgateProps } from './stepgate.js';

/** A stack holding one Stepgate. */
export class StepgateStack extends Stack {
  /** The construct, for tests and for stacks that add to it. */
  readonly stepgate: Stepgate;

  /** The stack `id` in `scope` with a Stepgate configured by `props`. */
  constructor(scope: Construct, id: string, props: StackProps & { stepgate?: StepgateProps } = {}) {
    super(scope, id, props);
    this.stepgate = new Stepgate(this, 'Stepgate', props.stepgate);
  }
}

/** The context keys the app reads, and the prop each sets. */
export const CONTEXT = {
  domain: 'stepgate:domain',
  emailSender: 'stepgate:emailSender',
  adminEmail: 'stepgate:adminEmail',
  largeResultDays: 'stepgate:largeResultDays',
} as const;

/** The Stepgate props the app's context sets; throws naming the context key when a value is malformed. */
export function propsFromContext(app: App): StepgateProps {
  const domain = text(app, CONTEXT.domain);
  const emailSender = text(app, CONTEXT.emailSender);
  const adminEmail = text(app, CONTEXT.adminEmail);
  const days = app.node.tryGetContext(CONTEXT.largeResultDays);
  const largeResultDays = days === undefined || days === '' ? undefined : Number(days);
  if (largeResultDays !== undefined && !Number.isInteger(largeResultDays)) {
    throw new Error(
      `context ${CONTEXT.largeResultDays} must be a whole number of days, not ${JSON.stringify(days)}`,
    );
  }
  return { domain, emailSender, adminEmail, retention: { largeResultDays } };
}

/** Adds the Stepgate stack to `app`, checked by cdk-nag's AwsSolutions rules; answers the stack. */
export function addStepgateStack(app: App): StepgateStack {
  const stack = new StepgateStack(app, 'Stepgate', {
    description: 'Stepgate: workflows with approval gates on Step Functions, Lambda and DynamoDB',
    stepgate: propsFromContext(app),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}

/** The string context value `key`, or undefined when unset or empty; throws when it is not a string. */
function text(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string')
    throw new Error(`context ${key} must be a string, not ${JSON.stringify(value)}`);
  return value;
}
