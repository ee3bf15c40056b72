import { describe, expect, it } from 'vitest';
import { renderToString } from 'react-dom/server';
import App from '../src/App';
import { summarize } from '../src/tasks';

describe('frontend', () => {
  it('summarizes tasks', () => {
    expect(summarize([])).toBe('Nothing to do');
    expect(
      summarize([
        { id: 1, title: 'a', done: true },
        { id: 2, title: 'b', done: false },
      ]),
    ).toBe('1 of 2 done');
  });

  it('renders the board', () => {
    const html = renderToString(<App initialTasks={[{ id: 1, title: 'Write a .dockerignore', done: false }]} />);
    expect(html).toContain('Taskboard');
    expect(html).toContain('Write a .dockerignore');
  });
});
