// The one email rule where it is used without a server: the `email` format of workflow inputs and tool
// arguments (the shared Ajv set-up) agrees with isEmail, dotless domains included.
import { describe, expect, it } from 'vitest';
import { isEmail } from '../../functions/core/identity.js';
import { checkInput } from '../../functions/core/inputs.js';
import { createAjv } from '../../translator/ajv.js';

const SCHEMA = { type: 'object', properties: { to: { type: 'string', format: 'email' } } };
const ADDRESSES = [
  'ops@localhost',
  'ana@example.com',
  'ops@localhost.',
  'a,b@example.com',
  'ops:x@example.com',
];

describe('the email format of JSON Schemas', () => {
  it.each(ADDRESSES)('agrees with isEmail on %s', (address) => {
    const validate = createAjv({ strict: false }).compile(SCHEMA);
    expect(validate({ to: address })).toBe(isEmail(address));
    expect(checkInput(SCHEMA, { to: address }).ok).toBe(isEmail(address));
  });

  it('accepts a dotless domain and refuses a second @', () => {
    expect(isEmail('ops@localhost')).toBe(true);
    expect(isEmail('ops@@localhost')).toBe(false);
  });
});
