// The one Ajv set-up (JSON Schema draft 2020-12 with the standard formats) that the validator, workflow
// inputs and tool arguments share; its `email` format is Stepgate's one email rule, not ajv-formats' own.
import { Ajv2020, type Options } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isEmail } from './email.js';

/** A draft 2020-12 Ajv with `options`, the standard formats, and `email` checked by `isEmail`. */
export function createAjv(options: Options): Ajv2020 {
  const ajv = new Ajv2020(options);
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addFormat('email', isEmail);
  return ajv;
}
