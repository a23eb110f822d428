// The dashboard's reading of outside text as inline markdown (web/src/inline-markdown.ts, rendered by ui.tsx InlineMarkdown):
// the small subset it renders — `code`, **bold**, *italic*/_italic_, http(s) links — and that anything
// else (other link schemes, HTML, identifiers with underscores) stays literal text.
import { describe, expect, it } from 'vitest';
import { inlineMarkdown, plainText } from '../../web/src/inline-markdown.js';

describe('inlineMarkdown', () => {
  it('reads code, bold, italics and http(s) links', () => {
    expect(
      inlineMarkdown('`ok` is **false** when *invalid*; see [docs](https://example.com/x) or _this_.'),
    ).toEqual([
      { kind: 'code', text: 'ok' },
      { kind: 'text', text: ' is ' },
      { kind: 'strong', text: 'false' },
      { kind: 'text', text: ' when ' },
      { kind: 'em', text: 'invalid' },
      { kind: 'text', text: '; see ' },
      { kind: 'link', text: 'docs', href: 'https://example.com/x' },
      { kind: 'text', text: ' or ' },
      { kind: 'em', text: 'this' },
      { kind: 'text', text: '.' },
    ]);
  });

  it('keeps everything else literal: other schemes, HTML, snake_case, a lone star, markdown inside code', () => {
    const literal = [
      '[click](javascript:alert(1))',
      '<img src=x onerror=alert(1)>',
      'group_by_name and first_last',
      '2 * 3 = 6',
    ];
    for (const text of literal) expect(inlineMarkdown(text)).toEqual([{ kind: 'text', text }]);
    expect(inlineMarkdown('`**not bold**`')).toEqual([{ kind: 'code', text: '**not bold**' }]);
  });

  it('gives plain text without the marks, for places that take a string', () => {
    expect(plainText('Charges `amount` (**once**) per [key](https://example.com).')).toBe(
      'Charges amount (once) per key.',
    );
  });
});
