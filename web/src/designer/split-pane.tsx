// The designer's centre: the canvas over the code view, split by a bar the user drags (or moves with the
// arrow keys) to trade height between them. Stacked rather than side by side because the graph spreads
// sideways (a condition's or an approval's branches sit next to each other): side by side would halve
// the canvas' width (≈350 px at 1280×800), stacked it keeps all of it. The split is remembered.
import { type KeyboardEvent, type PointerEvent, type ReactNode, useRef, useState } from 'react';

const KEY = 'stepgate.designer.canvasShare';
/** The canvas' share of the height by default, and the range the bar moves in. */
const DEFAULT_SHARE = 0.66;
const MIN_SHARE = 0.25;
const MAX_SHARE = 0.85;

const clamp = (share: number) => Math.min(MAX_SHARE, Math.max(MIN_SHARE, share));

function storedShare(): number {
  try {
    const value = Number(localStorage.getItem(KEY));
    return value > 0 ? clamp(value) : DEFAULT_SHARE;
  } catch {
    return DEFAULT_SHARE;
  }
}

export function SplitCenter({ canvas, code }: { canvas: ReactNode; code: ReactNode | null }) {
  const [share, setShare] = useState(storedShare);
  const box = useRef<HTMLDivElement>(null);
  const set = (next: number) => {
    const value = clamp(next);
    setShare(value);
    try {
      localStorage.setItem(KEY, String(value));
    } catch {
      // Private mode: the split is not remembered.
    }
  };

  const drag = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0 || box.current === null) return;
    event.preventDefault();
    const bounds = box.current.getBoundingClientRect();
    const move = (e: globalThis.PointerEvent) => set((e.clientY - bounds.top) / bounds.height);
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  const keys = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = { ArrowUp: -0.05, ArrowDown: 0.05 }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      set(share + step);
    } else if (event.key === 'Home') set(MIN_SHARE);
    else if (event.key === 'End') set(MAX_SHARE);
  };

  if (code === null)
    return (
      <div className="sg-center" ref={box}>
        {canvas}
      </div>
    );
  return (
    <div
      className="sg-center sg-with-code"
      ref={box}
      style={{ gridTemplateRows: `minmax(0, ${share}fr) 8px minmax(0, ${1 - share}fr)` }}
    >
      {canvas}
      {/* biome-ignore lint/a11y/useSemanticElements: a movable split bar is a focusable separator, not an <hr>. */}
      <div
        className="sg-splitter"
        role="separator"
        aria-orientation="horizontal"
        aria-label="Canvas and code split (arrow keys move it)"
        aria-valuemin={Math.round(MIN_SHARE * 100)}
        aria-valuemax={Math.round(MAX_SHARE * 100)}
        aria-valuenow={Math.round(share * 100)}
        tabIndex={0}
        onPointerDown={drag}
        onKeyDown={keys}
        onDoubleClick={() => set(DEFAULT_SHARE)}
        title="Drag to give the canvas or the code more room; double-click to reset"
      />
      {code}
    </div>
  );
}
