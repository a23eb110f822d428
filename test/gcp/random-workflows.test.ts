// Conformance beyond the templates on GCP Workflows (test/support/random-conformance.ts). Workflows GCP
// cannot take (a parallel nested deeper than GCP allows) must be refused with a TranslateError.
import { runCaseGcp } from '../../testing/run-gcp.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { randomConformance } from '../support/random-conformance.js';

randomConformance('gcp', runCaseGcp, { compile: emitGcpWorkflows, refusal: 'gcp.parallel-depth' });
