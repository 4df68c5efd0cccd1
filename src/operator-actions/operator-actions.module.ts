import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createOperatorActions, type OperatorActions } from './operator-actions.js';

export type OperatorActionsModule = DomainModule<'operatorActions', OperatorActions>;

/**
 * The record of manual interventions in the module list, so that every resolver that performs
 * one records it through `context.services.operatorActions` (no domain imports another).
 */
export function createOperatorActionsModule(deps: ModuleDeps): OperatorActionsModule {
  return { name: 'operatorActions', services: createOperatorActions(deps.database.db) };
}
