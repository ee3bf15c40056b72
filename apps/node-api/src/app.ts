import express, { NextFunction, Request, Response } from 'express';
import { bcryptSelfTest, UserStore } from './users';

export function createApp(store: UserStore = new UserStore()): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  const bcryptOk = bcryptSelfTest();

  app.get('/health', (_req: Request, res: Response) => {
    res.status(bcryptOk ? 200 : 500).json({
      status: bcryptOk ? 'ok' : 'degraded',
      bcrypt: bcryptOk,
      node: process.version,
      uptime: Math.round(process.uptime()),
    });
  });

  app.get('/users', (_req: Request, res: Response) => {
    res.json(store.list());
  });

  app.post('/users', async (req: Request, res: Response, next: NextFunction) => {
    const { email, name, password } = req.body ?? {};
    if (typeof email !== 'string' || !email.includes('@')) {
      res.status(400).json({ error: 'a valid email is required' });
      return;
    }
    if (typeof password !== 'string' || password.length < 8) {
      res.status(400).json({ error: 'password must be at least 8 characters' });
      return;
    }
    try {
      const user = await store.create(email, typeof name === 'string' ? name : '', password);
      res.status(201).json(user);
    } catch (err) {
      if (err instanceof Error && err.message === 'email already registered') {
        res.status(409).json({ error: err.message });
        return;
      }
      next(err);
    }
  });

  app.post('/login', async (req: Request, res: Response) => {
    const { email, password } = req.body ?? {};
    if (typeof email !== 'string' || typeof password !== 'string') {
      res.status(400).json({ error: 'email and password are required' });
      return;
    }
    const user = await store.verify(email, password);
    if (!user) {
      res.status(401).json({ error: 'invalid credentials' });
      return;
    }
    res.json({ ok: true, user });
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    console.error(err);
    res.status(500).json({ error: 'internal error' });
  });

  return app;
}
