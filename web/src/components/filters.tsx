'use client';

import { type ReactNode, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { useQueryState } from '@/lib/url';

/** The filters of a list, kept in the query string so a link shows the same list. */
export function Filters({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="filters" role="search" aria-label={t('common.filters')}>
      {children}
    </div>
  );
}

/** A free-text filter in `?q=`. */
export function TextFilter({ label }: { label: string }) {
  const [params, setParams] = useQueryState();
  return (
    <label className="inline-field">
      <span>{label}</span>
      <input type="search" value={params.get('q') ?? ''} onChange={(e) => setParams({ q: e.target.value || null })} />
    </label>
  );
}

/**
 * A choice among `options` in `?<name>=`, "any" when absent. Changing it also
 * clears `resets` (a pager's cursor that belonged to the previous choice).
 */
export function ChoiceFilter<T extends string>({
  name,
  label,
  any,
  options,
  resets = [],
}: {
  name: string;
  label: string;
  any: string;
  options: ReadonlyArray<{ value: T; label: string }>;
  resets?: readonly string[];
}) {
  const [params, setParams] = useQueryState();
  const id = useId();
  // labelled by id: a wrapping label would also name the select by its options' text
  return (
    <span className="inline-field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={params.get(name) ?? ''}
        onChange={(e) =>
          setParams({ [name]: e.target.value || null, ...Object.fromEntries(resets.map((r) => [r, null])) })
        }
      >
        <option value="">{any}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </span>
  );
}
