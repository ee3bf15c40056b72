import { useEffect, useState } from 'react';
import { fetchTasks, summarize, type Task } from './tasks';

export default function App({ initialTasks = [] }: { initialTasks?: Task[] }) {
  const [tasks, setTasks] = useState<Task[]>(initialTasks);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetchTasks()
      .then(setTasks)
      .catch((err: Error) => setError(err.message));
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 560, margin: '3rem auto' }}>
      <h1>Taskboard</h1>
      <p data-testid="summary">{summarize(tasks)}</p>
      {error && <p role="alert">Could not load tasks: {error}</p>}
      <ul>
        {tasks.map((t) => (
          <li key={t.id} style={{ textDecoration: t.done ? 'line-through' : 'none' }}>
            {t.title}
          </li>
        ))}
      </ul>
      <footer>
        <small>Served by the Express backend from the same container.</small>
      </footer>
    </main>
  );
}
