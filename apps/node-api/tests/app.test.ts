import request from 'supertest';
import { createApp } from '../src/app';
import { bcryptSelfTest, UserStore } from '../src/users';

describe('node-api', () => {
  it('reports healthy, with the bcrypt addon working', async () => {
    const res = await request(createApp()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.bcrypt).toBe(true);
  });

  it('loads the compiled bcrypt addon', () => {
    expect(bcryptSelfTest()).toBe(true);
  });

  it('creates and lists users without leaking password hashes', async () => {
    const app = createApp(new UserStore());
    const created = await request(app)
      .post('/users')
      .send({ email: 'ada@example.com', name: 'Ada', password: 'correct horse battery' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 1, email: 'ada@example.com', name: 'Ada' });
    expect(created.body.passwordHash).toBeUndefined();

    const listed = await request(app).get('/users');
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain('correct horse');
  });

  it('rejects short passwords and duplicate emails', async () => {
    const app = createApp(new UserStore());
    const short = await request(app).post('/users').send({ email: 'b@example.com', password: 'short' });
    expect(short.status).toBe(400);

    await request(app).post('/users').send({ email: 'c@example.com', password: 'long enough pw' });
    const dup = await request(app).post('/users').send({ email: 'c@example.com', password: 'long enough pw' });
    expect(dup.status).toBe(409);
  });

  it('checks passwords with bcrypt on login', async () => {
    const app = createApp(new UserStore());
    await request(app).post('/users').send({ email: 'd@example.com', password: 'the right password' });
    const good = await request(app).post('/login').send({ email: 'd@example.com', password: 'the right password' });
    expect(good.status).toBe(200);
    const bad = await request(app).post('/login').send({ email: 'd@example.com', password: 'the wrong password' });
    expect(bad.status).toBe(401);
  });

  it('answers 404 as JSON for unknown routes', async () => {
    const res = await request(createApp()).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not found');
  });
});
