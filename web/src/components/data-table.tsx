'use client';

import type { ReactNode } from 'react';

export interface Column<T> {
  id: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** The column that names the row (`<th scope="row">`), for screen readers. */
  rowHeader?: boolean;
  className?: string;
}

/**
 * One accessible table for every list: a caption, column headers with scope,
 * and a row header naming each row. `rowAttrs` puts test or state attributes on a row.
 */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  rowAttrs,
  testId,
  compact,
}: {
  caption: string;
  columns: ReadonlyArray<Column<T>>;
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowAttrs?: (row: T) => Record<`data-${string}`, string | undefined>;
  testId?: string;
  compact?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className={compact ? 'table table-compact' : 'table'} data-testid={testId}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.id} scope="col" className={c.className}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowAttrs?.(row)}>
              {columns.map((c) =>
                c.rowHeader ? (
                  <th key={c.id} scope="row" className={c.className}>
                    {c.cell(row)}
                  </th>
                ) : (
                  <td key={c.id} className={c.className}>
                    {c.cell(row)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
