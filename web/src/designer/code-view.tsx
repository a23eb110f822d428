// The code view: the same workflow as YAML or JSON in CodeMirror 6, with schema-driven completion and
// the server's diagnostics inline. It shows whatever text the editor holds and reports every edit.
import { type CompletionContext, type CompletionResult, snippetCompletion } from '@codemirror/autocomplete';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic as CmDiagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import type { SourceFormat } from './definition-model';
import { keysAt, valuesAt, yamlContext } from './schema-hints';

export interface CodeDiagnostic {
  severity: 'error' | 'warning';
  message: string;
  line: number;
  col: number;
}

export interface CodeViewProps {
  text: string;
  format: SourceFormat;
  diagnostics: CodeDiagnostic[];
  onChange: (text: string) => void;
}

function yamlCompletion(context: CompletionContext): CompletionResult | null {
  const text = context.state.doc.toString();
  const where = yamlContext(text, context.pos);
  const valueMatch = /^(\s*(?:-\s+)?)([\w$]+):\s*([\w:-]*)$/.exec(where.line);
  if (valueMatch) {
    const values = valuesAt([...where.path, valueMatch[2] ?? ''], where.stepType);
    if (values.length === 0) return null;
    return {
      from: context.pos - (valueMatch[3]?.length ?? 0),
      options: values.map((v) => ({ label: v, type: 'enum' })),
    };
  }
  const keyMatch = /^\s*(?:-\s+)?([\w$]*)$/.exec(where.line);
  if (!keyMatch || (!context.explicit && keyMatch[1] === '')) return null;
  const keys = keysAt(where.path, where.stepType);
  if (keys.length === 0) return null;
  return {
    from: context.pos - (keyMatch[1]?.length ?? 0),
    options: keys.map((k) =>
      snippetCompletion(`${k.label}: \${}`, {
        label: k.label,
        type: 'property',
        ...(k.detail ? { info: k.detail } : {}),
      }),
    ),
  };
}

function jsonCompletion(context: CompletionContext): CompletionResult | null {
  const word = context.matchBefore(/"[\w$]*/);
  if (word === null) return null;
  const keys = [
    ...keysAt([], null),
    ...keysAt(['steps', '[]'], null),
    ...keysAt(['steps', '[]', 'retry'], null),
  ];
  const unique = [...new Map(keys.map((k) => [k.label, k])).values()];
  return { from: word.from, options: unique.map((k) => ({ label: `"${k.label}"`, type: 'property' })) };
}

function toCm(state: EditorState, d: CodeDiagnostic): CmDiagnostic {
  const lineNo = Math.min(Math.max(d.line, 1), state.doc.lines);
  const line = state.doc.line(lineNo);
  const from = Math.min(line.from + Math.max(d.col - 1, 0), line.to);
  return { from, to: Math.max(from, line.to), severity: d.severity, message: d.message };
}

export function CodeView({ text, format, diagnostics, onChange }: CodeViewProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const textRef = useRef(text);
  textRef.current = text;

  useEffect(() => {
    if (host.current === null) return;
    const completion = format === 'json' ? jsonCompletion : yamlCompletion;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: textRef.current,
        extensions: [
          basicSetup,
          format === 'json' ? json() : yaml(),
          EditorState.languageData.of(() => [{ autocomplete: completion }]),
          lintGutter(),
          EditorView.updateListener.of((update) => {
            if (
              update.docChanged &&
              update.transactions.some(
                (t) =>
                  t.isUserEvent('input') ||
                  t.isUserEvent('delete') ||
                  t.isUserEvent('undo') ||
                  t.isUserEvent('redo') ||
                  t.isUserEvent('move'),
              )
            )
              onChangeRef.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, [format]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const current = editor.state.doc.toString();
    if (current === text) return;
    const head = Math.min(editor.state.selection.main.head, text.length);
    editor.dispatch({ changes: { from: 0, to: current.length, insert: text }, selection: { anchor: head } });
  }, [text]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    editor.dispatch(
      setDiagnostics(
        editor.state,
        diagnostics.map((d) => toCm(editor.state, d)),
      ),
    );
  }, [diagnostics]);

  return <div className="sg-code-view" ref={host} data-testid="code-view" />;
}
