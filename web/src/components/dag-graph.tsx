'use client';

import { Graph, layout } from '@dagrejs/dagre';
import {
  Background,
  Controls,
  type Edge,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import { memo, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { TaskState } from '@/api/client';
import { toneOf } from '@/lib/states';

export interface DagTask {
  key: string;
  dependsOn: readonly string[];
  type?: string | null;
  state?: TaskState | null;
}

const NODE_W = 180;
const NODE_H = 56;

type TaskNode = Node<{ task: DagTask; selected: boolean; stateLabel: string | null }, 'task'>;

/** Layered left-to-right layout of the DAG (dagre); upstream tasks on the left. */
function layoutDag(tasks: readonly DagTask[]): { positions: Map<string, { x: number; y: number }>; height: number } {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const keys = new Set(tasks.map((t) => t.key));
  for (const t of tasks) g.setNode(t.key, { width: NODE_W, height: NODE_H });
  for (const t of tasks) for (const d of t.dependsOn) if (keys.has(d)) g.setEdge(d, t.key);
  layout(g);
  const positions = new Map(
    tasks.map((t) => {
      const n = g.node(t.key) as { x: number; y: number };
      return [t.key, { x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 }];
    }),
  );
  return { positions, height: (g.graph() as { height?: number }).height ?? NODE_H };
}

const TaskNodeView = memo(function TaskNodeView({ data }: NodeProps<TaskNode>) {
  const { task, selected, stateLabel } = data;
  const tone = task.state ? toneOf(task.state) : 'none';
  return (
    <div
      className={`dag-node tone-${tone}${selected ? ' is-selected' : ''}`}
      data-task={task.key}
      data-state={task.state ?? ''}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="dag-node-key">{task.key}</div>
      <div className="dag-node-meta">
        {stateLabel ? (
          <>
            <span className="dot" aria-hidden="true" />
            {stateLabel}
          </>
        ) : (
          task.type
        )}
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { task: TaskNodeView };

/**
 * A job's DAG (React Flow, laid out by dagre), each node coloured and labelled
 * with its task's state when a run is given. Nodes are focusable; Enter or a
 * click selects one.
 */
export function DagGraph({
  tasks,
  selected,
  onSelect,
  maxHeight = 520,
}: {
  tasks: readonly DagTask[];
  selected?: string | null;
  onSelect?: (key: string) => void;
  maxHeight?: number;
}) {
  const { t } = useTranslation();
  const { positions, height: layoutHeight } = useMemo(() => layoutDag(tasks), [tasks]);
  // As tall as the laid-out graph (plus room for the controls), so a short chain does not float in space.
  const height = Math.min(maxHeight, Math.max(180, layoutHeight + 110));
  const nodes: TaskNode[] = useMemo(
    () =>
      tasks.map((task) => ({
        id: task.key,
        type: 'task',
        position: positions.get(task.key)!,
        data: { task, selected: task.key === selected, stateLabel: task.state ? t(`states.${task.state}`) : null },
        ariaLabel: task.state ? `${task.key}: ${t(`states.${task.state}`)}` : task.key,
        draggable: false,
        connectable: false,
        width: NODE_W,
        height: NODE_H,
      })),
    [tasks, positions, selected, t],
  );
  const edges: Edge[] = useMemo(() => {
    const keys = new Set(tasks.map((x) => x.key));
    return tasks.flatMap((task) =>
      task.dependsOn
        .filter((d) => keys.has(d))
        .map((d) => ({
          id: `${d}->${task.key}`,
          source: d,
          target: task.key,
          markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
          focusable: false,
        })),
    );
  }, [tasks]);
  return (
    <div className="dag" style={{ height }} role="group" aria-label={t('graph.label')}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
        minZoom={0.2}
        maxZoom={2}
        nodesConnectable={false}
        nodesDraggable={false}
        elementsSelectable
        onNodeClick={(_, n) => onSelect?.(n.id)}
        onKeyDown={(e) => {
          const id = (e.target as HTMLElement).closest('[data-id]')?.getAttribute('data-id');
          if (id && (e.key === 'Enter' || e.key === ' ')) {
            e.preventDefault();
            onSelect?.(id);
          }
        }}
      >
        <Background gap={16} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
