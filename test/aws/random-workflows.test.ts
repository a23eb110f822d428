// Conformance beyond the templates on AWS Step Functions: the compiled ASL executed by
// aws-local-stepfunctions (test/support/random-conformance.ts). Every random workflow compiles.
import { runCaseAws } from '../../testing/run-aws.js';
import { randomConformance } from '../support/random-conformance.js';

randomConformance('aws', runCaseAws);
