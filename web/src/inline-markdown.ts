// Outside text (an MCP server's tool description, a template's or an input's description) read as a small
// subset of inline markdown — `code`, **bold**, *italic* / _italic_, [links](https://…) — so the dashboard
// shows it formatted (ui.tsx InlineMarkdown) or without the marks (plainText), never as raw backticks and
// never as HTML. Plain TypeScript without JSX, so the unit tests read it too.

/** One piece of inline markdown: plain text, `code`, **bold**, *italic* / _italic_, or an http(s) link. */
export type InlinePiece =
  | { kind: 'text' | 'code' | 'strong' | 'em'; text: string }
  | { kind: 'link'; text: string; href: string };

// Backtick code first (nothing inside it is markdown), then bold, links and italics; never nested.
const INLINE =
  /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(?<![\w*])\*([^*\s][^*\n]*?)\*(?![\w*])|(?<![\w_])_([^_\s][^_\n]*?)_(?![\w_])/g;

/**
 * Text from outside (an MCP server's tool description, a template's description) as inline markdown
 * pieces. Only this small subset is read; everything else stays literal text, and nothing becomes HTML.
 */
export function inlineMarkdown(text: string): InlinePiece[] {
  const pieces: InlinePiece[] = [];
  let at = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > at) pieces.push({ kind: 'text', text: text.slice(at, match.index) });
    const [, code, strong, label, href, star, underscore] = match;
    if (code !== undefined) pieces.push({ kind: 'code', text: code });
    else if (strong !== undefined) pieces.push({ kind: 'strong', text: strong });
    else if (label !== undefined && href !== undefined) pieces.push({ kind: 'link', text: label, href });
    else pieces.push({ kind: 'em', text: star ?? underscore ?? '' });
    at = match.index + match[0].length;
  }
  if (at < text.length) pieces.push({ kind: 'text', text: text.slice(at) });
  return pieces;
}

/** The text with its inline markdown marks removed (for places that take a plain string, e.g. a hint). */
export function plainText(text: string): string {
  return inlineMarkdown(text)
    .map((piece) => piece.text)
    .join('');
}
