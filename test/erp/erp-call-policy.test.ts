import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createErpCallPolicy, parseErpAnswer } from '../../src/erp/erp-call-policy.js';
import type { ErpInDoubtError} from '../../src/erp/erp-errors.js';
import { ErpConflictError, ErpInvalidResponseError, ErpRejectedError, ErpUnavailableError } from '../../src/erp/erp-errors.js';
import { NotFoundError, isAppError } from '../../src/shared/errors.js';

const noWait = { backoffMs: 0, sleep: async () => undefined };

async function failureOf(promise: Promise<unknown>): Promise<{ code: string; error: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return { code: error.code, error };
}

describe('ERP call policy', () => {
  it('retries an unavailable ERP a bounded number of times, then gives up with ERP_UNAVAILABLE', async () => {
    const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, ...noWait });
    let attempts = 0;
    const { code } = await failureOf(
      policy.run('read', async () => {
        attempts += 1;
        throw new ErpUnavailableError('down');
      }),
    );
    expect(code).toBe('ERP_UNAVAILABLE');
    expect(attempts).toBe(3);
  });

  it('succeeds when a retry does', async () => {
    const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, ...noWait });
    let attempts = 0;
    const answer = await policy.run('read', async () => {
      attempts += 1;
      if (attempts < 2) throw new ErpUnavailableError('blip');
      return 'ok';
    });
    expect(answer).toBe('ok');
    expect(attempts).toBe(2);
  });

  it('does not retry a refusal, a non-ERP application error, or a call marked not to', async () => {
    const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, ...noWait });
    let attempts = 0;
    const count = <T>(error: T) => async (): Promise<never> => {
      attempts += 1;
      throw error;
    };
    expect((await failureOf(policy.run('write', count(new ErpRejectedError('no'))))).code).toBe('ERP_REJECTED');
    expect((await failureOf(policy.run('read', count(new NotFoundError('Sales order', 'x'))))).code).toBe('NOT_FOUND');
    expect((await failureOf(policy.run('create', count(new ErpUnavailableError('down')), { retry: false }))).code).toBe('ERP_UNAVAILABLE');
    expect(attempts).toBe(3);
  });

  it('turns a transport error into ERP_UNAVAILABLE and keeps it as the cause', async () => {
    const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 1, ...noWait });
    const socket = new TypeError('fetch failed');
    const { code, error } = await failureOf(
      policy.run('read', async () => {
        throw socket;
      }),
    );
    expect(code).toBe('ERP_UNAVAILABLE');
    expect((error as Error).cause).toBe(socket);
  });

  it('ends an attempt at the timeout even when the call ignores its abort signal, and aborts the signal', async () => {
    const policy = createErpCallPolicy({ erp: 'test', timeoutMs: 20, maxAttempts: 2, ...noWait });
    const signals: AbortSignal[] = [];
    const { code } = await failureOf(
      policy.run('read', (signal) => {
        signals.push(signal);
        return new Promise<never>(() => undefined);
      }),
    );
    expect(code).toBe('ERP_UNAVAILABLE');
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it('never runs more calls at once than the limiter allows', async () => {
    const policy = createErpCallPolicy({ erp: 'test', maxConcurrent: 2, ...noWait });
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const call = async (): Promise<void> => {
      running += 1;
      peak = Math.max(peak, running);
      await gate;
      running -= 1;
    };
    const all = Promise.all(Array.from({ length: 10 }, () => policy.run('read', call)));
    // Bottleneck starts jobs on timers: give it turns to start more calls than it should, if it would.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(running).toBe(2);
    release();
    await all;
    expect(peak).toBe(2);
  });

  it('waits with growing, capped backoff between attempts', async () => {
    const waits: number[] = [];
    const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 5, backoffMs: 1_000, random: () => 1, sleep: async (ms) => void waits.push(ms) });
    await failureOf(
      policy.run('read', async () => {
        throw new ErpUnavailableError('down');
      }),
    );
    expect(waits).toEqual([1_000, 2_000, 4_000, 5_000]);
  });
});

describe('parsing ERP answers', () => {
  it('returns the parsed answer, and names the paths of a mismatch without echoing the values', () => {
    const schema = z.array(z.object({ code: z.string(), quantity: z.number() }));
    expect(parseErpAnswer(schema, [{ code: 'A', quantity: 1 }], 'stock')).toEqual([{ code: 'A', quantity: 1 }]);
    try {
      parseErpAnswer(schema, [{ code: 'secret@example.com', quantity: 'lots' }], 'stock');
      expect.unreachable();
    } catch (error) {
      expect(isAppError(error) && error.code).toBe('ERP_INVALID_RESPONSE');
      expect((error as Error).message).toContain('0.quantity');
      expect(JSON.stringify((error as { details: unknown }).details)).not.toContain('secret@example.com');
    }
  });

  describe('writes', () => {
    it('never resends a write whose answer was lost: a timeout, a reset or an unreadable answer is ERP_IN_DOUBT with its settle time', async () => {
      const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, timeoutMs: 50, inDoubtSettleMs: 1_000, ...noWait });
      for (const failure of [
        () => new Promise<never>(() => undefined),
        async () => {
          throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
        },
        async () => {
          throw new ErpInvalidResponseError('not JSON');
        },
      ]) {
        let attempts = 0;
        const { code, error } = await failureOf(
          policy.run(
            'sale.create',
            () => {
              attempts += 1;
              return failure();
            },
            { write: true },
          ),
        );
        expect(code).toBe('ERP_IN_DOUBT');
        expect(attempts).toBe(1);
        const doubt = error as ErpInDoubtError;
        expect(doubt.settlesAt.getTime() - doubt.sentAt.getTime()).toBe(1_000);
      }
    });

    it('resends a write only when nothing was applied: refused connection, or a conflict the ERP rolled back', async () => {
      const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, ...noWait });
      let attempts = 0;
      const answer = await policy.run(
        'sale.create',
        async () => {
          attempts += 1;
          if (attempts === 1) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
          if (attempts === 2) throw new ErpConflictError('could not obtain lock');
          return 'made';
        },
        { write: true },
      );
      expect(answer).toBe('made');
      expect(attempts).toBe(3);
    });

    it('hands a conflict straight back when asked (a find-or-create looks again instead)', async () => {
      const policy = createErpCallPolicy({ erp: 'test', maxAttempts: 3, ...noWait });
      let attempts = 0;
      const { code } = await failureOf(
        policy.run(
          'party.create',
          async () => {
            attempts += 1;
            throw new ErpConflictError('The code on party must be unique.');
          },
          { write: true, retryConflicts: false },
        ),
      );
      expect(code).toBe('ERP_CONFLICT');
      expect(attempts).toBe(1);
    });
  });
});
