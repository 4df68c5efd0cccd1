/**
 * What `health` resolves to before its metric fields: the go-live switches as the switches module
 * answers them; the success metrics are resolved per field (src/health/health.resolvers.ts), so
 * a request that asks only for the switches reads no samples.
 */
export interface HealthView {
  readonly inventoryPush: 'ON' | 'SHADOW' | 'OFF';
  readonly ordersToErp: 'ON' | 'OFF';
  readonly shopInstalled: boolean;
}
