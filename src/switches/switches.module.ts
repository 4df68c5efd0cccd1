import type { DomainModule } from '../domain-module.js';
import { switchesResolvers } from './switches.resolvers.js';
import type { SwitchesService } from './switches.service.js';

export type SwitchesModule = DomainModule<'switches', SwitchesService>;

/**
 * The go-live switches (`health`, `setSwitches`). The service itself is built with the adapters
 * (`composeModuleDeps`), because the other modules read it through `ModuleDeps.switches`; this
 * module gives it its place in the GraphQL API.
 */
export function createSwitchesModule(switches: SwitchesService): SwitchesModule {
  return { name: 'switches', services: switches, resolvers: switchesResolvers };
}
