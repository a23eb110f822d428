// The CDK app cdk.json runs (`npx cdk synth`, `npx cdk deploy`): the Stepgate stack, configured from the
// context. No environment is pinned and nothing is looked up, so the synth needs no account and no network.
// A malformed context value or prop ends the synth with its one-line message (naming it), not a stack trace.
import { App } from 'aws-cdk-lib';
import { addStepgateStack } from './stack.js';

try {
  const app = new App();
  addStepgateStack(app);
  app.synth();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
