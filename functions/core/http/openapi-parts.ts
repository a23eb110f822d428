// The pieces every route module's OpenAPI description is built from (openapi.ts merges them).
export const problem = { $ref: '#/components/schemas/Problem' };

/** A problem-document response. */
export const problemOf = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problem } },
});

/** The answers every authenticated route can give. */
export const errors = { '401': problemOf('Not logged in'), '403': problemOf('The role is not enough') };

/** A JSON object response. */
export const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});

/** A required JSON object request body with these properties. */
export const jsonBodyOf = (properties: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', required, properties } } },
});

/** The path parameter `name`, a string. */
export const pathParameter = (name: string) => [
  { name, in: 'path', required: true, schema: { type: 'string' } },
];
