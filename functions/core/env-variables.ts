// Schemas for the settings a cloud host reads from its environment (functions/aws/config.ts,
// functions/gcp/config.ts): each error names the variable, so a deployment missing one says which.
import { z } from 'zod';

/** A variable holding non-empty text. */
export const textVariable = (variable: string) =>
  z
    .string({ error: `${variable} is not set` })
    .trim()
    .min(1, `${variable} is empty`);

/** A variable holding JSON, parsed, then checked by `schema`; errors name the variable. */
export function jsonVariable<T extends z.ZodType>(variable: string, schema: T) {
  return z
    .string({ error: `${variable} is not set` })
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${variable} is not JSON` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** One problem, led by its variable (and the path inside a JSON one) unless the message names it. */
export function describeSettingIssue(
  issue: z.core.$ZodIssue,
  variables: Readonly<Record<string, string>>,
): string {
  const [setting, ...inside] = issue.path.map(String);
  const variable = variables[setting ?? ''] ?? setting ?? '';
  if (issue.message.startsWith(variable)) return `  ${issue.message}`;
  return `  ${variable}${inside.length > 0 ? ` (${inside.join('.')})` : ''}: ${issue.message}`;
}
