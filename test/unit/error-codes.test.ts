// The one catalog of error codes: every list a module keeps is a view of it, and no two names share a code.
import { describe, expect, it } from 'vitest';
import { MCP_ERROR } from '../../adapters/mcp/registry.js';
import { NOTIFY_ERROR } from '../../functions/core/notify/notifier.js';
import { ERROR } from '../../functions/core/protocol.js';
import { INVALID_RESULT } from '../../functions/core/results.js';
import { PIPELINE_ERROR } from '../../functions/core/tool-pipeline.js';
import { ASL_ERROR } from '../../translator/emit/aws-asl.js';
import { ERROR_CODE } from '../../translator/error-codes.js';

const catalog = new Set<string>(Object.values(ERROR_CODE));

describe('the error code catalog', () => {
  it('gives every name its own code', () => {
    expect(catalog.size).toBe(Object.keys(ERROR_CODE).length);
  });

  it.each([
    ['ERROR', ERROR],
    ['ASL_ERROR', ASL_ERROR],
    ['PIPELINE_ERROR', PIPELINE_ERROR],
    ['MCP_ERROR', MCP_ERROR],
    ['NOTIFY_ERROR', NOTIFY_ERROR],
    ['INVALID_RESULT', { invalidResult: INVALID_RESULT }],
  ])('holds every code of %s', (_, view) => {
    expect(Object.values(view).filter((code) => !catalog.has(code))).toEqual([]);
  });

  it('keeps PolicyDenied without the Stepgate. prefix that workflows match on', () => {
    expect(PIPELINE_ERROR.policyDenied).toBe('PolicyDenied');
  });
});
