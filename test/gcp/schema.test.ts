// The GCP Workflows compiler against the official JSON schema (draft-07, checked with Ajv): every template
// compiles and validates, the 62 official samples validate too (proof of the validator setup), output is
// deterministic, and what GCP cannot express is a TranslateError naming the step.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TranslateError } from '../../translator/emit/errors.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { COMPILERS } from '../../translator/emit/index.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';
import { randomWorkflow } from '../support/random-workflow.js';

const reference = '/work/shared/reference/gcp-workflows';
const schema = JSON.parse(readFileSync(join(reference, 'workflows.schema.json'), 'utf8')) as Record<
  string,
  unknown
>;
const templates = join(import.meta.dirname, '..', '..', 'templates');
const workflows = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
const samples = readdirSync(join(reference, 'samples')).filter((f) => f.endsWith('.yaml'));

// The schema declares draft-07, Ajv's default dialect; `format: uri` is only annotated (strict off).
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);

function irOf(text: string, file = 'w.yaml'): IrWorkflow {
  const result = validateWorkflow(text, formatOf(file));
  if (result.ir === undefined) throw new Error(`invalid workflow ${file}`);
  return result.ir;
}

function errorsOf(doc: unknown): string {
  return validate(doc) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

describe('GCP Workflows output', () => {
  it('uses the draft the schema declares', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts every official sample (the validator setup is right)', () => {
    expect(samples.length).toBe(62);
    for (const file of samples) {
      const doc = parse(readFileSync(join(reference, 'samples', file), 'utf8')) as unknown;
      expect(errorsOf(doc), file).toBe('');
    }
  });

  it('rejects a malformed workflow (the validator is not vacuous)', () => {
    expect(errorsOf({ main: { steps: [{ a: { call: 'http.get', bogus: 1 } }] } })).not.toBe('');
  });

  it.each(workflows)('%s compiles to a valid, deterministic workflow', (file) => {
    const text = readFileSync(join(templates, file), 'utf8');
    const first = emitGcpWorkflows(irOf(text, file));
    const second = emitGcpWorkflows(irOf(text, file));
    expect(second).toBe(first);
    const doc = parse(first) as { main: { params: string[] } };
    expect(doc.main.params).toEqual(['input']);
    expect(errorsOf(doc)).toBe('');
    const ir = irOf(text, file);
    expect(COMPILERS.gcp?.(ir)).toEqual([{ name: `${ir.id}.gcp-workflows.yaml`, content: first }]);
  });
});

/** A workflow whose parallel step `fan` has `branches` branches; `depth` nests parallels in its first branch. */
function parallelWorkflow(branches: number, depth = 1): string {
  const parallel = (id: string, indent: string, level: number, count: number): string => {
    const lines = [`${indent}- id: ${id}`, `${indent}  type: parallel`, `${indent}  branches:`];
    for (let i = 0; i < count; i++) {
      lines.push(`${indent}    - steps:`);
      if (i === 0 && level < depth) lines.push(parallel(`${id}_${i}`, `${indent}        `, level + 1, 2));
      else lines.push(`${indent}        - { id: ${id}_s${i}, type: delay, duration: 1m }`);
    }
    return lines.join('\n');
  };
  return `version: 1\nid: wide\nsteps:\n${parallel('fan', '  ', 1, branches)}\n`;
}

describe('random workflows', () => {
  it('compile to valid workflows (every step kind, nested parallels, escalations)', () => {
    for (let seed = 1_000; seed < 1_200; seed++) {
      const ir = irOf(randomWorkflow(seed).yaml);
      expect(errorsOf(parse(emitGcpWorkflows(ir))), `seed ${seed}`).toBe('');
    }
  });
});

describe('what GCP Workflows cannot express', () => {
  it('refuses 11 branches, naming the step', () => {
    const ir = irOf(parallelWorkflow(11));
    expect(() => emitGcpWorkflows(ir)).toThrow(TranslateError);
    try {
      emitGcpWorkflows(ir);
    } catch (error) {
      expect(error).toMatchObject({ code: 'gcp.too-many-branches', path: '/steps/0', target: 'gcp' });
      expect((error as Error).message).toContain("'fan'");
    }
  });

  it('accepts 10 branches and parallels nested two deep', () => {
    expect(errorsOf(parse(emitGcpWorkflows(irOf(parallelWorkflow(10)))))).toBe('');
    expect(errorsOf(parse(emitGcpWorkflows(irOf(parallelWorkflow(3, 2)))))).toBe('');
  });

  it('refuses parallels nested three deep, naming the step', () => {
    const ir = irOf(parallelWorkflow(2, 3));
    expect(() => emitGcpWorkflows(ir)).toThrow(TranslateError);
    expect(() => emitGcpWorkflows(ir)).toThrow(/'fan_0_0'/);
  });
});
