import { createInstallationRepository } from '../shopify/credentials/installation.repository.js';
import { secretBoxOf } from '../shopify/credentials/credentials.js';
import { AppError } from '../shared/errors.js';
import { withDatabase } from './cli-database.js';
import { defineCommand } from './command.js';

/**
 * `rotate-encryption-key`: seals every stored secret (Shopify access and refresh tokens) again
 * under ENCRYPTION_KEY, opening the old ones with ENCRYPTION_KEY_PREVIOUS. The procedure (README,
 * "Rotating ENCRYPTION_KEY"): set the new key as ENCRYPTION_KEY and the old one as
 * ENCRYPTION_KEY_PREVIOUS on every instance, run this, then remove ENCRYPTION_KEY_PREVIOUS.
 * Safe to run again (values already under the current key are left alone) and beside running
 * instances (one transaction, rows locked).
 */
export const rotateEncryptionKeyCommand = defineCommand({
  name: 'rotate-encryption-key',
  usage: 'rotate-encryption-key',
  summary: 're-encrypt every stored Shopify token under ENCRYPTION_KEY (the old key given as ENCRYPTION_KEY_PREVIOUS)',
  description: `Set ENCRYPTION_KEY to the new key and ENCRYPTION_KEY_PREVIOUS to the old one on every instance,
run this once, then remove ENCRYPTION_KEY_PREVIOUS. Safe to run again and beside running instances.`,
  async run(_args, io) {
    return withDatabase(io, async (database, config) => {
      const box = secretBoxOf(config);
      if (!box) throw new AppError('CONFIG_INVALID', 'rotate-encryption-key: set ENCRYPTION_KEY (the new key) and ENCRYPTION_KEY_PREVIOUS (the old one)');
      const { rows, resealed } = await createInstallationRepository(database.db, box).resealAll();
      io.stdout.write(`${resealed} of ${rows} stored Shopify installations re-encrypted under key ${box.currentKeyId}\n`);
      if (config.encryptionKeyPrevious) io.stdout.write('every secret is now under ENCRYPTION_KEY: remove ENCRYPTION_KEY_PREVIOUS from every instance\n');
      return 0;
    });
  },
});
