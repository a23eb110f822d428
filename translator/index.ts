// The translator's public surface: parse and validate definitions, lower them to the IR, and the
// expression and template languages that the engine and the compilers share.

export * from './definition.js';
export * from './diagnostics.js';
export * from './duration.js';
export * from './expression.js';
export * from './ir.js';
export * from './path.js';
export * from './template.js';
export * from './validate.js';
