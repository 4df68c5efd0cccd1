import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configVariableNames } from '../../src/config.js';

/**
 * No Docker engine runs on the machines that test Stockbridge, so the deployment files are
 * checked here for what can be checked without one (the Dockerfile's steps themselves are run in
 * order on the machine by scripts/dockerfile-steps.sh, a CI step).
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the deployment files', () => {
  it('the Dockerfile runs the compiled service as a non-root user, with a health check', () => {
    const dockerfile = read('Dockerfile').replace(/\\\n\s*/g, '');
    expect(dockerfile).toMatch(/^FROM node:20\S* AS build$/m);
    expect(dockerfile).toMatch(/^FROM node:20\S* AS run$/m);
    expect(dockerfile).toMatch(/^RUN npm prune --omit=dev/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/healthz/m);
    expect(dockerfile).toContain('CMD ["node", "dist/main.js"]');
    expect(dockerfile).not.toMatch(/\btsx\b.*src\/main\.ts/);
  });

  it('compose runs PostgreSQL and two gateways, one without the scheduler, setting only variables the gateway reads', () => {
    const compose = parse(read('compose.yaml'), { merge: true }) as {
      services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'postgres', 'worker']);
    expect(compose.services.postgres!.image).toMatch(/^postgres:/);
    expect(compose.services.postgres!.healthcheck).toBeDefined();
    const gateways = [compose.services.api!, compose.services.worker!];
    for (const gateway of gateways) {
      expect(gateway.build).toBe('.');
      expect(gateway.depends_on?.postgres?.condition).toBe('service_healthy');
      const unknown = Object.keys(gateway.environment ?? {}).filter((name) => !configVariableNames.includes(name));
      expect(unknown).toEqual([]);
      expect(gateway.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    }
    expect(compose.services.api!.environment?.SCHEDULER).toBe('off');
    expect(compose.services.worker!.environment?.SCHEDULER).toBe('on');
  });

  it('the Prometheus rules only name metrics the gateway exports', () => {
    const rules = parse(read('deploy/prometheus/stockbridge.rules.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const sources = readAllSources();
    const alerts = rules.groups.flatMap((group) => group.rules);
    expect(alerts.length).toBeGreaterThan(5);
    for (const rule of alerts) {
      for (const metric of rule.expr.match(/stockbridge_[a-z_]+/g) ?? []) {
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        expect({ alert: rule.alert, metric: base, exported: sources.includes(`'${base}'`) }).toEqual({ alert: rule.alert, metric: base, exported: true });
      }
    }
  });

  it('the Grafana dashboard is valid JSON whose panels query exported metrics', () => {
    const dashboard = JSON.parse(read('deploy/grafana/stockbridge.dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const sources = readAllSources();
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const metric of target.expr.match(/stockbridge_[a-z_]+/g) ?? []) {
          const base = metric.replace(/_(bucket|sum|count)$/, '');
          expect({ panel: panel.title, metric: base, exported: sources.includes(`'${base}'`) }).toEqual({ panel: panel.title, metric: base, exported: true });
        }
      }
    }
  });
});

function readAllSources(): string {
  const root = new URL('../../src/', import.meta.url);
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts') && !file.includes('__generated__'))
    .map((file) => readFileSync(new URL(file, root), 'utf8'))
    .join('\n');
}
