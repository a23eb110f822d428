// The error every compiler raises for what its target cannot express: a stable code, the step it is
// about (JSON pointer into the definition) and the target, never a silent drop.
export type CompileTarget = 'aws' | 'gcp' | 'azure';

export class TranslateError extends Error {
  override name = 'TranslateError';

  constructor(
    readonly code: string,
    message: string,
    /** JSON pointer of the step (or field) in the definition. */
    readonly path: string,
    readonly target: CompileTarget,
  ) {
    super(message);
  }
}

/** One file a compiler produces for a workflow. */
export interface EmittedFile {
  name: string;
  content: string;
}
