import fs from 'fs';
import path from 'path';
import express, { Request, Response } from 'express';
import { TaskList } from './tasks';

/** Built frontend files: `public/` beside `dist/` (copied there by the image build). */
export const DEFAULT_PUBLIC_DIR = path.join(__dirname, '..', 'public');

export function createApp(publicDir: string = DEFAULT_PUBLIC_DIR, tasks = new TaskList()): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  app.get('/health', (_req: Request, res: Response) => {
    res.json({
      status: 'ok',
      frontend: fs.existsSync(path.join(publicDir, 'index.html')),
      uptime: Math.round(process.uptime()),
    });
  });

  app.get('/api/tasks', (_req: Request, res: Response) => {
    res.json(tasks.all());
  });

  app.post('/api/tasks', (req: Request, res: Response) => {
    const title = req.body?.title;
    if (typeof title !== 'string' || title.trim() === '') {
      res.status(400).json({ error: 'title is required' });
      return;
    }
    res.status(201).json(tasks.add(title.trim()));
  });

  app.post('/api/tasks/:id/toggle', (req: Request, res: Response) => {
    const task = tasks.toggle(Number(req.params.id));
    if (!task) {
      res.status(404).json({ error: 'task not found' });
      return;
    }
    res.json(task);
  });

  app.use('/api', (_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });

  // The React app: static assets, and index.html for every other GET (client-side routing).
  app.use(express.static(publicDir, { index: 'index.html', maxAge: '1h' }));
  app.get('*', (_req: Request, res: Response) => {
    const index = path.join(publicDir, 'index.html');
    if (fs.existsSync(index)) {
      res.sendFile(index);
    } else {
      res.status(404).send('frontend not built');
    }
  });

  return app;
}
