// The published JSON Schema is generated from the validator's zod schema and must not drift from it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workflowJsonSchema } from '../translator/definition.js';

const root = join(import.meta.dirname, '..');
const published = JSON.parse(readFileSync(join(root, 'schema', 'workflow.schema.json'), 'utf8')) as Record<
  string,
  unknown
>;
const templates = ['expense-approval', 'travel-booking', 'incident-response', 'employee-onboarding'];

describe('schema/workflow.schema.json', () => {
  it('is up to date with the zod definition schema (run `npm run schema` after changing the format)', () => {
    expect(published).toEqual(workflowJsonSchema());
  });

  it('is a valid draft 2020-12 schema', () => {
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validateSchema(published), JSON.stringify(ajv.errors)).toBe(true);
  });

  it.each(templates)('accepts the %s template, as an editor would', (name) => {
    const validate = new Ajv2020({ strict: false }).compile(published);
    const definition = parse(readFileSync(join(root, 'templates', `${name}.yaml`), 'utf8')) as unknown;
    expect(validate(definition), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects a step with an unknown key, as the validator does', () => {
    const validate = new Ajv2020({ strict: false }).compile(published);
    const definition = { version: 1, id: 'x', steps: [{ id: 'a', type: 'tool', tool: 't', retyr: {} }] };
    expect(validate(definition)).toBe(false);
  });
});
