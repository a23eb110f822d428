// What an approver was shown beside a request's message — the step's details, the run's inputs, the
// latest step results — drawn the same way wherever the dashboard shows it: the Approvals card and the
// run page's timeline. Entries go inside a <dl className="facts">, a section each, empty ones left out;
// React escapes every value, so markup in an input stays text.
import type { ApprovalContext, ApprovalContextEntry } from './types';

const SECTIONS: Array<{ key: keyof ApprovalContext; title: string }> = [
  { key: 'details', title: 'Details' },
  { key: 'inputs', title: 'Inputs' },
  { key: 'results', title: 'Latest step results' },
];

/** The request's context, a section per kind, empty ones left out. */
export function ContextFacts({ context }: { context: ApprovalContext }) {
  return (
    <>
      {SECTIONS.filter(({ key }) => context[key].length > 0).map(({ key, title }) => (
        <div key={key} className="facts-wide">
          <dt>{title}</dt>
          <dd>
            <dl className="context-list">
              {context[key].map((entry) => (
                <ContextEntry key={entry.label} entry={entry} />
              ))}
            </dl>
          </dd>
        </div>
      ))}
    </>
  );
}

/** One entry: a list of plain values as a list, an object as JSON, anything else as text. */
function ContextEntry({ entry }: { entry: ApprovalContextEntry }) {
  const { value } = entry;
  const plainList =
    Array.isArray(value) && value.length > 0 && value.every((v) => typeof v !== 'object' || v === null);
  return (
    <div className="context-entry">
      <dt>{entry.label}</dt>
      <dd>
        {plainList ? (
          <ul>
            {(value as unknown[]).map((v, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the items of one fixed list.
              <li key={i}>{typeof v === 'string' ? v : JSON.stringify(v)}</li>
            ))}
          </ul>
        ) : value !== null && typeof value === 'object' ? (
          <pre className="context-json">{JSON.stringify(value, null, 2)}</pre>
        ) : typeof value === 'string' ? (
          value
        ) : (
          JSON.stringify(value)
        )}
      </dd>
    </div>
  );
}
