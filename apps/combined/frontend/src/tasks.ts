export interface Task {
  id: number;
  title: string;
  done: boolean;
}

export function summarize(tasks: Task[]): string {
  const done = tasks.filter((t) => t.done).length;
  if (tasks.length === 0) return 'Nothing to do';
  return `${done} of ${tasks.length} done`;
}

export async function fetchTasks(fetchImpl: typeof fetch = fetch): Promise<Task[]> {
  const res = await fetchImpl('/api/tasks');
  if (!res.ok) throw new Error(`GET /api/tasks failed: ${res.status}`);
  return (await res.json()) as Task[];
}
