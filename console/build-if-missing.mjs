// Builds the console once on a fresh clone (npm start / npm test run it first): the gateway serves
// console/dist, which is not committed. An existing build is kept; `npm run build:console` rebuilds.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
if (!existsSync(new URL('./dist/index.html', import.meta.url))) {
  process.stdout.write('console/dist is missing: building the console\n');
  await build({ root, configFile: new URL('./vite.config.ts', import.meta.url).pathname });
}
