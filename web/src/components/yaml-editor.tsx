'use client';

import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import type { TextProblem } from '@/lib/job-yaml';

interface Props {
  value: string;
  onChange?: (text: string) => void;
  readOnly?: boolean;
  /** The problems to mark, found in `problemsText` (the caller recomputes them as the text changes). */
  problems: TextProblem[];
  problemsText: string;
  label: string;
  testId?: string;
}

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--border)', borderRadius: 'var(--radius)', background: '#fff' },
  '.cm-scroller': { fontFamily: 'var(--mono)', minHeight: '240px', maxHeight: '560px' },
  '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '1px' },
  '.cm-gutters': { background: 'var(--muted-bg)', borderRight: '1px solid var(--border)' },
});

/**
 * A CodeMirror 6 YAML editor that marks the problems it is given at their line
 * (the lint gutter, an underline and a tooltip); the caller lists them too.
 */
export function YamlEditor({ value, onChange, readOnly = false, problems, problemsText, label, testId }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ onChange });
  const editable = useRef(new Compartment());
  useEffect(() => {
    latest.current = { onChange };
  });

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          yaml(),
          theme,
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': label }),
          editable.current.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
          lintGutter(),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The view is made once; value, readOnly and problems reach it through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // A value from outside (another version loaded, a reset) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({
      effects: editable.current.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
    });
  }, [readOnly]);

  // Marks go on only for the text they were found in (typing may be ahead of a deferred check).
  useEffect(() => {
    const v = view.current;
    if (!v || v.state.doc.toString() !== problemsText) return;
    const end = v.state.doc.length;
    v.dispatch(
      setDiagnostics(
        v.state,
        problems.map((p) => ({
          from: Math.min(p.from, end),
          to: Math.min(p.to, end),
          severity: 'error',
          message: p.path ? `${p.path}: ${p.message}` : p.message,
        })),
      ),
    );
  }, [problems, problemsText]);

  return <div ref={host} className="yaml-editor" data-testid={testId} />;
}
