import { eq } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { gatewaySwitches } from '../db/schema/shopify-app.js';

/** The one writer of `gateway_switches`. */
export interface SwitchesRepository {
  readAll(): Promise<Map<string, { value: string; setBy: string; updatedAt: Date }>>;
  write(name: string, value: string, setBy: string, at: Date): Promise<void>;
}

export function createSwitchesRepository(db: Db): SwitchesRepository {
  return {
    async readAll() {
      const rows = await db.select().from(gatewaySwitches);
      return new Map(rows.map((row) => [row.name, { value: row.value, setBy: row.setBy, updatedAt: row.updatedAt }]));
    },
    async write(name, value, setBy, at) {
      await db
        .insert(gatewaySwitches)
        .values({ name, value, setBy, updatedAt: at })
        .onConflictDoUpdate({ target: gatewaySwitches.name, set: { value, setBy, updatedAt: at } });
    },
  };
}

export async function readSwitch(db: Db, name: string): Promise<string | null> {
  const [row] = await db.select({ value: gatewaySwitches.value }).from(gatewaySwitches).where(eq(gatewaySwitches.name, name));
  return row?.value ?? null;
}
