import fs from 'fs';
import os from 'os';
import path from 'path';
import request from 'supertest';
import { createApp } from '../src/app';
import { TaskList } from '../src/tasks';

function fakePublicDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskboard-public-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="root"></div><title>Taskboard</title>');
  return dir;
}

describe('taskboard backend', () => {
  it('answers /health with 200 JSON', async () => {
    const res = await request(createApp(fakePublicDir())).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', frontend: true });
  });

  it('serves the frontend index.html at / and for client-side routes', async () => {
    const app = createApp(fakePublicDir());
    const root = await request(app).get('/');
    expect(root.status).toBe(200);
    expect(root.text).toContain('Taskboard');
    const deep = await request(app).get('/some/client/route');
    expect(deep.status).toBe(200);
    expect(deep.text).toContain('id="root"');
  });

  it('says so when the frontend is not built', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'taskboard-empty-'));
    const app = createApp(empty);
    expect((await request(app).get('/health')).body.frontend).toBe(false);
    expect((await request(app).get('/')).status).toBe(404);
  });

  it('adds, lists and toggles tasks', async () => {
    const app = createApp(fakePublicDir(), new TaskList(['first']));
    const created = await request(app).post('/api/tasks').send({ title: 'second' });
    expect(created.status).toBe(201);
    const toggled = await request(app).post(`/api/tasks/${created.body.id}/toggle`);
    expect(toggled.body.done).toBe(true);
    const list = await request(app).get('/api/tasks');
    expect(list.body.map((t: { title: string }) => t.title)).toEqual(['first', 'second']);
    expect((await request(app).post('/api/tasks').send({})).status).toBe(400);
    expect((await request(app).get('/api/nope')).status).toBe(404);
  });
});
