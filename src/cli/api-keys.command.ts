import { createApiKeyRepository } from '../auth/api-key.repository.js';
import { createApiKeyService } from '../auth/api-key.service.js';
import { booleanOption, defineCommand, listOption, stringOption, UsageError } from './command.js';
import { withDatabase } from './cli-database.js';

/**
 * `api-keys`: create, list and revoke the gateway's API keys in its database. A new key is
 * printed once, alone on the last line, so a script can capture it with `tail -1`.
 */
export const apiKeysCommand = defineCommand({
  name: 'api-keys',
  usage: 'api-keys create --name NAME --scopes read,sync,reserve,admin\napi-keys list [--json]\napi-keys revoke <id or prefix>',
  summary: 'create, list and revoke API keys (a new key is printed once, alone on the last line)',
  description: `Scopes: read (queries), sync (pushInventory), reserve (reservation mutations), admin (mappings,
safety stock, replays, keys). Keys are stored hashed; a lost key cannot be shown again: revoke it
and create another. With the embedded database, stop the gateway first (one process per
embedded database), or use the createApiKey mutation of the running gateway.`,
  actions: ['create', 'list', 'revoke'],
  maxPositionals: 2,
  examples: ['api-keys create --name warehouse-app --scopes read,reserve', 'api-keys list --json', 'api-keys revoke 3f9a1c2e'],
  options: {
    name: { type: 'string', valueName: 'NAME', description: 'create: a name saying who uses the key' },
    scopes: { type: 'string', multiple: true, valueName: 'LIST', description: 'create: comma-separated scopes (read, sync, reserve, admin)' },
    json: { type: 'boolean', description: 'list: print JSON instead of lines' },
  },
  async run(args, io) {
    const action = args.positionals[0];
    const name = stringOption(args, 'name');
    const scopes = listOption(args, 'scopes');
    if (action === 'create' && (!name || scopes.length === 0)) throw new UsageError('create needs --name and --scopes');
    if (action === 'revoke' && !args.positionals[1]) throw new UsageError('revoke needs the key id or its prefix');
    if (action !== 'revoke' && args.positionals.length > 1) throw new UsageError(`unexpected argument '${args.positionals[1]}'`);
    return withDatabase(io, async (database) => {
      const service = createApiKeyService({ repository: createApiKeyRepository(database.db) });
      switch (action) {
        case 'create': {
          const { key, apiKey } = await service.create({ name: name!, scopes });
          io.stdout.write(`Created API key "${apiKey.name}" (id ${apiKey.id}, scopes ${apiKey.scopes.join(',')}). Store it now; it is not shown again:\n`);
          io.stdout.write(`${key}\n`);
          return 0;
        }
        case 'list': {
          const keys = await service.list();
          if (booleanOption(args, 'json')) {
            io.stdout.write(`${JSON.stringify(keys.map((key) => ({ id: key.id, prefix: key.prefix, name: key.name, scopes: key.scopes, revokedAt: key.revokedAt, lastUsedAt: key.lastUsedAt })), null, 2)}\n`);
            return 0;
          }
          for (const key of keys) {
            const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
            io.stdout.write(
              `${key.id}  sbk_${key.prefix}_…  ${key.name}  [${key.scopes.join(',')}]  ${state}  last used ${key.lastUsedAt?.toISOString() ?? 'never'}\n`,
            );
          }
          if (keys.length === 0) io.stdout.write('no API keys\n');
          return 0;
        }
        default: {
          const target = args.positionals[1]!;
          const key = await service.revoke(target.replace(/^sbk_([0-9a-f]{8}).*$/, '$1'));
          io.stdout.write(`Revoked API key "${key.name}" (${key.id})\n`);
          return 0;
        }
      }
    });
  },
});
