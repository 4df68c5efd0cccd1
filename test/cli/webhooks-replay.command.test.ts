import { beforeAll, describe, expect, it } from 'vitest';
import { webhooksCommand } from '../../src/cli/webhooks.command.js';
import { openDatabase } from '../../src/db/database.js';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { createWebhookInboxRepository } from '../../src/orders/webhook-inbox.repository.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

type Brief = { id: string; status: string; attempts: number; lastError: string | null };
type Answer = { dryRun: boolean; matchedCount: number; replayableCount: number; matched: Brief[]; queued: Brief[]; stopped: boolean; userErrors: Array<{ code: string }> };

const FAILED_COUNT = 1_200;

/**
 * An embedded database holds 1,200 deliveries stored FAILED (signed bodies that were not orders)
 * and one applied; the CLI replays them on the data directory (PGlite: one process at a time, so
 * the database is closed before each command runs).
 */
describe('webhooks replay command', () => {
  const tempDir = useTempDataDir('stockbridge-webhooks-replay-cli-');
  let dataDir: string;
  let appliedId: number;

  beforeAll(async () => {
    dataDir = tempDir.path();
    const database = await openDatabase({ dataDir });
    try {
      await database.migrate();
      const inbox = createWebhookInboxRepository(database.db);
      const stored = await Promise.all(
        Array.from({ length: FAILED_COUNT }, (_, index) =>
          inbox.insert({
            shop: 'cli-replay.myshopify.com',
            webhookId: `broken-${index}`,
            eventId: null,
            topic: 'orders/create',
            apiVersion: '2026-10',
            triggeredAt: null,
            body: JSON.stringify({ id: 5_000 + index }),
            orderRef: String(5_000 + index),
            status: 'FAILED',
            lastError: 'not a Shopify order: name is required',
          }),
        ),
      );
      expect(stored.every(Boolean)).toBe(true);
      await inbox.insert({ shop: 'cli-replay.myshopify.com', webhookId: 'applied-1', eventId: null, topic: 'orders/updated', apiVersion: '2026-10', triggeredAt: null, body: '{"id":1}', orderRef: '1', status: 'PENDING', lastError: null });
      const [pending] = await inbox.peekDue(1);
      appliedId = pending!.id;
      await database.db.transaction(async (tx) => inbox.complete(tx as never, appliedId, { status: 'DONE', outcome: 'order updated' }));
    } finally {
      await database.close();
    }
  }, 120_000);

  function run(args: string[]) {
    return runCommand(webhooksCommand, args, dataDirEnv(dataDir), { progressEveryMs: 1 });
  }

  async function inDatabase<T>(work: (inbox: ReturnType<typeof createWebhookInboxRepository>, actions: ReturnType<typeof createOperatorActions>) => Promise<T>): Promise<T> {
    const database = await openDatabase({ dataDir });
    try {
      return await work(createWebhookInboxRepository(database.db), createOperatorActions(database.db));
    } finally {
      await database.close();
    }
  }

  it('prints its usage with examples, refuses bad values and replay options on other actions as usage errors (exit 2), and a call without a filter (exit 1)', async () => {
    const help = await run(['replay', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/webhooks replay \[--id ID\]/);
    expect(help.stdout).toMatch(/examples:\n(?: {2}.*\n)* {2}npm run cli -- webhooks replay/);
    expect((await run(['replay', '--status', 'LOST'])).code).toBe(2);
    expect((await run(['replay', '--received-after', 'yesterday'])).code).toBe(2);
    expect((await run(['replay', '--limit', '0'])).code).toBe(2);
    expect((await run(['status', '--topic', 'orders/create'])).code).toBe(2);
    const none = await run(['replay', '--json']);
    expect(none.code).toBe(1);
    expect((JSON.parse(none.stdout) as Answer).userErrors.map((error) => error.code)).toEqual(['NO_FILTER']);
  }, 60_000);

  it('reports on a dry run and changes nothing; replays one by id, then the rest by filter in batches with progress, each recorded', async () => {
    const dry = await run(['replay', '--status', 'FAILED', '--topic', 'orders/create', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const dryAnswer = JSON.parse(dry.stdout) as Answer;
    expect(dryAnswer).toMatchObject({ dryRun: true, matchedCount: FAILED_COUNT, replayableCount: FAILED_COUNT, queued: [] });
    expect(dryAnswer.matched).toHaveLength(500);
    expect(await inDatabase((inbox) => inbox.count(null, { status: 'FAILED' }))).toBe(FAILED_COUNT);

    const one = await run(['replay', '--id', dryAnswer.matched[0]!.id, '--json']);
    expect(one.code).toBe(0);
    const oneAnswer = JSON.parse(one.stdout) as Answer;
    expect(oneAnswer.queued).toEqual([expect.objectContaining({ id: dryAnswer.matched[0]!.id, status: 'PENDING', attempts: 0, lastError: null })]);
    expect(oneAnswer.userErrors).toEqual([]);

    const applied = await run(['replay', '--id', String(appliedId), '--json']);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout) as Answer).toMatchObject({ matchedCount: 1, replayableCount: 0, queued: [], userErrors: [expect.objectContaining({ code: 'NOT_REPLAYABLE' })] });

    const rest = await run(['replay', '--status', 'FAILED']);
    expect(rest.code).toBe(0);
    expect(rest.stdout).toMatch(new RegExp(`^${FAILED_COUNT - 1} matched, ${FAILED_COUNT - 1} replayable, ${FAILED_COUNT - 1} queued$`, 'm'));
    expect(rest.stderr).toMatch(/… [\d,]+ of 1,199 deliveries queued \(\d+%\), [\d.,]+\/s/);

    await inDatabase(async (inbox, actions) => {
      expect(await inbox.count(null, { status: 'FAILED' })).toBe(0);
      expect(await inbox.count(null, { status: 'PENDING' })).toBe(FAILED_COUNT);
      expect(await inbox.count(null, { status: 'DONE' })).toBe(1);
      expect(await actions.countSince(new Date(0), ['replayWebhookDelivery'])).toBe(FAILED_COUNT);
    });
  }, 120_000);
});
