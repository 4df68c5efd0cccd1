import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../shared/errors.js';

/**
 * Seals secrets (Shopify access and refresh tokens) for storage: AES-256-GCM with a random
 * 12-byte nonce per value and the owner (the shop domain) as associated data, so a sealed value
 * copied onto another shop's row does not open. The sealed text names the key that sealed it
 * (`v1.<key id>.<nonce>.<ciphertext+tag>`, base64url), so a new key can be introduced while
 * values sealed under the previous one still open: `open` tries the key the value names,
 * `needsResealing` tells the rotation command which values to seal again.
 *
 * Guarantee: `open(seal(x, owner), owner) === x`; any change to the sealed text, the owner or the
 * key makes `open` throw `SECRET_UNREADABLE`, never return something else.
 */
export interface SecretBox {
  seal(plain: string, owner: string): string;
  open(sealed: string, owner: string): string;
  /** True when the value was sealed under a key other than the current one. */
  needsResealing(sealed: string): boolean;
  /** The current key's id (a digest prefix: it identifies the key without revealing it). */
  readonly currentKeyId: string;
}

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A key's id: the first 8 hex digits of SHA-256 over a label and the key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('stockbridge-secret-box:').update(key).digest('hex').slice(0, 8);
}

export function createSecretBox(current: Buffer, previous: readonly Buffer[] = []): SecretBox {
  if (current.length !== 32) throw new AppError('CONFIG_INVALID', 'ENCRYPTION_KEY must be 32 bytes');
  const keys = new Map<string, Buffer>();
  for (const key of [current, ...previous]) {
    if (key.length !== 32) throw new AppError('CONFIG_INVALID', 'ENCRYPTION_KEY_PREVIOUS must be 32 bytes');
    const id = keyIdOf(key);
    if (!keys.has(id)) keys.set(id, key);
  }
  const currentKeyId = keyIdOf(current);
  const unreadable = (reason: string) => new AppError('SECRET_UNREADABLE', `a stored secret cannot be opened: ${reason}`);

  return {
    currentKeyId,
    seal(plain, owner) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, nonce);
      cipher.setAAD(Buffer.from(owner, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, currentKeyId, nonce.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, owner) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) throw unreadable('not a sealed value');
      const key = keys.get(parts[1]!);
      if (!key) throw unreadable(`sealed under key ${parts[1]}, which is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS`);
      const nonce = Buffer.from(parts[2]!, 'base64url');
      const body = Buffer.from(parts[3]!, 'base64url');
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw unreadable('truncated');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(Buffer.from(owner, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw unreadable('authentication failed (altered, or sealed for another shop)');
      }
    },
    needsResealing(sealed) {
      return sealed.split('.')[1] !== currentKeyId;
    },
  };
}
