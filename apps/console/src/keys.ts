import { useEffect, useRef } from 'react';

/** True while the user types: single-key shortcuts must not fire then. */
export function isTyping(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  // A checkbox or radio button takes no text: shortcuts stay on (pick alerts, then press the action's key).
  if (el.tagName === 'INPUT' && ['checkbox', 'radio'].includes((el as HTMLInputElement).type)) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

export type KeyMap = Record<string, (e: KeyboardEvent) => void>;

/**
 * Page shortcuts: single keys (off while typing or when a dialog is open) and two-key sequences ("g q").
 * Ctrl/⌘ combinations are handled by the shell.
 */
export function useKeys(map: KeyMap, enabled = true): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    if (!enabled) return;
    let prefix = '';
    let prefixAt = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e) || document.querySelector('[aria-modal="true"]'))
        return;
      const k = e.key;
      const seq = prefix && Date.now() - prefixAt < 1500 ? `${prefix} ${k}` : '';
      prefix = '';
      const fn = (seq && ref.current[seq]) || ref.current[k];
      if (fn) {
        e.preventDefault();
        fn(e);
        return;
      }
      if (Object.keys(ref.current).some((key) => key.startsWith(`${k} `))) {
        prefix = k;
        prefixAt = Date.now();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled]);
}
