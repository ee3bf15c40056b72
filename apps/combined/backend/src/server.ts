import { createApp } from './app';
import { TaskList } from './tasks';

const port = Number(process.env.PORT ?? 3000);
const app = createApp(undefined, new TaskList(['Measure the naive image', 'Add a .dockerignore', 'Go multi-stage']));

const server = app.listen(port, () => {
  console.log(`taskboard listening on port ${port}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
