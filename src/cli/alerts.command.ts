import { createAlertsRepository } from '../alerts/alerts.repository.js';
import { withDatabase } from './cli-database.js';
import { defineCommand, UsageError } from './command.js';

const usage = 'alerts [list] [--all] [--json]\nalerts ack ID';

/**
 * `alerts list` prints the stored alerts (open ones, or `--all`), newest first; `alerts ack ID`
 * acknowledges one as `cli:<user>`. Both act on the database directly, like `switches`, so they
 * work beside a running gateway on PostgreSQL (with PGlite, the running gateway holds the data
 * directory's lock: stop it first).
 */
export const alertsCommand = defineCommand({
  name: 'alerts',
  usage,
  summary: 'list the stored alerts (open ones, or all) or acknowledge one',
  description: 'list: the 100 newest open alerts (--all: acknowledged and resolved ones too). ack ID: marks the alert acknowledged.',
  maxPositionals: 2,
  actions: ['list', 'ack'],
  defaultAction: 'list',
  examples: ['alerts', 'alerts list --all --json', 'alerts ack 12'],
  options: {
    all: { type: 'boolean', description: 'list: include acknowledged and resolved alerts' },
    json: { type: 'boolean', description: 'print the alerts as JSON' },
  },
  async run(args, io) {
    const action = args.positionals[0] ?? 'list';
    if (!['list', 'ack'].includes(action)) throw new UsageError(`unknown action '${action}' (list or ack)`);
    const id = Number(args.positionals[1]);
    if (action === 'ack' && !(Number.isSafeInteger(id) && id > 0)) throw new UsageError('ack needs the alert id (a positive whole number)');
    if (action === 'list' && args.positionals.length > 1) throw new UsageError('list takes no id');
    return withDatabase(io, async (database) => {
      const alerts = createAlertsRepository(database.db);
      if (action === 'ack') {
        const alert = await alerts.acknowledge(id, `cli:${process.env.USER ?? 'unknown'}`, new Date());
        if (!alert) {
          io.stderr.write(`alerts: no alert with id ${id}\n`);
          return 1;
        }
        io.stdout.write(args.values.json === true ? `${JSON.stringify(alert, null, 2)}\n` : `alert ${alert.id} acknowledged by ${alert.acknowledgedBy}\n`);
        return 0;
      }
      const rows = await alerts.list({ open: args.values.all === true ? null : true, limit: 100 });
      if (args.values.json === true) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0) io.stdout.write('no alerts\n');
      else for (const a of rows) io.stdout.write(`${a.id}\t${a.severity}\t${a.code}\t${a.count}x\t${a.lastSeenAt.toISOString()}\t${a.acknowledgedAt ? 'ack' : a.resolvedAt ? 'resolved' : 'open'}\t${a.message}\n`);
      return 0;
    });
  },
});
