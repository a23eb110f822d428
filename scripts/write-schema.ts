// Regenerates schema/workflow.schema.json from the zod definition schema (`npm run schema`).
import { writeFileSync } from 'node:fs';
import { workflowJsonSchema } from '../translator/definition.js';

writeFileSync(
  new URL('../schema/workflow.schema.json', import.meta.url),
  `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`,
);
