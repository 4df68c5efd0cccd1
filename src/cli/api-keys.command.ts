import { createApiKeyRepository } from '../auth/api-key.repository.js';
import { createApiKeyService } from '../auth/api-key.service.js';
import { parseFlags, type CliCommand } from './command.js';
import { withDatabase } from './cli-database.js';

const usage = `api-keys create --name NAME --scopes read,sync,reserve,admin
api-keys list
api-keys revoke <id or prefix>`;

export const apiKeysCommand: CliCommand = {
  name: 'api-keys',
  usage,
  summary: 'create, list and revoke API keys (a new key is printed once, alone on the last line)',
  async run(args, io) {
    const [action, ...rest] = args;
    const { flags, positional } = parseFlags(rest);
    return withDatabase(io, async (database) => {
      const service = createApiKeyService({ repository: createApiKeyRepository(database.db) });
      switch (action) {
        case 'create': {
          const name = flags.get('name')?.[0];
          const scopes = (flags.get('scopes') ?? []).flatMap((value) => value.split(',')).map((s) => s.trim()).filter(Boolean);
          if (!name || name === 'true' || scopes.length === 0) {
            io.stderr.write(`usage: ${usage.split('\n')[0]}\n`);
            return 2;
          }
          const { key, apiKey } = await service.create({ name, scopes });
          io.stdout.write(`Created API key "${apiKey.name}" (id ${apiKey.id}, scopes ${apiKey.scopes.join(',')}). Store it now; it is not shown again:\n`);
          io.stdout.write(`${key}\n`);
          return 0;
        }
        case 'list': {
          const keys = await service.list();
          for (const key of keys) {
            const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
            io.stdout.write(
              `${key.id}  sbk_${key.prefix}_…  ${key.name}  [${key.scopes.join(',')}]  ${state}  last used ${key.lastUsedAt?.toISOString() ?? 'never'}\n`,
            );
          }
          if (keys.length === 0) io.stdout.write('no API keys\n');
          return 0;
        }
        case 'revoke': {
          const target = positional[0];
          if (!target) {
            io.stderr.write('usage: api-keys revoke <id or prefix>\n');
            return 2;
          }
          const key = await service.revoke(target.replace(/^sbk_([0-9a-f]{8}).*$/, '$1'));
          io.stdout.write(`Revoked API key "${key.name}" (${key.id})\n`);
          return 0;
        }
        default:
          io.stderr.write(`usage:\n${usage}\n`);
          return 2;
      }
    });
  },
};
